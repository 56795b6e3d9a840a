import { describe, expect, it } from 'vitest';
import { INITIAL, step, type TargetState, type Verdict } from '../../../src/detect/detector.js';

const T = { failureThreshold: 3, recoveryThreshold: 2 };

/** A probe that could not be sent (EMFILE...): no observation. */
const NONE = { ok: false, local: 'EMFILE', error: 'no probe sent: connect EMFILE 127.0.0.1:80' } as const;

/** Feed a string of probe outcomes ('o' ok, 'x' miss, '-' no observation) one per second from t=1000. */
function run(outcomes: string, from: TargetState = INITIAL, t = T): { state: TargetState; changes: Array<[number, Verdict, Verdict]> } {
  let state = from;
  const changes: Array<[number, Verdict, Verdict]> = [];
  [...outcomes].forEach((c, i) => {
    const now = 1000 * (i + 1);
    const event = c === '-' ? NONE : { ok: c === 'o', rttMs: c === 'o' ? 1.5 : undefined, error: c === 'o' ? undefined : 'timeout' };
    const r = step(state, event, now, t);
    if (r.changedFrom !== undefined) changes.push([now, r.changedFrom, r.state.verdict]);
    state = r.state;
  });
  return { state, changes };
}

describe('detector', () => {
  it.each([
    // outcomes, final verdict, verdict changes [at, from, to]
    ['', 'unknown', []],
    ['x', 'unknown', []],
    ['xx', 'unknown', []],
    ['xxx', 'down', [[3000, 'unknown', 'down']]],
    ['o', 'unknown', []],
    ['oo', 'up', [[2000, 'unknown', 'up']]],
    ['xoxoxo', 'unknown', []],
    ['ooxx', 'up', [[2000, 'unknown', 'up']]],
    [
      'ooxxx',
      'down',
      [
        [2000, 'unknown', 'up'],
        [5000, 'up', 'down'],
      ],
    ],
    [
      'ooxxxxxx',
      'down',
      [
        [2000, 'unknown', 'up'],
        [5000, 'up', 'down'],
      ],
    ],
    [
      'ooxxxo',
      'down',
      [
        [2000, 'unknown', 'up'],
        [5000, 'up', 'down'],
      ],
    ],
    [
      'ooxxxoo',
      'up',
      [
        [2000, 'unknown', 'up'],
        [5000, 'up', 'down'],
        [7000, 'down', 'up'],
      ],
    ],
    [
      'ooxxxoxoo',
      'up',
      [
        [2000, 'unknown', 'up'],
        [5000, 'up', 'down'],
        [9000, 'down', 'up'],
      ],
    ],
    ['ooxxoxxo', 'up', [[2000, 'unknown', 'up']]],
    // no observation ('-'): neither a miss nor a success, and the streak goes on across it
    ['-', 'unknown', []],
    ['---------', 'unknown', []],
    ['oo---------', 'up', [[2000, 'unknown', 'up']]], // a healthy IP stays up however long no probe can be sent
    ['ooxx-----', 'up', [[2000, 'unknown', 'up']]], // two misses, then nothing: still up, not a third miss
    [
      'ooxx--x',
      'down',
      [
        [2000, 'unknown', 'up'],
        [7000, 'up', 'down'],
      ],
    ], // x x - - x: three consecutive misses
    ['o-o', 'up', [[3000, 'unknown', 'up']]], // o - o: two consecutive successes
    ['xx-', 'unknown', []],
    ['xx-x', 'down', [[4000, 'unknown', 'down']]],
    [
      'ooxxx---',
      'down',
      [
        [2000, 'unknown', 'up'],
        [5000, 'up', 'down'],
      ],
    ], // down stays down
    [
      'ooxxx-o-o',
      'up',
      [
        [2000, 'unknown', 'up'],
        [5000, 'up', 'down'],
        [9000, 'down', 'up'],
      ],
    ],
  ] as Array<[string, Verdict, Array<[number, Verdict, Verdict]>]>)('%j → %s', (outcomes, verdict, changes) => {
    const r = run(outcomes);
    expect(r.state.verdict).toBe(verdict);
    expect(r.changes).toEqual(changes);
  });

  it('counts consecutive misses and successes and resets the other', () => {
    const a = run('ooxx').state;
    expect(a).toMatchObject({ misses: 2, successes: 0, lastError: 'timeout', lastRttMs: 1.5, lastProbeAt: 4000, since: 2000 });
    const b = run('ooxxo').state;
    expect(b).toMatchObject({ misses: 0, successes: 1, lastError: undefined });
  });

  it('no observation returns the state untouched: counters, last probe time, last error and RTT', () => {
    const before = run('ooxx').state;
    const r = step(before, NONE, 99_000, T);
    expect(r.changedFrom).toBeUndefined();
    expect(r.state).toBe(before);
    expect(r.state).toMatchObject({ misses: 2, successes: 0, lastProbeAt: 4000, lastError: 'timeout', lastRttMs: 1.5 });
    // threshold 1: still not a miss
    expect(step(INITIAL, NONE, 1, { failureThreshold: 1, recoveryThreshold: 1 }).state).toBe(INITIAL);
  });

  it('threshold 1 flips on a single probe', () => {
    expect(run('x', INITIAL, { failureThreshold: 1, recoveryThreshold: 1 }).changes).toEqual([[1000, 'unknown', 'down']]);
    expect(run('xo', INITIAL, { failureThreshold: 1, recoveryThreshold: 1 }).state.verdict).toBe('up');
  });

  it('since marks the start of the current verdict, not the last probe', () => {
    const s = run('ooooo').state;
    expect(s.since).toBe(2000);
    expect(s.lastProbeAt).toBe(5000);
  });

  it('does not mutate its input', () => {
    const before = { ...INITIAL };
    step(INITIAL, { ok: false }, 1, T);
    expect(INITIAL).toEqual(before);
  });
});
