import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../../src/agent.js';
import type { Config } from '../../../src/config/schema.js';
import type { DrainEntry } from '../../../src/drain/types.js';
import type { DrainChangeEvent } from '../../../src/events.js';
import { Keyring } from '../../../src/gossip/keyring.js';
import { createMemoryNetwork, type MemoryNetwork } from '../../../src/gossip/memory.js';
import type { Gossip } from '../../../src/gossip/types.js';
import { silentLogger } from '../../../src/log.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';
import { FakeProber } from '../../support/fake-prober.js';
import { advance, stopInFakeTime, until } from '../../unit/agent/fake-time.js';

/**
 * Drains across three agents in one process: the in-memory gossip, one fake
 * DNS, fake timers, and a real state file per agent in a scratch folder.
 */
const A = '198.18.0.1';
const B = '198.18.0.2';
const WWW = 'www.example.com';
const rec = (content: string) => ({ type: 'A' as const, name: WWW, content, proxied: false, ttl: 1 });
const IDS = ['agent-a', 'agent-b', 'agent-c'];
/** Past every writer grace (3 s × (1 + rank)) and a full-state round (10 s). */
const SETTLED_MS = 12_000;

interface Member {
  id: string;
  agent: Agent;
  prober: FakeProber;
  gossip: Gossip;
  events: DrainChangeEvent[];
}

let dir: string;
const running: Member[] = [];
beforeEach(() => {
  vi.useFakeTimers({ now: 1_760_000_000_000 });
  dir = mkdtempSync(join(tmpdir(), 'goavail-drain-'));
});
afterEach(async () => {
  await stopInFakeTime(Promise.all(running.splice(0).map((m) => stop(m))));
  vi.useRealTimers();
  rmSync(dir, { recursive: true, force: true });
});

async function stop(m: Member): Promise<void> {
  await m.agent.stop();
  await m.gossip.stop();
}

function setup(maintenance?: (now: number) => readonly DrainEntry[]) {
  const net: MemoryNetwork = createMemoryNetwork();
  const dns = new FakeDns([A, B].map(rec));
  const keyring = Keyring.fromSecrets(['drain-cluster-test-secret-0123456789']);
  const config: Config = testConfig({ ips: [A, B], minPeersAgree: 1, peers: ['127.0.0.1:7001', '127.0.0.1:7002'] });
  /** Which agent made each apply, in order. */
  const writers: string[] = [];
  const make = (id: string): Member => {
    const gossip = net.join(id, { keyring, isKnownIp: (ip) => ip === A || ip === B });
    const prober = new FakeProber();
    const events: DrainChangeEvent[] = [];
    const agent = new Agent({
      config,
      logger: silentLogger(),
      dryRun: false,
      createProber: () => prober,
      createProvider: () => ({
        name: dns.name,
        listRecords: (names) => dns.listRecords(names),
        apply: (changes) => {
          writers.push(id);
          return dns.apply(changes);
        },
      }),
      gossip,
      selfId: id,
      drainStateFile: join(dir, `${id}.drains.json`),
      ...(maintenance ? { maintenance } : {}),
      events: { drainChange: (e) => events.push(e) },
    });
    const m = { id, agent, prober, gossip, events };
    running.push(m);
    return m;
  };
  const start = async (m: Member): Promise<void> => {
    await m.gossip.start();
    m.agent.start();
  };
  return { net, keyring, dns, writers, make, start, members: IDS.map(make) };
}

async function agreeUp(members: readonly Member[]): Promise<void> {
  for (const m of members) await until(() => m.agent.verdicts().get(A) === 'up' && m.agent.verdicts().get(B) === 'up', `${m.id} agrees A and B are up`);
}

const count = (dns: FakeDns, op: 'create' | 'delete', ip: string) => dns.applied.flat().filter((c) => c.op === op && c.record.content === ip).length;
const drainedOn = (m: Member, ip: string) => m.agent.status().targets.find((t) => t.ip === ip)?.drained ?? null;

describe('drains in a cluster', () => {
  it('a drain on one of three agents removes the record once; every agent shows it; the real health stays visible', async () => {
    const { dns, writers, members, start } = setup();
    for (const m of members) await start(m);
    await agreeUp(members);
    const [a, b, c] = members as [Member, Member, Member];
    const answer = b.agent.drains.drain({ ip: A, by: 'alice@host', reason: 'kernel upgrade' }, Date.now());
    expect(answer).toMatchObject({ ok: true, entry: { ip: A, drained: true, origin: 'agent-b', by: 'alice@host', until: undefined } });
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    await advance(SETTLED_MS);
    expect(count(dns, 'delete', A)).toBe(1);
    expect(writers).toEqual(['agent-b']); // the agent that set the drain
    for (const m of [a, b, c]) {
      expect(drainedOn(m, A)).toMatchObject({ by: 'alice@host', reason: 'kernel upgrade', until: null, source: 'operator' });
      expect(m.agent.status().targets.find((t) => t.ip === A)?.cluster.verdict).toBe('up');
      expect(m.agent.status().drains?.map((e) => e.ip)).toEqual([A]);
      expect(m.agent.verdicts().get(A)).toBe('down');
      expect(m.events.map((e) => [e.change, e.local])).toEqual([['drained', m === b]]);
    }
    expect(drainedOn(a, B)).toBeNull();
    expect(statSync(join(dir, 'agent-a.drains.json')).mode & 0o777).toBe(0o600);
  });

  it('a restarted agent keeps the drain from its state file; an undrain while it was away is not undone when it comes back', async () => {
    const { dns, members, start, make } = setup();
    for (const m of members) await start(m);
    await agreeUp(members);
    const [a, , c] = members as [Member, Member, Member];
    expect(a.agent.drains.drain({ ip: A, by: 'alice' }, Date.now()).ok).toBe(true);
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    await advance(SETTLED_MS);

    // Restart c: a new Agent over the same state file knows the drain before hearing anyone.
    await stopInFakeTime(stop(c));
    running.splice(running.indexOf(c), 1);
    const c2 = make('agent-c');
    expect(drainedOn(c2, A)).toMatchObject({ by: 'alice' });
    expect(c2.agent.verdicts().get(A)).toBe('down');
    await start(c2);

    // c goes away; A is undrained meanwhile; c comes back with the drain in its file.
    await stopInFakeTime(stop(c2));
    running.splice(running.indexOf(c2), 1);
    expect(a.agent.drains.undrain({ ip: A, by: 'bob' }, Date.now())).toMatchObject({ ok: true, entry: { drained: false, origin: 'agent-a' } });
    await until(() => dns.contents(WWW).join() === [A, B].join(), 'A back');
    const c3 = make('agent-c');
    expect(drainedOn(c3, A)).not.toBeNull(); // its file still has the drain...
    await start(c3);
    await advance(3 * SETTLED_MS);
    expect(drainedOn(c3, A)).toBeNull(); // ...until it hears the tombstone, which wins
    expect(c3.agent.drains.list(Date.now())).toMatchObject([{ ip: A, drained: false, by: 'bob' }]);
    for (const m of running) expect(drainedOn(m, A)).toBeNull();
    expect(dns.contents(WWW)).toEqual([A, B]);
    expect(count(dns, 'delete', A)).toBe(1);
    expect(count(dns, 'create', A)).toBe(1);
  });

  it('an agent back without its state file hears the drain within seconds of joining, before the next full-state round', async () => {
    const { dns, members, start, make } = setup();
    for (const m of members) await start(m);
    await agreeUp(members);
    const [a, , c] = members as [Member, Member, Member];
    expect(a.agent.drains.drain({ ip: A }, Date.now()).ok).toBe(true);
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    await advance(SETTLED_MS);
    await stopInFakeTime(stop(c));
    running.splice(running.indexOf(c), 1);
    rmSync(join(dir, 'agent-c.drains.json'));
    await advance(4_000); // off the full-state grid: the next round is ~6 s away
    const c2 = make('agent-c');
    expect(drainedOn(c2, A)).toBeNull();
    await start(c2);
    await until(() => drainedOn(c2, A), 'c hears the drain', 2_500);
    await advance(SETTLED_MS);
    expect(count(dns, 'delete', A)).toBe(1);
    expect(count(dns, 'create', A)).toBe(0);
  });

  it('every agent re-announces the drains it knows at each full-state round (relayed, other origins included)', async () => {
    const { net, keyring, dns, members, start } = setup();
    const heard: Array<{ from: string; relay: boolean; ips: string[] }> = [];
    const spy = net.join('spy', { keyring, isKnownIp: (ip) => ip === A || ip === B });
    spy.onSignals?.((from, s) => {
      if (s.kind === 'drain') console.log('HEARD', from, s.relay, Date.now() % 100000, new Error().stack?.split('\n').slice(1, 9).join(' | '));
      if (s.kind === 'drain') heard.push({ from, relay: s.relay, ips: s.entries.map((e) => e.ip) });
    });
    await spy.start();
    for (const m of members) await start(m);
    await agreeUp(members);
    expect(members[1]!.agent.drains.drain({ ip: A }, Date.now()).ok).toBe(true);
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    expect(heard).toEqual([{ from: 'agent-b', relay: false, ips: [A] }]);
    await advance(1_500); // the announcements to the peers that joined at start
    heard.length = 0;
    await advance(10_000);
    expect([...new Set(heard.filter((h) => h.relay).map((h) => h.from))].sort()).toEqual(IDS);
    expect(heard.every((h) => h.ips.join() === A)).toBe(true);
    await spy.stop();
  });

  it('a drain with a duration ends by itself and the record comes back once', async () => {
    const { dns, members, start } = setup();
    for (const m of members) await start(m);
    await agreeUp(members);
    const [, , c] = members as [Member, Member, Member];
    const r = c.agent.drains.drain({ ip: B, forMs: 30_000, by: 'carol' }, Date.now());
    expect(r.ok && r.entry.until).toBe(Date.now() + 30_000);
    await until(() => dns.contents(WWW).join() === A, 'B removed');
    await advance(20_000);
    expect(dns.contents(WWW)).toEqual([A]);
    await until(() => dns.contents(WWW).join() === [A, B].join(), 'B back at expiry', 15_000);
    await advance(SETTLED_MS);
    expect(count(dns, 'delete', B)).toBe(1);
    expect(count(dns, 'create', B)).toBe(1);
    for (const m of members) expect(drainedOn(m, B)).toBeNull();
    expect(c.events.map((e) => e.change)).toEqual(['drained', 'expired']);
  });

  it('a maintenance window (the seam) drains its IP while it is open, on every agent, and DNS follows once each way', async () => {
    const t0 = Date.now();
    const window = { from: t0 + 5_000, to: t0 + 20_000 };
    // Made afresh at each call, as a pure maintenanceDrains(windows, now) would.
    const maintenance = (now: number): DrainEntry[] =>
      now >= window.from && now < window.to
        ? [{ ip: B, drained: true, at: window.from, origin: 'maintenance:db', until: window.to, by: '', reason: 'db upgrade', source: 'maintenance' }]
        : [];
    const { dns, writers, members, start } = setup(maintenance);
    for (const m of members) await start(m);
    await agreeUp(members);
    expect(dns.contents(WWW)).toEqual([A, B]);
    await until(() => dns.contents(WWW).join() === A, 'B removed when the window opens', 8_000);
    expect(Date.now()).toBeGreaterThanOrEqual(window.from);
    for (const m of members) expect(drainedOn(m, B)).toMatchObject({ source: 'maintenance', reason: 'db upgrade', until: window.to });
    expect(members[0]!.agent.drains.list(Date.now()).map((e) => e.source)).toEqual(['maintenance']);
    await until(() => dns.contents(WWW).join() === [A, B].join(), 'B back when it closes', 20_000);
    expect(Date.now()).toBeGreaterThanOrEqual(window.to);
    await advance(SETTLED_MS);
    expect(count(dns, 'delete', B)).toBe(1);
    expect(count(dns, 'create', B)).toBe(1);
    expect(members[0]!.events.map((e) => e.change)).toEqual(['drained', 'expired']);
    expect(writers).toEqual(['agent-a', 'agent-a']); // no agent set a window: the lowest id writes both ways
  });

  it('keep-last: draining the last up IP is refused (409 naming the hostname), and with force the record stays', async () => {
    const { dns, members, start } = setup();
    for (const m of members) await start(m);
    await agreeUp(members);
    const [a] = members as [Member];
    expect(a.agent.drains.drain({ ip: A }, Date.now()).ok).toBe(true);
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    const refused = a.agent.drains.drain({ ip: B }, Date.now());
    expect(refused).toMatchObject({ ok: false, status: 409 });
    expect(!refused.ok && refused.error).toContain(WWW);
    const forced = a.agent.drains.drain({ ip: B, force: true }, Date.now());
    expect(forced.ok && forced.note).toMatch(/keep-last keeps its record/);
    await advance(SETTLED_MS);
    expect(dns.contents(WWW)).toEqual([B]);
    expect(a.agent.status().held).toEqual([`A ${WWW} ${B}`]);
  });
});
