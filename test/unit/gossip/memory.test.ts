import { describe, expect, it } from 'vitest';
import { wrapBatch } from '../../../src/gossip/envelope.js';
import { Keyring } from '../../../src/gossip/keyring.js';
import { createMemoryNetwork, DEFAULT_TOPIC } from '../../../src/gossip/memory.js';
import type { Gossip, ObservationBatch } from '../../../src/gossip/types.js';

const IPS = ['198.18.0.1', '198.18.0.2', '198.18.0.3'];
const isKnownIp = (ip: string): boolean => IPS.includes(ip);
const keyring = Keyring.fromSecrets(['s3cret']);

/** Lets queued setImmediate deliveries run. */
const settle = async (): Promise<void> => {
  for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
};

function record(g: Gossip): Array<{ from: string; batch: ObservationBatch }> {
  const got: Array<{ from: string; batch: ObservationBatch }> = [];
  g.onObservations((from, batch) => got.push({ from, batch }));
  return got;
}

async function trio(opts: { keyrings?: [Keyring | undefined, Keyring | undefined, Keyring | undefined] } = {}) {
  const net = createMemoryNetwork();
  const ks = opts.keyrings ?? [keyring, keyring, keyring];
  const [a, b, c] = (['a', 'b', 'c'] as const).map((id, i) => net.join(id, { keyring: ks[i], isKnownIp })) as [Gossip, Gossip, Gossip];
  await Promise.all([a.start(), b.start(), c.start()]);
  return { net, a, b, c, got: { a: record(a), b: record(b), c: record(c) } };
}

describe('memory network', () => {
  it('three agents exchange batches; nobody receives its own', async () => {
    const { a, b, c, got } = await trio();
    expect(await a.publish([{ ip: '198.18.0.1', verdict: 'down' }], false)).toBe(2);
    expect(got.b).toHaveLength(0); // asynchronous, like a network
    await settle();
    expect(await b.publish([{ ip: '198.18.0.2', verdict: 'up' }], true)).toBe(2);
    await c.publish([], true);
    await settle();
    expect(got.a.map((m) => m.from)).toEqual(['b', 'c']);
    expect(got.b.map((m) => m.from)).toEqual(['a', 'c']);
    expect(got.c.map((m) => m.from)).toEqual(['a', 'b']);
    expect(got.b[0]?.batch.observations).toEqual([{ ip: '198.18.0.1', verdict: 'down' }]);
    expect(got.a[0]?.batch.full).toBe(true);
    expect(a.peers().map((p) => [p.id, p.connected, p.lastHeard !== undefined])).toEqual([
      ['b', true, true],
      ['c', true, true],
    ]);
  });

  it('sequence numbers rise per sender and start near Date.now()*1000', async () => {
    const { a, got } = await trio();
    const before = Date.now() * 1000;
    await a.publish([], false);
    await a.publish([], false);
    await settle();
    const [s1, s2] = got.b.map((m) => m.batch.seq) as [number, number];
    expect(s2).toBe(s1 + 1);
    expect(s1).toBeGreaterThan(before - 60_000_000);
    expect(s1).toBeLessThanOrEqual(before + 1000 * 1000);
  });

  it('a partition drops messages both ways until healed, including those in flight', async () => {
    const { net, a, b, got } = await trio();
    await a.publish([{ ip: '198.18.0.1', verdict: 'up' }], false); // in flight…
    net.partition('a', 'b'); // …when the cable is cut
    expect(await a.publish([{ ip: '198.18.0.1', verdict: 'down' }], false)).toBe(1); // only c
    await b.publish([{ ip: '198.18.0.2', verdict: 'down' }], false);
    await settle();
    expect(got.b).toHaveLength(0);
    expect(got.a.map((m) => m.from)).toEqual([]);
    expect(got.c.map((m) => m.from)).toEqual(['a', 'a', 'b']);
    expect(a.peers().find((p) => p.id === 'b')?.connected).toBe(false);
    net.heal('b', 'a');
    expect(await a.publish([{ ip: '198.18.0.3', verdict: 'up' }], false)).toBe(2);
    await settle();
    expect(got.b.map((m) => m.batch.observations[0]?.ip)).toEqual(['198.18.0.3']);
  });

  it('a stopped member receives nothing and publishes to no one', async () => {
    const { a, b, got } = await trio();
    await b.stop();
    expect(await a.publish([], false)).toBe(1);
    expect(await b.publish([], false)).toBe(0);
    await settle();
    expect(got.b).toHaveLength(0);
    expect(got.c).toHaveLength(1);
  });

  it('a member with another key cannot be read and cannot inject (bad-tag)', async () => {
    const { a, c, got } = await trio({ keyrings: [keyring, keyring, Keyring.fromSecrets(['wrong'])] });
    await a.publish([{ ip: '198.18.0.1', verdict: 'down' }], false);
    await c.publish([{ ip: '198.18.0.1', verdict: 'up' }], false);
    await settle();
    expect(got.c).toHaveLength(0);
    expect(got.a).toHaveLength(0);
    expect(got.b.map((m) => m.from)).toEqual(['a']);
    expect(c.drops()['bad-tag']).toBe(1);
    expect(a.drops()['bad-tag']).toBe(1);
  });

  it('mixing keys and no keys is a bad-version both ways', async () => {
    const { a, b, got } = await trio({ keyrings: [keyring, undefined, undefined] });
    await a.publish([], false);
    await b.publish([], false);
    await settle();
    expect(got.b).toHaveLength(0);
    expect(got.c.map((m) => m.from)).toEqual(['b']);
    expect(b.drops()['bad-version']).toBe(1);
    expect(a.drops()['bad-version']).toBe(1);
  });

  it('hostile input through inject: replay, unknown sender, garbage, unknown IPs', async () => {
    const { net, a, b, got } = await trio();
    // a member that allows no sender at all
    const spy = net.join('spy', { keyring, isKnownIp, allowedPeers: [] });
    await spy.start();
    const batch = (seq: number, ip = '198.18.0.1'): ObservationBatch => ({ seq, sentAt: Date.now(), full: false, observations: [{ ip, verdict: 'down' }] });
    const msg = wrapBatch(batch(5), keyring, DEFAULT_TOPIC);
    net.inject('a', 'b', msg);
    net.inject('a', 'b', msg); // replay
    net.inject('a', 'b', wrapBatch(batch(4), keyring, DEFAULT_TOPIC)); // older
    net.inject('mallory', 'b', wrapBatch(batch(6), keyring, DEFAULT_TOPIC)); // not a member
    net.inject('a', 'b', Uint8Array.of(1, 2, 3)); // garbage
    net.inject('a', 'b', wrapBatch(batch(7, '198.18.200.1'), keyring, DEFAULT_TOPIC));
    net.inject('a', 'b', wrapBatch({ ...batch(8), sentAt: Date.now() - 3_600_000 }, keyring, DEFAULT_TOPIC));
    await settle();
    expect(got.b).toHaveLength(1);
    expect(b.drops()).toMatchObject({ replayed: 2, 'unknown-sender': 1, malformed: 1, 'unknown-ip': 1, 'too-old': 1 });
    // spy allows nobody: everything a sends it is unknown-sender
    await a.publish([], false);
    await settle();
    expect(spy.drops()['unknown-sender']).toBe(1);
  });

  it('a throwing handler does not stop the others', async () => {
    const { a, b } = await trio();
    b.onObservations(() => {
      throw new Error('handler bug');
    });
    const after: string[] = [];
    b.onObservations((from) => after.push(from));
    await a.publish([], false);
    await settle();
    expect(after).toEqual(['a']);
  });

  it('refuses a duplicate member id while the first is started; a stopped one may join again (a restart)', async () => {
    const net = createMemoryNetwork();
    const first = net.join('a', { isKnownIp });
    await first.start();
    expect(() => net.join('a', { isKnownIp })).toThrow(/already/);
    await first.stop();
    expect(() => net.join('a', { isKnownIp })).not.toThrow();
  });
});
