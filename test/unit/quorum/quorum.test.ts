import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../../src/detect/detector.js';
import {
  agreeingRank,
  clusterVerdict,
  initialQuorum,
  isDesignatedWriter,
  step,
  supportedVerdict,
  type QuorumEvent,
  type QuorumOptions,
  type QuorumState,
} from '../../../src/quorum/quorum.js';

const IP = '203.0.113.1';
const OTHER = '203.0.113.2';
const FRESH = 10_000;

type Ev = [at: number, event: QuorumEvent];
const local = (verdict: Verdict, ip = IP): QuorumEvent => ({ type: 'local', ip, verdict });
const obs = (peer: string, verdict: Verdict, ip = IP, full = false): QuorumEvent => ({ type: 'observations', peer, observations: [{ ip, verdict }], full });

function run(events: Ev[], minPeersAgree: number, self = 'b'): { state: QuorumState; changes: Array<[number, Verdict, Verdict]> } {
  const opts: QuorumOptions = { minPeersAgree, freshnessMs: FRESH };
  let state = initialQuorum(self, [IP, OTHER]);
  const changes: Array<[number, Verdict, Verdict]> = [];
  for (const [at, ev] of events) {
    const r = step(state, ev, at, opts);
    for (const c of r.changes) if (c.ip === IP) changes.push([at, c.from, c.to]);
    state = r.state;
  }
  return { state, changes };
}

describe('quorum', () => {
  it.each([
    // name, min, events, final cluster verdict, changes
    [
      'min 0: own verdict alone decides',
      0,
      [
        [1, local('up')],
        [2, local('down')],
      ],
      'down',
      [
        [1, 'unknown', 'up'],
        [2, 'up', 'down'],
      ],
    ],
    ['min 0: unknown never decides', 0, [[1, local('unknown')]], 'unknown', []],
    ['min 1: alone, own down is not enough', 1, [[1, local('down')]], 'unknown', []],
    [
      'min 1: a peer agrees after → down',
      1,
      [
        [1, local('down')],
        [2, obs('a', 'down')],
      ],
      'down',
      [[2, 'unknown', 'down']],
    ],
    [
      'min 1: a peer agreed before → down when own turns',
      1,
      [
        [1, obs('a', 'down')],
        [2, local('down')],
      ],
      'down',
      [[2, 'unknown', 'down']],
    ],
    [
      'min 1: peer says up, own down → unchanged',
      1,
      [
        [1, obs('a', 'up')],
        [2, local('up')],
        [3, local('down')],
      ],
      'up',
      [[2, 'unknown', 'up']],
    ],
    [
      'min 1: stale agreement does not count',
      1,
      [
        [1, obs('a', 'down')],
        [1 + FRESH + 1, local('down')],
      ],
      'unknown',
      [],
    ],
    [
      'min 1: fresh at the edge counts',
      1,
      [
        [1, obs('a', 'down')],
        [1 + FRESH, local('down')],
      ],
      'down',
      [[1 + FRESH, 'unknown', 'down']],
    ],
    [
      'min 2: one peer is not enough',
      2,
      [
        [1, obs('a', 'down')],
        [2, local('down')],
      ],
      'unknown',
      [],
    ],
    [
      'min 2: duplicates from one peer are one vote',
      2,
      [
        [1, obs('a', 'down')],
        [2, obs('a', 'down')],
        [3, obs('a', 'down')],
        [4, local('down')],
      ],
      'unknown',
      [],
    ],
    [
      'min 2: two peers agree',
      2,
      [
        [1, obs('a', 'down')],
        [2, obs('c', 'down')],
        [3, local('down')],
      ],
      'down',
      [[3, 'unknown', 'down']],
    ],
    [
      'latest vote of a peer replaces its earlier one',
      1,
      [
        [1, obs('a', 'down')],
        [2, obs('a', 'up')],
        [3, local('down')],
      ],
      'unknown',
      [],
    ],
    [
      'a peer that left does not count',
      1,
      [
        [1, obs('a', 'down')],
        [2, { type: 'peer-left', peer: 'a' }],
        [3, local('down')],
      ],
      'unknown',
      [],
    ],
    [
      'own messages echoed back are ignored',
      1,
      [
        [1, obs('b', 'down')],
        [2, local('down')],
      ],
      'unknown',
      [],
    ],
    [
      'full state replaces all votes of the peer',
      1,
      [
        [1, obs('a', 'down')],
        [2, { type: 'observations', peer: 'a', observations: [{ ip: OTHER, verdict: 'up' }], full: true }],
        [3, local('down')],
      ],
      'unknown',
      [],
    ],
    [
      'partial update merges',
      1,
      [
        [1, obs('a', 'down')],
        [2, obs('a', 'up', OTHER)],
        [3, local('down')],
      ],
      'down',
      [[3, 'unknown', 'down']],
    ],
    [
      'recovery needs agreement too',
      1,
      [
        [1, obs('a', 'down')],
        [2, local('down')],
        [3, local('up')],
        [4, obs('a', 'up')],
      ],
      'up',
      [
        [2, 'unknown', 'down'],
        [4, 'down', 'up'],
      ],
    ],
    [
      'own verdict back to unknown (restart) keeps the cluster verdict',
      1,
      [
        [1, obs('a', 'down')],
        [2, local('down')],
        [3, local('unknown')],
        [4, obs('a', 'up')],
      ],
      'down',
      [[2, 'unknown', 'down']],
    ],
    [
      'observations of unmanaged IPs are ignored',
      1,
      [
        [1, obs('a', 'down', '198.51.100.7')],
        [2, local('down')],
      ],
      'unknown',
      [],
    ],
  ] as Array<[string, number, Ev[], Verdict, Array<[number, Verdict, Verdict]>]>)('%s', (_name, min, events, verdict, changes) => {
    const r = run(events, min);
    expect(clusterVerdict(r.state, IP).verdict).toBe(verdict);
    expect(r.changes).toEqual(changes);
  });

  it('records who agreed and since when', () => {
    const r = run(
      [
        [1, obs('c', 'down')],
        [2, obs('a', 'down')],
        [5, local('down')],
      ],
      1,
    );
    expect(clusterVerdict(r.state, IP)).toEqual({ verdict: 'down', since: 5, agreed: ['a', 'b', 'c'] });
  });

  it("a change says when each agreeing vote turned (the voter's since; unknown for a turn long ago)", () => {
    const opts: QuorumOptions = { minPeersAgree: 2, freshnessMs: FRESH };
    let s = initialQuorum('b', [IP]);
    // c: a full batch without turnedAt (turned long ago); b (self) turns at 6; a: a change batch sent at 3
    s = step(s, obs('c', 'down', IP, true), 5, opts).state;
    s = step(s, local('down'), 6, opts).state;
    const r = step(s, { type: 'observations', peer: 'a', observations: [{ ip: IP, verdict: 'down' }], full: false, sentAt: 3 }, 7, opts);
    expect(r.changes).toEqual([
      {
        ip: IP,
        from: 'unknown',
        to: 'down',
        agreed: ['a', 'b', 'c'],
        turned: [
          { agent: 'a', since: 3 },
          { agent: 'b', since: 6 },
          { agent: 'c', since: undefined },
        ],
      },
    ]);
  });

  it('a restarted agent starts unknown and changes nothing until it agrees', () => {
    // peers have been saying down for a while; this agent just started
    const r = run(
      [
        [1, obs('a', 'down')],
        [2, obs('c', 'down')],
      ],
      1,
    );
    expect(r.changes).toEqual([]);
    expect(clusterVerdict(r.state, IP).verdict).toBe('unknown');
  });

  it('tick re-evaluates with the current time but never reverts a verdict', () => {
    const opts = { minPeersAgree: 1, freshnessMs: FRESH };
    let s = initialQuorum('b', [IP]);
    s = step(s, obs('a', 'down'), 1, opts).state;
    s = step(s, local('down'), 2, opts).state;
    const later = step(s, { type: 'tick' }, 2 + 10 * FRESH, opts);
    expect(later.changes).toEqual([]);
    expect(clusterVerdict(later.state, IP).verdict).toBe('down');
  });

  it('targets: removed IPs are forgotten, new IPs start unknown', () => {
    const opts = { minPeersAgree: 0, freshnessMs: FRESH };
    let s = initialQuorum('b', [IP]);
    s = step(s, local('down'), 1, opts).state;
    const r = step(s, { type: 'targets', ips: [OTHER] }, 2, opts);
    expect(r.state.cluster.has(IP)).toBe(false);
    expect(r.state.local.has(IP)).toBe(false);
    expect(clusterVerdict(r.state, OTHER).verdict).toBe('unknown');
    expect(step(r.state, local('down'), 3, opts).changes).toEqual([]); // IP no longer managed
  });

  it('does not mutate the previous state', () => {
    const opts = { minPeersAgree: 0, freshnessMs: FRESH };
    const s0 = initialQuorum('b', [IP]);
    step(s0, local('down'), 1, opts);
    expect(s0.local.size).toBe(0);
    expect(s0.cluster.size).toBe(0);
  });
});

describe('supported verdict', () => {
  const opts = { minPeersAgree: 1, freshnessMs: FRESH };
  it.each([
    [
      'own down, a fresh peer agrees',
      [
        [1, obs('a', 'down')],
        [2, local('down')],
      ],
      3,
      'down',
    ],
    [
      'own down, the agreeing vote went stale',
      [
        [1, obs('a', 'down')],
        [2, local('down')],
      ],
      2 + FRESH,
      'unknown',
    ],
    [
      'own up while peers say down (sticky cluster verdict up): hold',
      [
        [1, obs('a', 'up')],
        [2, local('up')],
        [3, obs('a', 'down')],
      ],
      4,
      'unknown',
    ],
    ['own unknown', [[1, obs('a', 'down')]], 2, 'unknown'],
  ] as Array<[string, Ev[], number, Verdict]>)('%s → %s', (_n, events, at, expected) => {
    let s = initialQuorum('b', [IP]);
    for (const [t, e] of events) s = step(s, e, t, opts).state;
    expect(supportedVerdict(s, IP, at, opts)).toBe(expected);
  });
});

describe('one writer: the agent that completed the quorum', () => {
  /** Each agent's view: votes arrive in the order the agents' detectors flipped. */
  function view(self: string, flips: Array<[string, number]>, min: number, verdict: Verdict = 'down'): QuorumState {
    const opts = { minPeersAgree: min, freshnessMs: FRESH };
    let s = initialQuorum(self, [IP]);
    for (const [id, at] of flips) s = step(s, id === self ? local(verdict) : obs(id, verdict), at, opts).state;
    return s;
  }
  const flips: Array<[string, number]> = [
    ['c', 100],
    ['b', 500],
    ['a', 900],
  ];
  it.each([
    // min, flips, writer
    [1, flips, 'b'],
    [0, flips, 'c'],
    [2, flips, 'a'],
    [
      1,
      [
        ['a', 100],
        ['b', 100],
        ['c', 300],
      ] as Array<[string, number]>,
      'b',
    ], // a tie is broken by id
  ] as Array<[number, Array<[string, number]>, string]>)('min %d, flips %j → %s writes, and every agent agrees', (min, order, writer) => {
    const opts = { minPeersAgree: min, freshnessMs: FRESH };
    for (const self of ['a', 'b', 'c']) {
      expect(isDesignatedWriter(view(self, order, min), IP, 1000, opts), `${self}'s view`).toBe(self === writer);
    }
  });

  it('nobody writes without support', () => {
    const opts = { minPeersAgree: 1, freshnessMs: FRESH };
    expect(isDesignatedWriter(view('a', [['a', 100]], 1), IP, 1000, opts)).toBe(false);
  });

  it('when the writer goes stale the order moves on', () => {
    const opts = { minPeersAgree: 1, freshnessMs: FRESH };
    let s = view(
      'a',
      [
        ['c', 100],
        ['b', 500],
        ['a', 900],
      ],
      1,
    );
    expect(isDesignatedWriter(s, IP, 1000, opts)).toBe(false); // b completed the quorum
    s = step(s, { type: 'peer-left', peer: 'b' }, 1100, opts).state;
    expect(isDesignatedWriter(s, IP, 1200, opts)).toBe(true); // c then a: a completes it now
  });

  it('a refreshed vote (full state) keeps its place in the order', () => {
    const opts = { minPeersAgree: 1, freshnessMs: FRESH };
    let s = view(
      'a',
      [
        ['c', 100],
        ['b', 500],
        ['a', 900],
      ],
      1,
    );
    s = step(s, { type: 'observations', peer: 'c', observations: [{ ip: IP, verdict: 'down' }], full: true }, 5000, opts).state;
    expect(isDesignatedWriter(s, IP, 5000, opts)).toBe(false);
  });
});

describe('locals (a whole probe round at once)', () => {
  it('gives the same result as one local event per IP', () => {
    const opts = { minPeersAgree: 0, freshnessMs: FRESH };
    const one = step(step(initialQuorum('b', [IP, OTHER]), local('down', IP), 5, opts).state, local('up', OTHER), 5, opts).state;
    const batch = step(
      initialQuorum('b', [IP, OTHER]),
      {
        type: 'locals',
        votes: [
          { ip: IP, verdict: 'down' },
          { ip: OTHER, verdict: 'up' },
        ],
      },
      5,
      opts,
    );
    expect(batch.state.local).toEqual(one.local);
    expect(batch.state.cluster).toEqual(one.cluster);
    expect(batch.changes.map((c) => [c.ip, c.to])).toEqual([
      [IP, 'down'],
      [OTHER, 'up'],
    ]);
  });

  it('handles 20,000 IPs in one round without quadratic work', () => {
    const opts = { minPeersAgree: 0, freshnessMs: FRESH };
    const ips = Array.from({ length: 20_000 }, (_, i) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
    const r = step(initialQuorum('b', ips), { type: 'locals', votes: ips.map((ip) => ({ ip, verdict: 'up' as const })) }, 1, opts);
    expect(r.changes).toHaveLength(20_000);
  }, 20_000);
});

describe('one writer when two agents turn within the gossip delay', () => {
  it('orders peer votes by when they turned at the sender (sentAt), so exactly one of them writes', () => {
    const opts = { minPeersAgree: 1, freshnessMs: FRESH };
    const delay = 3; // gossip latency
    // a turns at t=1000, b at t=1002; each learns of the other 3 ms later
    let a = initialQuorum('a', [IP]);
    a = step(a, local('down'), 1000, opts).state;
    a = step(a, { type: 'observations', peer: 'b', observations: [{ ip: IP, verdict: 'down' }], full: false, sentAt: 1002 }, 1002 + delay, opts).state;
    let b = initialQuorum('b', [IP]);
    b = step(b, local('down'), 1002, opts).state;
    b = step(b, { type: 'observations', peer: 'a', observations: [{ ip: IP, verdict: 'down' }], full: false, sentAt: 1000 }, 1000 + delay, opts).state;
    const writers = [isDesignatedWriter(a, IP, 1010, opts), isDesignatedWriter(b, IP, 1010, opts)];
    expect(writers).toEqual([false, true]); // b completed the quorum in both views
  });

  it('a sender clock ahead of ours is clamped to the arrival time', () => {
    const opts = { minPeersAgree: 1, freshnessMs: FRESH };
    let s = initialQuorum('b', [IP]);
    s = step(s, { type: 'observations', peer: 'a', observations: [{ ip: IP, verdict: 'down' }], full: false, sentAt: 99_999 }, 50, opts).state;
    expect(s.votes.get('a')!.get(IP)!.since).toBe(50);
  });

  it('non-writers are ranked by id so they never fall back at the same moment', () => {
    const opts = { minPeersAgree: 1, freshnessMs: FRESH };
    let s = initialQuorum('b', [IP]);
    s = step(s, obs('a', 'down'), 1, opts).state;
    s = step(s, obs('c', 'down'), 1, opts).state;
    s = step(s, local('down'), 2, opts).state;
    expect(agreeingRank(s, IP, 3, opts)).toBe(1);
  });
});

describe("one writer after a healed partition (each side missed the other's change message)", () => {
  const opts = { minPeersAgree: 1, freshnessMs: FRESH };
  const HEAL = 100_000;
  /**
   * a and b both saw IP go down while cut off from each other, at `turnA`
   * and `turnB`; after the heal each learns the other's vote from a full
   * batch, which carries the turn time only when it is recent (as the agent
   * publishes it).
   */
  function healedView(self: 'a' | 'b', turnA: number, turnB: number): QuorumState {
    const other = self === 'a' ? 'b' : 'a';
    const [own, theirs] = self === 'a' ? [turnA, turnB] : [turnB, turnA];
    const sentAt = HEAL + (self === 'a' ? 7 : 3);
    let s = initialQuorum(self, [IP]);
    s = step(s, local('down'), own, opts).state;
    const observation = { ip: IP, verdict: 'down' as const, ...(theirs >= sentAt - FRESH ? { turnedAt: theirs } : {}) };
    s = step(s, { type: 'observations', peer: other, observations: [observation], full: true, sentAt }, sentAt + 2, opts).state;
    return s;
  }
  it.each([
    ['both turned long before the heal (older than the freshness window): ties go by id', HEAL - 40_000, HEAL - 30_000, 'b'],
    ['both turned recently: the full batches carry the turn times', HEAL - 5000, HEAL - 4000, 'b'],
    ['b turned first, recently', HEAL - 4000, HEAL - 5000, 'a'],
    ['a turned long ago, b recently', HEAL - 60_000, HEAL - 2000, 'b'],
  ] as Array<[string, number, number, string]>)('%s → exactly one writer', (_name, turnA, turnB, writer) => {
    const now = HEAL + 20;
    const writers = (['a', 'b'] as const).filter((self) => isDesignatedWriter(healedView(self, turnA, turnB), IP, now, opts));
    expect(writers).toEqual([writer]);
  });
});
