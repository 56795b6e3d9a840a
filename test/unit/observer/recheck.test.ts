import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Config } from '../../../src/config/schema.js';
import { shortestFailingOutageMs } from '../../../src/detect/recheck.js';
import type { VerdictEvent } from '../../../src/events.js';
import { createMemoryNetwork, type MemoryNetwork } from '../../../src/gossip/memory.js';
import type { Gossip } from '../../../src/gossip/types.js';
import { silentLogger } from '../../../src/log.js';
import type { Scheduler } from '../../../src/model.js';
import { Observer } from '../../../src/observer/observer.js';
import { testConfig } from '../../support/config.js';
import { TimedProber } from '../../support/fake-prober.js';
import { advance } from '../agent/fake-time.js';

/*
 * Rapid rechecks through the observer, on fake timers: the scheduler is
 * Date.now/setTimeout under vi.useFakeTimers, the prober answers on the
 * same clock. Nothing sleeps; times are asserted as fake-clock instants.
 */
const A = '203.0.113.1';
const B = '203.0.113.2';
const START = 1_760_000_000_000;

/** The shipped timing: interval 2 s, timeout 1 s, threshold 3, suspect_after 0.1 s, recheck_interval 0.2 s. */
function shipped(over: Partial<Parameters<typeof testConfig>[0]> = {}): Config {
  return testConfig({ ips: [A, B], intervalMs: 2000, timeoutMs: 1000, failureThreshold: 3, suspectAfterMs: 100, recheckIntervalMs: 200, ...over });
}

const scheduler: Scheduler = { now: () => Date.now(), setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (t) => clearTimeout(t as NodeJS.Timeout) };

interface Probe {
  observer: Observer;
  prober: TimedProber;
  local: VerdictEvent[];
  stop: AbortController;
}

const running: Probe[] = [];

function observe(config: Config, id = 'self', gossip?: Gossip): Probe {
  const prober = new TimedProber();
  const local: VerdictEvent[] = [];
  const stop = new AbortController();
  const observer = new Observer(
    {
      logger: silentLogger(),
      events: { localVerdict: (e) => local.push(e) },
      scheduler,
      signal: stop.signal,
      createProber: () => prober,
      selfId: id,
      onVerdictChange: () => undefined,
      ...(gossip ? { gossip } : {}),
    },
    config,
  );
  const p = { observer, prober, local, stop };
  running.push(p);
  return p;
}

beforeEach(() => {
  vi.useFakeTimers({ now: START });
});
afterEach(async () => {
  for (const p of running.splice(0)) {
    p.stop.abort();
    await vi.runOnlyPendingTimersAsync();
    await p.observer.stop();
  }
  vi.useRealTimers();
});

const downAt = (p: Probe, ip: string) => p.local.find((e) => e.ip === ip && e.to === 'down')?.at;

/** Starts the observer and lets it see every IP up (3 rounds). */
async function upAndRunning(p: Probe): Promise<void> {
  p.observer.start();
  await advance(3 * 2000 + 10);
  expect(p.local.filter((e) => e.to === 'up').length).toBe(2);
}

describe('rapid rechecks (observer, fake timers)', () => {
  it('streak reached: the first probe after the outage is suspect at suspect_after, rechecks follow every recheck_interval, down at the third miss', async () => {
    const p = observe(shipped());
    await upAndRunning(p);
    const outage = Date.now() + 300;
    p.prober.silent = (ip, now) => ip === A && now >= outage;
    await advance(5000);
    const sends = p.prober.sendsOf(A).filter((t) => t >= outage);
    const first = sends[0]!;
    // The round probe, then rechecks 200 ms apart (the first waits recheck_interval after the round probe).
    expect(sends.slice(0, 3).map((t) => t - first)).toEqual([0, 200, 400]);
    // Down when the third probe times out: 400 ms + timeout after the first.
    expect(downAt(p, A)! - first).toBe(1400);
    expect(p.local.find((e) => e.ip === A && e.to === 'down')?.streakStartedAt).toBe(first);
    expect(downAt(p, B)).toBeUndefined();
  });

  it('without rechecks (recheck_interval = 0) the same outage takes three rounds', async () => {
    const p = observe(shipped({ recheckIntervalMs: 0 }));
    await upAndRunning(p);
    const outage = Date.now() + 300;
    p.prober.silent = (ip, now) => ip === A && now >= outage;
    await advance(8000);
    const first = p.prober.sendsOf(A).find((t) => t >= outage)!;
    expect(downAt(p, A)! - first).toBe(2 * 2000 + 1000);
  });

  it('streak broken: one lost reply costs one recheck, no verdict change', async () => {
    const p = observe(shipped());
    await upAndRunning(p);
    const before = p.prober.sendsOf(A).length;
    const lost = Date.now() + 1000;
    let dropped = false;
    p.prober.silent = (ip, now) => {
      if (ip !== A || dropped || now < lost) return false;
      dropped = true;
      return true;
    };
    await advance(4 * 2000);
    expect(p.local.filter((e) => e.to === 'down')).toEqual([]);
    // 4 rounds, plus the one recheck that answered (the episode stops at the first answer).
    expect(p.prober.sendsOf(A).length - before).toBe(4 + 1);
    expect(p.observer.state().rechecks?.size).toBe(0);
  });

  it('recovery: a down IP that answers is rechecked at once, up recovery_threshold − 1 recheck intervals later', async () => {
    const p = observe(shipped());
    await upAndRunning(p);
    let silent = true;
    p.prober.silent = (ip) => ip === A && silent;
    await advance(4000);
    expect(downAt(p, A)).toBeDefined();
    silent = false;
    const back = Date.now();
    await advance(3000);
    const firstOk = p.prober.sendsOf(A).find((t) => t >= back)!;
    const up = p.local.filter((e) => e.ip === A && e.to === 'up').at(-1)!;
    expect(up.at - firstOk).toBe(2 * 200 + 1); // two rechecks 200 ms apart, answered after the 1 ms RTT
  });

  it('the shortest failing outage the code documents: shorter blips at any phase never turn the verdict, one just longer can', async () => {
    const config = shipped();
    const tolerance = shortestFailingOutageMs(config);
    expect(tolerance).toBe(400);
    const p = observe(config);
    await upAndRunning(p);
    // 40 blips of tolerance − 1 ms, at phases spread over a round, 3 s apart.
    for (let k = 0; k < 40; k++) {
      const start = Date.now() + Math.round((k * 2000) / 40) + 7;
      p.prober.silent = (ip, now) => ip === A && now >= start && now < start + tolerance - 1;
      await advance(3000);
    }
    expect(p.local.filter((e) => e.to === 'down')).toEqual([]);
    // A blip just longer than the tolerance that starts just before a round probe turns it.
    const nextRound = p.prober.sendsOf(B).at(-1)! + 2000;
    const start = nextRound - 1;
    p.prober.silent = (ip, now) => ip === A && now >= start && now <= start + tolerance + 1;
    await advance(5000);
    expect(downAt(p, A)).toBeDefined();
  });

  it('bounded in flight: never more than failure_threshold probes of one IP in flight', async () => {
    const p = observe(shipped({ failureThreshold: 3, timeoutMs: 1900, suspectAfterMs: 100, recheckIntervalMs: 100 }));
    await upAndRunning(p);
    p.prober.silent = (ip) => ip === A;
    await advance(6000);
    // Every instant: sends of A within the last timeout (still in flight) ≤ 3.
    const sends = p.prober.sendsOf(A);
    for (const t of sends) expect(sends.filter((s) => s <= t && s > t - 1900).length).toBeLessThanOrEqual(3);
  });

  it('global cap: max_recheck_rate bounds the extra probes per second over all IPs', async () => {
    const ips = Array.from({ length: 60 }, (_, i) => `203.0.113.${i + 10}`);
    const p = observe(
      testConfig({ ips, intervalMs: 2000, timeoutMs: 1000, failureThreshold: 3, suspectAfterMs: 100, recheckIntervalMs: 200, maxRecheckRate: 20 }),
    );
    p.observer.start();
    await advance(6010);
    const rounds = p.prober.sends.length;
    p.prober.silent = () => true;
    const from = Date.now();
    await advance(4000);
    const rechecks = p.observer.state().recheckProbes!;
    expect(rounds).toBe(4 * ips.length); // rounds at 0, 2, 4 and 6 s
    expect(rechecks).toBeGreaterThan(0);
    expect(rechecks).toBeLessThanOrEqual(20 * 4 + 20); // 20/s for 4 s, plus one second of burst
    // Every send after the silence is a round probe or a recheck; the rounds left out IPs being rechecked.
    expect(p.prober.sends.filter((s) => s.at >= from).length).toBeLessThanOrEqual(2 * ips.length + rechecks);
  });

  it('more replies overdue at once than max_recheck_rate: only that many become suspects (a slow round is no outage)', async () => {
    const ips = Array.from({ length: 60 }, (_, i) => `203.0.113.${i + 10}`);
    const p = observe(
      testConfig({ ips, intervalMs: 2000, timeoutMs: 1000, failureThreshold: 3, suspectAfterMs: 100, recheckIntervalMs: 200, maxRecheckRate: 20 }),
    );
    p.prober.rttMs = 500; // every reply 0.5 s after its send: overdue at 0.1 s, in time for the 1 s timeout
    p.observer.start();
    await advance(150);
    expect(p.observer.state().rechecks?.size).toBe(20);
    await advance(6000);
    expect(p.local.filter((e) => e.to === 'down')).toEqual([]);
    expect(p.local.filter((e) => e.to === 'up')).toHaveLength(60);
  });

  it('IP removed mid-streak: its rechecks stop, its late answers are ignored', async () => {
    const config = shipped();
    const p = observe(config);
    await upAndRunning(p);
    p.prober.silent = (ip) => ip === A;
    await advance(1000);
    p.observer.reload({ ...config, cloudflare: { ...config.cloudflare!, ipAddresses: [B] } });
    const removedAt = Date.now();
    await advance(4000);
    expect(p.prober.sendsOf(A).filter((t) => t > removedAt)).toEqual([]);
    expect(downAt(p, A)).toBeUndefined();
    expect(p.observer.state().rechecks?.has(A)).toBe(false);
  });

  it('config reload mid-streak: the episode goes on at the new recheck_interval; turning rechecks off closes it', async () => {
    const config = shipped();
    const p = observe(config);
    await upAndRunning(p);
    const outage = Date.now() + 5;
    p.prober.silent = (ip, now) => ip === A && now >= outage;
    await advance(2000 - 10 + 150); // just after the round probe went silent and became suspect
    const round = p.prober.sendsOf(A).filter((t) => t >= outage)[0]!;
    p.observer.reload({ ...config, recheckIntervalMs: 300 });
    await advance(3000);
    const sends = p.prober.sendsOf(A).filter((t) => t >= outage);
    expect(sends.slice(0, 3).map((t) => t - round)).toEqual([0, 200, 500]);
    expect(downAt(p, A)! - round).toBe(1500);

    const q = observe(shipped(), 'other');
    await upAndRunning(q);
    q.prober.silent = (ip) => ip === A;
    await advance(2000 - 10 + 150);
    expect(q.observer.state().rechecks?.has(A)).toBe(true);
    q.observer.reload({ ...shipped(), recheckIntervalMs: 0 });
    expect(q.observer.state().rechecks?.size).toBe(0);
  });
});

describe('peers recheck when one suspects (memory network)', () => {
  function cluster(ids: string[], noSignals: string[] = []): { net: MemoryNetwork; probes: Probe[]; gossips: Gossip[] } {
    const net = createMemoryNetwork();
    const config = shipped({ minPeersAgree: 1, peers: ids.slice(1).map((_, i) => `127.0.0.1:${7100 + i}`) });
    const gossips = ids.map((id) => net.join(id, { isKnownIp: (ip) => ip === A || ip === B, signals: !noSignals.includes(id) }));
    const probes = ids.map((id, i) => observe(config, id, gossips[i]));
    return { net, probes, gossips };
  }

  async function startAll(gossips: Gossip[], probes: Probe[]): Promise<void> {
    for (const g of gossips) await g.start();
    for (const p of probes) p.observer.start();
    await advance(4 * 2000);
    for (const p of probes) expect(p.observer.verdicts().get(A)).toBe('up');
  }

  it('the suspecting agent tells its peers; they recheck at once and their thresholds land within milliseconds', async () => {
    const { probes, gossips } = cluster(['a', 'b', 'c']);
    await startAll(gossips, probes);
    const outage = Date.now() + 123;
    for (const p of probes) p.prober.silent = (ip, now) => ip === A && now >= outage;
    await advance(4000);
    const firstProbe = Math.min(...probes.map((p) => p.prober.sendsOf(A).find((t) => t >= outage)!));
    const downs = probes.map((p) => downAt(p, A)!).sort((x, y) => x - y);
    // Everyone probes within ~suspect_after of the first probe after the outage, not a round later.
    for (const p of probes) expect(p.prober.sendsOf(A).find((t) => t >= outage)! - firstProbe).toBeLessThanOrEqual(100 + 5);
    expect(downs[2]! - downs[0]!).toBeLessThanOrEqual(100 + 5);
    // The second threshold (quorum possible) lands suspect_after + 2 recheck intervals + timeout after the first probe.
    for (const p of probes) expect(p.observer.verdicts().get(A)).toBe('down');
    expect(downs[1]! - firstProbe).toBeLessThanOrEqual(100 + 2 * 200 + 1000 + 10);
    // The first probe after the outage: within interval / 3 (phases spread by rank).
    expect(firstProbe - outage).toBeLessThanOrEqual(Math.ceil(2000 / 3));
  });

  it('quorum ignores suspects: a peer suspect is not a vote', async () => {
    const { probes, gossips } = cluster(['a', 'b']);
    await startAll(gossips, probes);
    const before = probes[0]!.observer.state().quorum.votes.get('b')?.get(A);
    await gossips[1]!.publishSignal!({ kind: 'suspect', ips: [A] });
    await advance(5);
    const after = probes[0]!.observer.state().quorum.votes.get('b')?.get(A);
    expect(after).toEqual(before);
    expect(after?.verdict).toBe('up');
    // The peer suspect made 'a' recheck A (a 'down' episode that the first answer ends).
    await advance(50);
    expect(probes[0]!.observer.state().rechecks?.size).toBe(0);
    expect(probes[0]!.observer.verdicts().get(A)).toBe('up');
  });

  it('rolling upgrade: an agent of the version before signals still agrees (and never sees one); nothing is dropped', async () => {
    const { probes, gossips } = cluster(['a', 'b', 'old'], ['old']);
    expect(gossips[2]!.publishSignal).toBeUndefined();
    await startAll(gossips, probes);
    const outage = Date.now() + 500;
    for (const p of probes) p.prober.silent = (ip, now) => ip === A && now >= outage;
    await advance(8000);
    for (const p of probes) expect(p.observer.verdicts().get(A)).toBe('down');
    for (const g of gossips) expect(Object.values(g.drops()).reduce((x, y) => x + y, 0)).toBe(0);
  });
});
