import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../../src/detect/detector.js';
import { effectiveVote, selfCheck } from '../../../src/detect/selfcheck.js';
import type { SelfCheckState } from '../../../src/events.js';

const v = (s: string): Verdict[] => [...s].map((c) => (c === 'd' ? 'down' : c === 'u' ? 'up' : 'unknown'));

describe('selfCheck', () => {
  it.each([
    // targets, canaries, min targets, share, state
    ['uuuu', '', 4, 0.5, 'healthy'],
    ['dduu', '', 4, 0.5, 'healthy'], // exactly half is not more than half
    ['dddu', '', 4, 0.5, 'too-many-down'],
    ['dddd', '', 4, 0.5, 'too-many-down'],
    ['ddd', '', 4, 0.5, 'healthy'], // fewer targets than freeze_min_targets: rule off
    ['dd', '', 1, 0.5, 'too-many-down'],
    ['d?uu', '', 4, 0.2, 'too-many-down'],
    ['????', '', 4, 0.5, 'healthy'], // unknown is not down
    ['uuuu', 'd', 4, 0.5, 'canaries-failing'],
    ['uuuu', 'du', 4, 0.5, 'healthy'], // one canary still answers
    ['uuuu', 'dd', 4, 0.5, 'canaries-failing'],
    ['uuuu', '?', 4, 0.5, 'healthy'], // a canary not yet known is not failing
    ['dddd', 'd', 4, 0.5, 'canaries-failing'], // canaries take precedence in the report
  ] as Array<[string, string, number, number, SelfCheckState]>)('targets %s canaries %s (min %d, share %d) → %s', (t, c, min, share, state) => {
    expect(selfCheck({ targets: v(t), canaries: v(c), freezeMinTargets: min, freezeShare: share }).state).toBe(state);
  });

  it.each([
    // targets, canaries, no-observation reasons of the last round, state, detail
    ['uuuu', '', 'EMFILE', 'no-observations', 'no probe could be sent: EMFILE'],
    ['dddd', 'd', 'EMFILE, ENOBUFS', 'no-observations', 'no probe could be sent: EMFILE, ENOBUFS'], // before the canaries and the share rule
    ['????', '', 'round-failed', 'no-observations', 'no probe could be sent: round-failed'],
    ['uuuu', '', undefined, 'healthy', 'ok'], // observations are back
    ['dddu', '', undefined, 'too-many-down', '3 of 4 IPs look down at once (more than 50%)'],
  ] as Array<[string, string, string | undefined, SelfCheckState, string]>)(
    'targets %s canaries %s, last round unobserved: %s → %s',
    (t, c, none, state, detail) => {
      expect(selfCheck({ targets: v(t), canaries: v(c), freezeMinTargets: 4, freezeShare: 0.5, noObservation: none })).toEqual({ state, detail });
    },
  );

  it.each([
    ['down', 'healthy', 'down'],
    ['down', 'canaries-failing', 'unknown'],
    ['down', 'too-many-down', 'unknown'],
    ['down', 'no-observations', 'unknown'],
    ['up', 'no-observations', 'up'],
    ['up', 'canaries-failing', 'up'],
    ['up', 'too-many-down', 'up'],
    ['unknown', 'healthy', 'unknown'],
  ] as Array<[Verdict, SelfCheckState, Verdict]>)('a %s verdict while %s votes %s', (verdict, state, vote) => {
    expect(effectiveVote(verdict, state)).toBe(vote);
  });
});
