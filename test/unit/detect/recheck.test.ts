import { describe, expect, it } from 'vitest';
import {
  answered,
  begin,
  due,
  end,
  failoverSentence,
  initialRechecks,
  retain,
  shortestFailingOutageMs,
  suspectDelayMs,
  unsent,
  type RecheckOptions,
  type RecheckState,
} from '../../../src/detect/recheck.js';

const O: RecheckOptions = { recheckIntervalMs: 200, maxInFlight: 3, maxSends: 3, maxPerSecond: 100 };
const A = '198.18.0.1';
const B = '198.18.0.2';

/** Runs `due` at each time, returning what was sent when. */
function drive(s: RecheckState, times: number[], opts = O): { state: RecheckState; sent: Array<[number, string[]]> } {
  const sent: Array<[number, string[]]> = [];
  for (const t of times) {
    const r = due(s, t, opts);
    s = r.state;
    if (r.send.length > 0) sent.push([t, [...r.send]]);
  }
  return { state: s, sent };
}

describe('suspectDelayMs: a few RTTs, at least suspect_after, below the timeout', () => {
  it.each([
    // lastRttMs, suspectAfterMs, timeoutMs, expected
    [undefined, 100, 1000, 100],
    [0.1, 100, 1000, 100],
    [20, 100, 1000, 100],
    [30, 100, 1000, 120],
    [100, 100, 1000, 400],
    [300, 100, 1000, 999],
    [undefined, 600, 500, 499],
  ])('rtt %s, floor %i, timeout %i → %i ms', (rtt, floor, timeout, expected) => {
    expect(suspectDelayMs(rtt, floor, timeout)).toBe(expected);
  });
});

describe('recheck scheduling', () => {
  it.each([
    // case, lastSentAt, times due runs, expected sends [at, ips]
    ['first recheck at once when the last probe is old', 0, [1000, 1100, 1200, 1400, 1600], [[1000], [1200], [1400]]],
    ['first recheck one recheck interval after the last probe', 950, [1000, 1100, 1150, 1349, 1350, 1550], [[1150], [1350], [1550]]],
    ['no probe of the IP known: at once', undefined, [1000, 1200, 1400], [[1000], [1200], [1400]]],
  ] as const)('%s', (_name, lastSentAt, times, expected) => {
    const s = begin(initialRechecks(0, O), A, 'down', 'suspect', 1000, O, lastSentAt);
    const { sent } = drive(s, [...times]);
    expect(sent.map(([t]) => [t])).toEqual(expected);
  });

  it('streak reached: end() closes the episode, nothing more is sent', () => {
    let s = begin(initialRechecks(0, O), A, 'down', 'suspect', 1000, O);
    s = drive(s, [1000, 1200]).state;
    s = end(s, A);
    expect(s.episodes.has(A)).toBe(false);
    expect(drive(s, [1400, 1600]).sent).toEqual([]);
  });

  it.each([
    // direction, outcome that breaks the streak
    ['down', true],
    ['up', false],
  ] as const)('streak broken (%s, answer ok=%s): no more sends, closed once nothing is in flight', (direction, ok) => {
    let s = begin(initialRechecks(0, O), A, direction, 'peer', 1000, O);
    s = drive(s, [1000, 1200]).state; // two in flight
    s = answered(s, A, ok, true);
    expect(s.episodes.get(A)).toMatchObject({ stopping: true, inFlight: 1 });
    expect(drive(s, [1400, 1600]).sent).toEqual([]);
    s = answered(s, A, !ok, true);
    expect(s.episodes.has(A)).toBe(false);
  });

  it('an outcome along the direction frees its slot and goes on', () => {
    let s = begin(initialRechecks(0, O), A, 'down', 'suspect', 1000, O);
    s = drive(s, [1000]).state;
    s = answered(s, A, false, true);
    expect(s.episodes.get(A)).toMatchObject({ stopping: false, inFlight: 0, sent: 1 });
  });

  it('bounded in flight: pipelined up to maxInFlight, the next waits for an answer', () => {
    const opts = { ...O, maxInFlight: 2, maxSends: 10 };
    let s = begin(initialRechecks(0, opts), A, 'down', 'suspect', 1000, opts);
    const r = drive(s, [1000, 1200, 1400, 1600], opts);
    expect(r.sent.map(([t]) => t)).toEqual([1000, 1200]);
    s = answered(r.state, A, false, true); // the first timed out: a slot is free
    expect(drive(s, [1601], opts).sent).toEqual([[1601, [A]]]);
  });

  it('bounded per episode: maxSends, then it closes when the last answer comes', () => {
    let s = begin(initialRechecks(0, O), A, 'down', 'suspect', 1000, O);
    const r = drive(s, [1000, 1200, 1400, 1600, 1800]);
    expect(r.sent.length).toBe(3);
    s = r.state;
    for (let i = 0; i < 3; i++) s = answered(s, A, false, true);
    expect(s.episodes.has(A)).toBe(false);
  });

  it('a recheck that was never sent (no observation) frees its slot only', () => {
    let s = begin(initialRechecks(0, O), A, 'down', 'suspect', 1000, O);
    s = drive(s, [1000]).state;
    s = unsent(s, A);
    expect(s.episodes.get(A)).toMatchObject({ inFlight: 0, stopping: false });
  });

  it('one episode per IP: begin on an open one changes nothing', () => {
    const s = begin(initialRechecks(0, O), A, 'down', 'suspect', 1000, O);
    expect(begin(s, A, 'up', 'peer', 1100, O)).toBe(s);
  });

  it('rechecks off (recheck_interval = 0): begin opens nothing', () => {
    const off = { ...O, recheckIntervalMs: 0 };
    expect(begin(initialRechecks(0, off), A, 'down', 'suspect', 1000, off).episodes.size).toBe(0);
  });

  it('global cap: at most maxPerSecond rechecks per second over all IPs, the rest wait (counted)', () => {
    const opts = { ...O, maxPerSecond: 2, maxSends: 100, maxInFlight: 100 };
    let s = initialRechecks(0, opts);
    const ips = Array.from({ length: 5 }, (_, i) => `198.18.0.${i + 1}`);
    for (const ip of ips) s = begin(s, ip, 'down', 'peer', 1000, opts);
    const r1 = due(s, 1000, opts);
    expect(r1.send).toEqual(ips.slice(0, 2));
    expect(r1.capped).toBe(3);
    expect(r1.wakeAt).toBe(1200); // the next recheck of the two sent; the capped ones wait for tokens
    const r2 = due(r1.state, 1500, opts);
    expect(r2.send).toEqual([ips[2]]);
    // Over 10 s of calls every 10 ms, no more than the cap (+ the 1 s burst).
    let st = r2.state;
    let total = 3;
    for (let t = 1510; t <= 11_500; t += 10) {
      const r = due(st, t, opts);
      st = r.state;
      total += r.send.length;
    }
    expect(total).toBeLessThanOrEqual(2 * 10.5 + 2);
  });

  it('nothing due: the episodes are neither copied nor changed (due runs after every answer of an episode)', () => {
    let s = initialRechecks(0, O);
    for (let i = 1; i <= 200; i++) s = begin(s, `198.18.1.${i}`, 'down', 'suspect', 1000, O, 1000);
    const r = due(s, 1100, O); // every first recheck waits until 1200 (recheck_interval after the last probe)
    expect(r.send).toEqual([]);
    expect(r.state.episodes).toBe(s.episodes);
    expect(r.wakeAt).toBe(1200);
    const sent = due(s, 1200, O);
    expect(sent.send).toHaveLength(100); // maxPerSecond's bucket
    expect(sent.state.episodes).not.toBe(s.episodes);
    expect([...s.episodes.values()].every((e) => e.sent === 0)).toBe(true); // the input is untouched
  });

  it('config reload mid-streak: kept IPs go on under the new bounds, removed IPs and a turned-off config close', () => {
    let s = initialRechecks(0, O);
    s = begin(s, A, 'down', 'suspect', 1000, O);
    s = begin(s, B, 'down', 'suspect', 1000, O);
    s = drive(s, [1000]).state;
    const kept = retain(s, new Set([A]), O);
    expect([...kept.episodes.keys()]).toEqual([A]);
    const slower = { ...O, recheckIntervalMs: 500 };
    // The next send was set under the old interval; later ones follow the new one.
    const r = drive(kept, [1200, 1400, 1700, 1900, 2200], slower);
    expect(r.sent.map(([t]) => t)).toEqual([1200, 1700]);
    expect(retain(s, new Set([A, B]), { ...O, recheckIntervalMs: 0 }).episodes.size).toBe(0);
  });
});

describe('shortestFailingOutageMs: the documented blip tolerance', () => {
  it.each([
    // failureThreshold, intervalMs, recheckIntervalMs, expected
    [3, 2000, 200, 400],
    [3, 2000, 0, 4000],
    [1, 2000, 200, 0],
    [2, 2000, 200, 200],
    [5, 1000, 250, 1000],
  ])('threshold %i, interval %i, recheck %i → %i ms', (failureThreshold, intervalMs, recheckIntervalMs, expected) => {
    expect(shortestFailingOutageMs({ failureThreshold, intervalMs, recheckIntervalMs })).toBe(expected);
  });
});

describe('failoverSentence', () => {
  it('says the tolerance the code computes', () => {
    expect(failoverSentence({ failureThreshold: 3, intervalMs: 2000, recheckIntervalMs: 200 })).toBe(
      'failover: an IP silent for longer than 0.4 s can be taken out of DNS; blips up to 0.4 s never change DNS ((failure_threshold − 1) × recheck_interval)',
    );
    expect(failoverSentence({ failureThreshold: 3, intervalMs: 2000, recheckIntervalMs: 0 })).toContain('silent for longer than 4 s');
  });
});
