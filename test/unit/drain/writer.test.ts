import { describe, expect, it } from 'vitest';
import type { DrainEntry } from '../../../src/drain/types.js';
import { drainStanding } from '../../../src/drain/writer.js';
import type { WriterStanding } from '../../../src/model.js';

const BASE: WriterStanding = { since: 100, designated: true, rank: 0 };
function entry(over: Partial<DrainEntry> = {}): DrainEntry {
  return { ip: '198.18.0.1', drained: true, at: 1_000, origin: 'agent-b', until: undefined, by: '', reason: '', source: 'operator', ...over };
}

describe('drainStanding: who writes the change a drain causes', () => {
  it.each<[string, DrainEntry | undefined, WriterStanding, string, string[], number, WriterStanding]>([
    // name, entry, base, self, connected, now, want
    ['no entry: the verdict standing', undefined, BASE, 'agent-a', ['agent-b'], 2_000, BASE],
    ['in force, origin is self: designated, since at', entry(), BASE, 'agent-b', ['agent-a', 'agent-c'], 2_000, { since: 1_000, designated: true, rank: 0 }],
    [
      'in force, origin connected: not designated, rank among the others',
      entry(),
      BASE,
      'agent-c',
      ['agent-a', 'agent-b'],
      2_000,
      { since: 1_000, designated: false, rank: 1 },
    ],
    [
      'in force, origin gone: the lowest id writes',
      entry({ origin: 'agent-x' }),
      BASE,
      'agent-a',
      ['agent-b'],
      2_000,
      { since: 1_000, designated: true, rank: 0 },
    ],
    [
      'in force, origin gone, not the lowest id',
      entry({ origin: 'agent-x' }),
      BASE,
      'agent-c',
      ['agent-b', 'agent-a'],
      2_000,
      { since: 1_000, designated: false, rank: 1 },
    ],
    [
      'maintenance (no agent origin): the lowest id',
      entry({ origin: 'maintenance:w1', source: 'maintenance' }),
      BASE,
      'agent-b',
      ['agent-c'],
      2_000,
      { since: 1_000, designated: true, rank: 0 },
    ],
    [
      'expired at until, verdict older: since until, origin writes',
      entry({ until: 1_500 }),
      BASE,
      'agent-b',
      ['agent-a'],
      2_000,
      { since: 1_500, designated: true, rank: 0 },
    ],
    [
      'undrained (tombstone): since the undrain, its origin writes',
      entry({ drained: false, at: 1_200, origin: 'agent-a' }),
      BASE,
      'agent-b',
      ['agent-a'],
      2_000,
      { since: 1_200, designated: false, rank: 0 },
    ],
    [
      'ended, but the verdict changed after: the verdict standing',
      entry({ until: 1_500 }),
      { since: 1_800, designated: false, rank: 2 },
      'agent-b',
      ['agent-a'],
      2_000,
      { since: 1_800, designated: false, rank: 2 },
    ],
    [
      'ended while the verdict is unknown: since the end',
      entry({ drained: false, at: 1_200 }),
      { since: undefined, designated: false, rank: 0 },
      'agent-b',
      [],
      2_000,
      { since: 1_200, designated: true, rank: 0 },
    ],
  ])('%s', (_name, e, base, self, connected, now, want) => {
    expect(drainStanding(e, base, self, connected, now)).toEqual(want);
  });

  it('every agent names the same writer', () => {
    const ids = ['agent-a', 'agent-b', 'agent-c'];
    for (const e of [entry(), entry({ origin: 'agent-x' }), entry({ drained: false, at: 1_200, origin: 'agent-c' })]) {
      const writers = ids.filter(
        (self) =>
          drainStanding(
            e,
            BASE,
            self,
            ids.filter((i) => i !== self),
            2_000,
          ).designated,
      );
      expect(writers).toHaveLength(1);
    }
  });
});
