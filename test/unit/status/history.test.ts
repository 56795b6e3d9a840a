import { describe, expect, it } from 'vitest';
import type { DrainEntry } from '../../../src/drain/types.js';
import type { ProbeResult } from '../../../src/probe/types.js';
import { EVENT_CAPACITY, History, RTT_ROUNDS } from '../../../src/status/history.js';

const T = 1_700_000_000_000;
const DRAIN: DrainEntry = { ip: '198.18.0.1', drained: true, at: T, origin: 'agent-b', until: undefined, by: 'alice', reason: 'kernel', source: 'operator' };

describe('History: events', () => {
  it.each([
    [
      'local verdict',
      (h: History) => h.localVerdict({ ip: '192.0.2.1', from: 'up', to: 'down', at: T }),
      'local-verdict',
      '192.0.2.1',
      'local verdict: 192.0.2.1 up → down',
    ],
    [
      'cluster verdict',
      (h: History) => h.clusterVerdict({ ip: '192.0.2.1', from: 'up', to: 'down', agreed: ['a', 'self'], at: T }),
      'cluster-verdict',
      '192.0.2.1',
      'cluster verdict: 192.0.2.1 up → down (agreed: a, self)',
    ],
    [
      'cluster verdict nobody agreed on',
      (h: History) => h.clusterVerdict({ ip: '192.0.2.1', from: 'down', to: 'unknown', agreed: [], at: T }),
      'cluster-verdict',
      '192.0.2.1',
      'cluster verdict: 192.0.2.1 down → unknown',
    ],
    [
      'DNS write',
      (h: History) =>
        h.dnsChange({
          op: 'create',
          type: 'A',
          hostname: 'www.example.com',
          ip: '192.0.2.1',
          dryRun: false,
          summary: 'add A www.example.com 192.0.2.1',
          at: T,
        }),
      'dns-change',
      '192.0.2.1',
      'add A www.example.com 192.0.2.1',
    ],
    [
      'DNS write in dry-run',
      (h: History) =>
        h.dnsChange({
          op: 'delete',
          type: 'A',
          hostname: 'www.example.com',
          ip: '192.0.2.1',
          dryRun: true,
          summary: 'remove A www.example.com 192.0.2.1',
          at: T,
        }),
      'dns-change',
      '192.0.2.1',
      'would remove A www.example.com 192.0.2.1 (dry-run)',
    ],
    [
      'held removals',
      (h: History) =>
        h.heldRemovals({
          held: [
            { type: 'A', hostname: 'www.example.com', ip: '192.0.2.1' },
            { type: 'A', hostname: 'www.example.com', ip: '192.0.2.2' },
          ],
          at: T,
        }),
      'held',
      undefined,
      'removal held back (last record of a hostname is never removed): A www.example.com 192.0.2.1; A www.example.com 192.0.2.2',
    ],
    ['held removals released', (h: History) => h.heldRemovals({ held: [], at: T }), 'held', undefined, 'no removal is held back any more'],
    [
      'self-check',
      (h: History) => h.selfCheck({ from: 'healthy', to: 'canaries-failing', detail: '2 of 2 canaries down', at: T }),
      'self-check',
      undefined,
      'self-check: healthy → canaries-failing (2 of 2 canaries down)',
    ],
    ['reload', (h: History) => h.configReload({ ok: true, at: T }), 'reload', undefined, 'config reloaded'],
    [
      'drain set here',
      (h: History) => h.drainChange({ entry: { ...DRAIN, until: T + 3_600_000 }, change: 'drained', local: true, at: T }),
      'drain',
      '198.18.0.1',
      'drained 198.18.0.1 by alice until 2023-11-14T23:13:20.000Z: kernel',
    ],
    [
      'drain heard from a peer, open-ended',
      (h: History) => h.drainChange({ entry: DRAIN, change: 'drained', local: false, at: T }),
      'drain',
      '198.18.0.1',
      'drained 198.18.0.1 by alice until undrained: kernel (set on agent-b)',
    ],
    [
      'undrain',
      (h: History) => h.drainChange({ entry: { ...DRAIN, drained: false, by: 'bob', reason: '' }, change: 'undrained', local: true, at: T }),
      'drain',
      '198.18.0.1',
      'undrained 198.18.0.1 by bob',
    ],
    [
      'drain ended',
      (h: History) => h.drainChange({ entry: DRAIN, change: 'expired', local: false, at: T }),
      'drain',
      '198.18.0.1',
      'drain of 198.18.0.1 ended (its time was up)',
    ],
    [
      'failed reload',
      (h: History) => h.configReload({ ok: false, error: 'x.toml: interval: must be > 0', at: T }),
      'reload',
      undefined,
      'config reload failed, still on the previous config: x.toml: interval: must be > 0',
    ],
  ] as const)('%s', (_name, act, kind, ip, text) => {
    const h = new History();
    act(h);
    const e = { seq: 1, at: T, kind, text, ...(ip === undefined ? {} : { ip }) };
    expect(h.document(T + 1)).toEqual({ now: T + 1, events: [e], dropped: 0, rtt: {} });
  });

  it('keeps the last EVENT_CAPACITY events in order, numbered, and counts the dropped', () => {
    const h = new History();
    for (let i = 0; i < EVENT_CAPACITY + 5; i++) h.configReload({ ok: true, at: T + i });
    const d = h.document(T);
    expect(d.events).toHaveLength(EVENT_CAPACITY);
    expect(d.dropped).toBe(5);
    expect(d.events[0]).toMatchObject({ seq: 6, at: T + 5 });
    expect(d.events.at(-1)).toMatchObject({ seq: EVENT_CAPACITY + 5 });
  });
});

describe('History: RTT samples', () => {
  const ok = (ip: string, rttMs: number): ProbeResult => ({ ip, ok: true, rttMs });
  const miss = (ip: string): ProbeResult => ({ ip, ok: false, error: 'timeout' });
  const local = (ip: string): ProbeResult => ({ ip, ok: false, local: 'EMFILE', error: 'EMFILE' });

  it.each([
    ['one answer', [[ok('a', 0.5)]], { a: [[T, 0.5]] }],
    [
      'a miss is null',
      [[ok('a', 1)], [miss('a')]],
      {
        a: [
          [T, 1],
          [T + 1000, null],
        ],
      },
    ],
    [
      'no observation (local error) is left out',
      [[ok('a', 1)], [local('a')], [ok('a', 2)]],
      {
        a: [
          [T, 1],
          [T + 2000, 2],
        ],
      },
    ],
    [
      'an IP added later starts with its first round',
      [[ok('a', 1)], [ok('a', 1), ok('b', 3)]],
      {
        a: [
          [T, 1],
          [T + 1000, 1],
        ],
        b: [[T + 1000, 3]],
      },
    ],
    [
      'an IP absent from a round has no sample for it',
      [[ok('a', 1), ok('b', 3)], [ok('a', 1)], [ok('a', 1), ok('b', 4)]],
      {
        a: [
          [T, 1],
          [T + 1000, 1],
          [T + 2000, 1],
        ],
        b: [
          [T, 3],
          [T + 2000, 4],
        ],
      },
    ],
    ['rounded to the microsecond', [[ok('a', 0.123456)]], { a: [[T, 0.123]] }],
  ] as const)('%s', (_name, rounds, want) => {
    const h = new History();
    rounds.forEach((r, i) => h.probeRound(r, T + i * 1000));
    expect(h.document(T).rtt).toEqual(want);
  });

  it('keeps the last RTT_ROUNDS rounds, and forgets an IP absent for a whole window', () => {
    const h = new History();
    for (let i = 0; i < RTT_ROUNDS + 10; i++) h.probeRound(i < 5 ? [ok('a', i), ok('gone', 1)] : [ok('a', i)], T + i);
    const rtt = h.document(T).rtt;
    expect(rtt.a).toHaveLength(RTT_ROUNDS);
    expect(rtt.a![0]).toEqual([T + 10, 10]);
    expect(rtt.a!.at(-1)).toEqual([T + RTT_ROUNDS + 9, RTT_ROUNDS + 9]);
    expect(rtt).not.toHaveProperty('gone');
  });

  it('a window of 3: the oldest sample goes first', () => {
    const h = new History({ rttRounds: 3 });
    for (let i = 0; i < 5; i++) h.probeRound([i === 3 ? miss('a') : ok('a', i)], T + i);
    expect(h.document(T).rtt).toEqual({
      a: [
        [T + 2, 2],
        [T + 3, null],
        [T + 4, 4],
      ],
    });
  });
});
