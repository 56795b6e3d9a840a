import { generateKeyPair } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../../src/gossip/keyring.js';
import { createLibp2pGossip, parsePeerAddress, type Libp2pGossip } from '../../../src/gossip/node.js';
import type { Observation, ObservationBatch } from '../../../src/gossip/types.js';
import { createLogger, silentLogger, type Logger } from '../../../src/log.js';
import { sleep, waitFor } from '../../support/kit.js';
import { freePort } from '../../support/net.js';

// Real libp2p nodes on 127.0.0.1. No timing assertions: the numbers are
// printed for the report, the assertions only say "eventually".

const SECRET = 'cluster-secret';
const IPS = new Set(Array.from({ length: 1000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`));
const isKnownIp = (ip: string): boolean => IPS.has(ip);
const logger: Logger = process.env.GOAVAIL_TEST_LOG ? createLogger({ debug: true, pretty: false }) : silentLogger();

interface Agent {
  readonly name: string;
  readonly port: number;
  readonly key: PrivateKey;
  gossip: Libp2pGossip;
  readonly got: Array<{ from: string; batch: ObservationBatch; at: number; perf: number }>;
}

async function makeAgent(name: string, port: number, key: PrivateKey, peers: string[], secrets: string[] | undefined): Promise<Agent> {
  const gossip = await createLibp2pGossip({
    listen: `127.0.0.1:${port}`,
    peers,
    privateKey: key,
    keyring: secrets ? Keyring.fromSecrets(secrets) : undefined,
    isKnownIp,
    logger: logger.child({ agent: name }),
    redialIntervalMs: 250,
    maxRedialIntervalMs: 2000,
    dialTimeoutMs: 3000,
  });
  const got: Agent['got'] = [];
  gossip.onObservations((from, batch, at) => got.push({ from, batch, at, perf: performance.now() }));
  await gossip.start();
  return { name, port, key, gossip, got };
}

const obs = (i: number, verdict: Observation['verdict'] = 'down'): Observation[] => [{ ip: `198.18.0.${i}`, verdict }];

/** Publish a marker until `receivers` have seen it; returns ms until all had it. */
async function publishUntilReceived(from: Agent, receivers: Agent[], marker: number, timeoutMs = 30_000): Promise<number> {
  const start = Date.now();
  const has = (r: Agent): boolean => r.got.some((m) => m.from === from.gossip.selfId && m.batch.observations.some((o) => o.ip === `198.18.0.${marker}`));
  await waitFor(
    `${from.name} → ${receivers.map((r) => r.name).join(',')}`,
    async () => {
      if (receivers.every(has)) return true;
      await from.gossip.publish(obs(marker), false);
      return false;
    },
    { timeoutMs, everyMs: 200 },
  );
  return Date.now() - start;
}

describe('libp2p gossip on 127.0.0.1', () => {
  const agents: Agent[] = [];
  const extras: Libp2pGossip[] = [];
  let a: Agent;
  let b: Agent;
  let c: Agent;
  let startedAt = 0;

  beforeAll(async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    const keys = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')];
    const addr = (i: number): string => `127.0.0.1:${ports[i]}`;
    startedAt = Date.now();
    a = await makeAgent('a', ports[0] as number, keys[0] as PrivateKey, [addr(1), addr(2)], [SECRET]);
    b = await makeAgent('b', ports[1] as number, keys[1] as PrivateKey, [addr(0), addr(2)], [SECRET]);
    // c pins a's peer id with a full multiaddr, and lists b as host:port
    c = await makeAgent(
      'c',
      ports[2] as number,
      keys[2] as PrivateKey,
      [`/ip4/127.0.0.1/tcp/${ports[0]}/p2p/${peerIdFromPrivateKey(keys[0] as PrivateKey).toString()}`, addr(1)],
      [SECRET, 'retired-secret'],
    );
    agents.push(a, b, c);
  }, 60_000);

  afterAll(async () => {
    await Promise.all([...agents.map((x) => x.gossip.stop()), ...extras.map((g) => g.stop())]);
  }, 30_000);

  it('forms a mesh: everyone connected, a publish reaches both others', async () => {
    await waitFor('all peers connected', () => agents.every((x) => x.gossip.peers().every((p) => p.connected)), { timeoutMs: 30_000 });
    const connectedMs = Date.now() - startedAt;
    const ms = await publishUntilReceived(a, [b, c], 1);
    await publishUntilReceived(b, [a, c], 2);
    await publishUntilReceived(c, [a, b], 3);
    console.info(
      `libp2p: all connected ${connectedMs} ms after start; first a→{b,c} delivery ${Date.now() - startedAt} ms after start (${ms} ms of publishing)`,
    );
    for (const x of agents) {
      for (const p of x.gossip.peers()) {
        expect(p.id).toMatch(/^12D3Koo/);
        expect(p.lastHeard).toBeTypeOf('number');
      }
      // No validation drops. Gossipsub's seen-cache duplicates are counted
      // now too: a relay may overtake the IDONTWANT that would have stopped it.
      const { duplicate: _duplicate, ...validation } = x.gossip.drops();
      expect(Object.values(validation).reduce((s, n) => s + n, 0)).toBe(0);
    }
    expect(b.got.find((m) => m.from === a.gossip.selfId)?.batch.observations).toEqual(obs(1));
  }, 60_000);

  it('delivers once to each peer, with recipients counted; measures latency', async () => {
    const lat: number[] = [];
    for (let i = 0; i < 20; i++) {
      const before = b.got.length;
      const t0 = performance.now();
      const recipients = await a.gossip.publish(obs(10 + i, 'up'), false);
      expect(recipients).toBe(2);
      const m = await waitFor('b receives', () => b.got[before], { timeoutMs: 10_000, everyMs: 5 });
      lat.push(m.perf - t0);
    }
    await waitFor('c has all 20', () => c.got.filter((m) => m.from === a.gossip.selfId && m.batch.observations[0]?.verdict === 'up').length === 20, {
      timeoutMs: 30_000,
    });
    // exactly once each: gossipsub dedups, our replay guard would drop a copy
    expect(b.got.filter((m) => m.from === a.gossip.selfId && m.batch.observations[0]?.verdict === 'up')).toHaveLength(20);
    lat.sort((x, y) => x - y);
    console.info(`libp2p: publish→receive (a→b, one message at a time) median ${lat[10]?.toFixed(1)} ms, max ${lat[19]?.toFixed(1)} ms`);
  }, 60_000);

  it('carries a full state of 1,000 IPv4 observations', async () => {
    const full: Observation[] = [...IPS].map((ip, i) => ({ ip, verdict: i % 10 === 0 ? 'down' : 'up' }));
    const before = c.got.length;
    expect(await b.gossip.publish(full, true)).toBe(2);
    const m = await waitFor('c receives the full state', () => c.got.slice(before).find((x) => x.batch.full), { timeoutMs: 30_000 });
    expect(m.batch.observations).toHaveLength(1000);
    expect(m.batch.observations.filter((o) => o.verdict === 'down')).toHaveLength(100);
  }, 60_000);

  it('an outsider with another swarm key cannot connect and cannot inject', async () => {
    const port = await freePort();
    const drops = Object.values(a.gossip.drops()).reduce((s, n) => s + n, 0);
    const received = a.got.length;
    const x = await makeAgent('outsider', port, await generateKeyPair('Ed25519'), [`127.0.0.1:${a.port}`], ['not-the-secret']);
    extras.push(x.gossip);
    // give it several redial rounds
    await sleep(3000);
    expect(x.gossip.peers()).toEqual([{ id: undefined, addr: `127.0.0.1:${a.port}`, connected: false, lastHeard: undefined }]);
    expect(await x.gossip.publish(obs(1, 'down'), true)).toBe(0);
    await sleep(500);
    expect(a.got.length).toBe(received);
    expect(Object.values(a.gossip.drops()).reduce((s, n) => s + n, 0)).toBe(drops);
    await x.gossip.stop();
  }, 60_000);

  it('a node with the swarm key but not in the peer list is refused once a knows its peers’ ids, and cannot inject', async () => {
    const port = await freePort();
    const received = a.got.length;
    const before = a.gossip.drops()['unknown-sender'];
    const y = await makeAgent('stranger', port, await generateKeyPair('Ed25519'), [`127.0.0.1:${a.port}`], [SECRET]);
    extras.push(y.gossip);
    // a knows b's and c's ids: y's connection is refused after noise, on every redial
    // (y's own view may flicker: its side of the upgrade completes optimistically)
    for (let i = 0; i < 30; i++) {
      expect(a.gossip.connectedPeerIds()).not.toContain(y.gossip.selfId);
      await y.gossip.publish(obs(1, 'down'), false);
      await sleep(100);
    }
    expect(a.got.length).toBe(received);
    expect(a.got.some((m) => m.from === y.gossip.selfId)).toBe(false);
    expect(a.gossip.drops()['unknown-sender']).toBe(before); // nothing even reached the validator
    // a still hears its real peers
    await publishUntilReceived(b, [a], 77);
    // the stranger is not forwarded by a to c either
    expect(c.got.some((m) => m.from === y.gossip.selfId)).toBe(false);
    await y.gossip.stop();
  }, 60_000);

  it('a pinned /p2p/ id that does not match is never accepted', async () => {
    const port = await freePort();
    const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString();
    // z expects another identity at b's address
    const z = await makeAgent('pinned-wrong', port, await generateKeyPair('Ed25519'), [`/ip4/127.0.0.1/tcp/${b.port}/p2p/${other}`], [SECRET]);
    extras.push(z.gossip);
    await sleep(2000);
    expect(z.gossip.peers()[0]).toMatchObject({ id: other, connected: false });
    await z.gossip.stop();
  }, 60_000);

  it('a restarted peer with the same identity rejoins through the redial loop and is not a replay', async () => {
    const oldId = c.gossip.selfId;
    await c.gossip.stop();
    await waitFor('a sees c gone', () => a.gossip.peers().find((p) => p.id === oldId)?.connected === false, { timeoutMs: 30_000 });
    await sleep(1500); // let a's backoff grow a little
    const t0 = Date.now();
    // c2 knows a's and b's ids but its own dials go to a dead port: only
    // a's and b's redial loops can bring it back.
    const dead = await freePort();
    const c2 = await makeAgent(
      'c2',
      c.port,
      c.key,
      [a, b].map((x) => `/ip4/127.0.0.1/tcp/${dead}/p2p/${x.gossip.selfId}`),
      [SECRET],
    );
    extras.push(c2.gossip);
    expect(c2.gossip.selfId).toBe(oldId);
    await waitFor('c2 connected to both (inbound)', () => c2.gossip.peers().every((p) => p.connected), { timeoutMs: 30_000 });
    await waitFor('a and b see c again', () => [a, b].every((x) => x.gossip.peers().find((p) => p.id === oldId)?.connected), { timeoutMs: 30_000 });
    const rejoinMs = Date.now() - t0;
    await publishUntilReceived(a, [c2], 90);
    await publishUntilReceived(c2, [a, b], 91);
    console.info(`libp2p: restarted peer connected both ways ${rejoinMs} ms after its restart, delivery both ways ${Date.now() - t0} ms`);
    expect(a.gossip.drops().replayed).toBe(0);
    agents.splice(agents.indexOf(c), 1);
  }, 60_000);

  it('stops cleanly and quickly; publish after stop returns 0', async () => {
    const t0 = Date.now();
    await a.gossip.stop();
    const ms = Date.now() - t0;
    console.info(`libp2p: stop took ${ms} ms`);
    expect(ms).toBeLessThan(5000); // generous: the contract is "a couple of seconds"
    expect(await a.gossip.publish(obs(1), false)).toBe(0);
    expect(a.gossip.peers().every((p) => !p.connected)).toBe(true);
    await a.gossip.stop(); // idempotent
    await waitFor('b sees a gone', () => b.gossip.peers().find((p) => p.id === a.gossip.selfId)?.connected === false, { timeoutMs: 30_000 });
  }, 30_000);
});

describe('libp2p gossip relay', () => {
  it('a and c cannot reach each other but both reach b: b relays, each delivery once', async () => {
    const [pa, pb, pc, dead] = [await freePort(), await freePort(), await freePort(), await freePort()];
    const [ka, kb, kc] = [await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519'), await generateKeyPair('Ed25519')];
    const id = (k: PrivateKey): string => peerIdFromPrivateKey(k).toString();
    // a and c know each other's id (so they accept each other's messages)
    // but only at a dead port: the only path is through b.
    const a = await makeAgent('ra', pa, ka, [`127.0.0.1:${pb}`, `/ip4/127.0.0.1/tcp/${dead}/p2p/${id(kc)}`], [SECRET]);
    const b = await makeAgent('rb', pb, kb, [`127.0.0.1:${pa}`, `127.0.0.1:${pc}`], [SECRET]);
    const c = await makeAgent('rc', pc, kc, [`127.0.0.1:${pb}`, `/ip4/127.0.0.1/tcp/${dead}/p2p/${id(ka)}`], [SECRET]);
    try {
      await waitFor('b connected to both', () => b.gossip.peers().every((p) => p.connected), { timeoutMs: 30_000 });
      const ms = await publishUntilReceived(a, [c], 5);
      await publishUntilReceived(c, [a], 6);
      console.info(`libp2p: relayed a→b→c delivery within ${ms} ms of publishing`);
      expect(a.gossip.peers().find((p) => p.id === id(kc))?.connected).toBe(false);
      const fromA = c.got.filter((m) => m.from === a.gossip.selfId);
      expect(new Set(fromA.map((m) => m.batch.seq)).size).toBe(fromA.length);
      expect(c.gossip.drops().replayed).toBe(0);
    } finally {
      await Promise.all([a, b, c].map((x) => x.gossip.stop()));
    }
  }, 60_000);
});

describe('libp2p gossip configuration edge cases', () => {
  it('skips its own address in the peer list (a config shared by all agents)', async () => {
    const port = await freePort();
    const g = await createLibp2pGossip({
      listen: `127.0.0.1:${port}`,
      peers: [`127.0.0.1:${port}`, `localhost:${port}`],
      privateKey: await generateKeyPair('Ed25519'),
      keyring: Keyring.fromSecrets([SECRET]),
      isKnownIp,
      logger,
      redialIntervalMs: 100,
    });
    try {
      await g.start();
      await waitFor('both entries resolved to self', () => g.peers().every((p) => p.id === g.selfId), { timeoutMs: 30_000 });
      expect(g.peers()).toEqual([
        { id: g.selfId, addr: `127.0.0.1:${port}`, connected: false, lastHeard: undefined },
        { id: g.selfId, addr: `localhost:${port}`, connected: false, lastHeard: undefined },
      ]);
      expect(await g.publish(obs(1), true)).toBe(0);
    } finally {
      await g.stop();
    }
  }, 30_000);

  it('refuses an invalid listen or peer address at creation', async () => {
    const privateKey = await generateKeyPair('Ed25519');
    const base = { privateKey, keyring: undefined, isKnownIp, logger };
    await expect(createLibp2pGossip({ ...base, listen: 'nonsense', peers: [] })).rejects.toThrow(/invalid peer address/);
    await expect(createLibp2pGossip({ ...base, listen: '127.0.0.1:0', peers: ['198.18.0.1'] })).rejects.toThrow(/invalid peer address/);
  });
});

describe('parsePeerAddress', () => {
  it.each([
    ['127.0.0.1:4001', '/ip4/127.0.0.1/tcp/4001', undefined],
    ['[::1]:4001', '/ip6/::1/tcp/4001', undefined],
    ['agent-b.example:4001', '/dns/agent-b.example/tcp/4001', undefined],
    ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/tcp/4001', undefined],
    [
      '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
      '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
      '12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA',
    ],
  ])('%s', (input, ma, id) => {
    const p = parsePeerAddress(input);
    expect(p.ma.toString()).toBe(ma);
    expect(p.peerId).toBe(id);
  });

  it.each(['127.0.0.1', '127.0.0.1:99999', '::1:4001', 'bad host:1', ''])('refuses %j', (input) => {
    expect(() => parsePeerAddress(input)).toThrow();
  });
});
