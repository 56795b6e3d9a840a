import { afterEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../../src/agent.js';
import { SETTLE_MAX_MS, SETTLE_MIN_MS, writerSettleMs } from '../../../src/dns/policies.js';
import type { DnsProvider } from '../../../src/dns/types.js';
import { Keyring } from '../../../src/gossip/keyring.js';
import { createMemoryNetwork } from '../../../src/gossip/memory.js';
import { emptyDropCounts } from '../../../src/gossip/validate.js';
import type { Gossip, Observation, ObservationBatch, PeerStatus } from '../../../src/gossip/types.js';
import { silentLogger } from '../../../src/log.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';
import { FakeProber } from '../../support/fake-prober.js';

/**
 * Writer election orders votes by when they turned, each agent using its
 * own stamp for its own vote and the sender's stamp for a peer's. The two
 * must be the same instant, whatever runs between the turn and the publish,
 * and a full batch must repeat it for a peer that missed the change message.
 */
const A = '203.0.113.1';
const B = '203.0.113.2';
const WWW = 'www.example.com';

/** A gossip seam that records what the agent publishes (stamping sentAt as the real ones do when not given). */
class RecordingGossip implements Gossip {
  readonly selfId = 'self';
  readonly sent: ObservationBatch[] = [];
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async publish(observations: readonly Observation[], full: boolean, sentAt = Date.now()): Promise<number> {
    this.sent.push({ seq: this.sent.length, sentAt, full, observations: [...observations] });
    return 1;
  }
  onObservations(): void {}
  peers(): PeerStatus[] {
    return [];
  }
  drops() {
    return emptyDropCounts();
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('vote stamps on the wire', () => {
  it('the cluster-verdict event names each agreeing agent with when its vote turned (for the audit log)', async () => {
    vi.useFakeTimers({ now: 1_760_000_000_000 });
    const events: Array<{ ip: string; at: number; turned: unknown }> = [];
    const agent = new Agent({
      config: testConfig({ ips: [A], intervalMs: 1000, failureThreshold: 2, minPeersAgree: 0 }),
      logger: silentLogger(),
      dryRun: false,
      createProber: () => new FakeProber(),
      createProvider: () => new FakeDns([]),
      gossip: new RecordingGossip(),
      selfId: 'self',
      events: { clusterVerdict: (e) => events.push({ ip: e.ip, at: e.at, turned: e.turned }) },
    });
    agent.start();
    await vi.advanceTimersByTimeAsync(2500);
    await agent.stop();
    expect(events).toHaveLength(1);
    expect(events[0]!.turned).toEqual([{ agent: 'self', since: events[0]!.at }]);
  });

  it('a change batch is stamped with the instant the vote turned, even when watchers take 40 ms in between; the next full batch repeats it', async () => {
    vi.useFakeTimers({ now: 1_760_000_000_000 });
    const gossip = new RecordingGossip();
    const prober = new FakeProber();
    let turnedBefore: number | undefined;
    const agent = new Agent({
      config: testConfig({ ips: [A, B], intervalMs: 1000, failureThreshold: 2, minPeersAgree: 0, peers: ['127.0.0.1:7000'] }),
      logger: silentLogger(),
      dryRun: false,
      createProber: () => prober,
      createProvider: () => new FakeDns([]),
      gossip,
      selfId: 'self',
      events: {
        // a slow watcher (a notification, a metric) between the turn and the publish
        clusterVerdict: (e) => {
          turnedBefore ??= e.at;
          vi.setSystemTime(Date.now() + 40);
        },
      },
    });
    agent.start();
    await vi.advanceTimersByTimeAsync(2500); // two rounds: A and B turn up
    const change = gossip.sent.find((b) => !b.full && b.observations.some((o) => o.ip === A && o.verdict === 'up'));
    expect(change, 'a change batch for A').toBeDefined();
    expect(turnedBefore).toBeDefined();
    expect(change!.sentAt).toBe(turnedBefore); // not 40 ms later

    await vi.advanceTimersByTimeAsync(10_000); // the full-state round
    const full = gossip.sent.find((b) => b.full);
    expect(full, 'a full batch').toBeDefined();
    expect(full!.observations.find((o) => o.ip === A)).toEqual({ ip: A, verdict: 'up', turnedAt: change!.sentAt });

    // once the turn is older than the freshness window, full batches say "long ago" (no turn time)
    await vi.advanceTimersByTimeAsync(60_000);
    const late = gossip.sent.filter((b) => b.full).at(-1)!;
    expect(late.observations.find((o) => o.ip === A)).toEqual({ ip: A, verdict: 'up' });
    await agent.stop();
  });
});

/** Wraps a gossip member so its messages reach the others `delayMs` late (a loaded sender or network). */
function delayed(inner: Gossip, delayMs: number): Gossip {
  return {
    selfId: inner.selfId,
    start: () => inner.start(),
    stop: () => inner.stop(),
    publish: (observations, full, sentAt = Date.now()) =>
      new Promise((resolve) => {
        setTimeout(() => resolve(inner.publish(observations, full, sentAt)), delayMs);
      }),
    onObservations: (h) => inner.onObservations(h),
    peers: () => inner.peers(),
    drops: () => inner.drops(),
  };
}

/** The DNS API reads in `readMs` and writes in `writeMs` (a real API takes tens of milliseconds). */
function slow(dns: FakeDns, readMs: number, writeMs: number): DnsProvider {
  const later = <T>(ms: number, f: () => Promise<T>): Promise<T> => new Promise((resolve, reject) => setTimeout(() => f().then(resolve, reject), ms));
  return { name: dns.name, listRecords: (names) => later(readMs, () => dns.listRecords(names)), apply: (changes) => later(writeMs, () => dns.apply(changes)) };
}

describe('one writer when two agents turn within the gossip delay', () => {
  it("b turns first, c 30 ms later, a 35 ms later while c's vote is still in flight: c completed the quorum and is the only one to write", async () => {
    vi.useFakeTimers({ now: 1_760_000_000_000 });
    const net = createMemoryNetwork();
    const keyring = Keyring.fromSecrets(['writer-test-secret-0123456789']);
    const dns = new FakeDns([A, B].map((content) => ({ type: 'A' as const, name: WWW, content, proxied: false, ttl: 1 })));
    const config = testConfig({ ips: [A, B], intervalMs: 1000, failureThreshold: 2, minPeersAgree: 1, peers: ['127.0.0.1:7000', '127.0.0.1:7001'] });
    const members: Array<{ agent: Agent; prober: FakeProber; gossip: Gossip }> = [];
    // agents start (and so probe) at 0, 30 and 35 ms: b, c, a
    for (const [id, after] of [
      ['agent-b', 0],
      ['agent-c', 30],
      ['agent-a', 5],
    ] as const) {
      await vi.advanceTimersByTimeAsync(after);
      const joined = net.join(id, { keyring, isKnownIp: (ip) => ip === A || ip === B });
      const gossip = id === 'agent-c' ? delayed(joined, 50) : joined;
      await gossip.start();
      const prober = new FakeProber();
      const agent = new Agent({
        config,
        logger: silentLogger(),
        dryRun: false,
        createProber: () => prober,
        createProvider: () => slow(dns, 5, 80),
        gossip,
        selfId: id,
      });
      agent.start();
      members.push({ agent, prober, gossip });
    }
    await vi.advanceTimersByTimeAsync(12_000); // everyone up, full states exchanged
    for (const m of members) expect(m.agent.verdicts().get(A)).toBe('up');
    for (const m of members) m.prober.down.add(A);
    await vi.advanceTimersByTimeAsync(15_000); // the turn, the writer, every grace period
    const deletes = dns.applied.filter((batch) => batch.some((c) => c.op === 'delete'));
    expect(deletes).toHaveLength(1);
    expect(dns.contents(WWW)).toEqual([B]);
    for (const m of members) await m.agent.stop();
  });
});

describe('writerSettleMs', () => {
  it.each([
    ['no delay seen yet', [], SETTLE_MAX_MS],
    ['an idle machine (3 ms)', [2, 3, 1], SETTLE_MIN_MS],
    ['a loaded one: twice the worst', [3, 40, 12], 80],
    ['a peer clock behind ours (negative) counts as 0', [-5000], SETTLE_MIN_MS],
    ['a peer clock far ahead, or a stalled loop, is capped', [3, 60_000], SETTLE_MAX_MS],
  ] as Array<[string, number[], number]>)('%s', (_name, delays, ms) => {
    expect(writerSettleMs(delays)).toBe(ms);
  });
});
