import { describe, expect, it } from 'vitest';
import { INITIAL } from '../../../src/detect/detector.js';
import { initialQuorum, step, type ClusterVerdict } from '../../../src/quorum/quorum.js';
import type { DrainEntry } from '../../../src/drain/types.js';
import { agentStatus, whyOut } from '../../../src/status/view.js';

describe('status view: why an IP is out of DNS', () => {
  const T = Date.UTC(2026, 0, 2, 3, 4, 5);
  const down: ClusterVerdict = { verdict: 'down', since: T, agreed: ['a', 'self'] };
  const up: ClusterVerdict = { verdict: 'up', since: T, agreed: ['self'] };
  const unknown: ClusterVerdict = { verdict: 'unknown', since: undefined, agreed: [] };
  const cases: Array<[string, Record<string, boolean | undefined>, ClusterVerdict, string | undefined]> = [
    ['in DNS everywhere', { www: true, api: true }, down, undefined],
    ['not read yet', { www: undefined }, down, undefined],
    ['no hostname', {}, down, undefined],
    ['out, down', { www: true, api: false }, down, 'down by agreement of a, self since 2026-01-02T03:04:05.000Z'],
    ['out, up', { www: false }, up, 'up: the record will be (re)created on the next reconcile'],
    ['out, unknown', { www: false }, unknown, 'not seen in DNS; verdict unknown so goavail leaves it as it is'],
  ];
  for (const [name, inDns, cluster, why] of cases) {
    it(name, () => expect(whyOut(inDns, cluster, T + 1000)).toBe(why));
  }

  const drain: DrainEntry = {
    ip: '198.18.0.1',
    drained: true,
    at: T,
    origin: 'agent-b',
    until: T + 3_600_000,
    by: 'alice@host',
    reason: 'kernel',
    source: 'operator',
  };
  const DRAINED = 'drained by alice@host since 2026-01-02T03:04:05.000Z, until 2026-01-02T04:04:05.000Z (kernel)';
  const drainCases: Array<[string, Record<string, boolean | undefined>, DrainEntry, string]> = [
    ['drained, out (the cluster says up)', { www: false }, drain, DRAINED],
    ['drained, still in DNS', { www: true }, drain, `${DRAINED}; still in DNS (keep-last keeps the last record, or the next reconcile removes it)`],
    ['drained, not read yet', { www: undefined }, drain, DRAINED],
    [
      'drained until undrained, no reason, no by',
      { www: false },
      { ...drain, until: undefined, reason: '', by: '' },
      'drained by agent-b since 2026-01-02T03:04:05.000Z, until undrained',
    ],
    ['a maintenance window', { www: false }, { ...drain, source: 'maintenance', by: '' }, DRAINED.replace('alice@host', 'a maintenance window')],
  ];
  for (const [name, inDns, d, why] of drainCases) {
    it(name, () => expect(whyOut(inDns, up, T + 1000, d)).toBe(why));
  }
});

describe('status view: agentStatus', () => {
  it('builds the view from plain observer and controller state', () => {
    const now = 50_000;
    let quorum = initialQuorum('self', ['192.0.2.1', '192.0.2.2']);
    quorum = step(quorum, { type: 'observations', peer: 'p1', observations: [{ ip: '192.0.2.1', verdict: 'down' }], full: false }, 10_000, {
      minPeersAgree: 1,
      freshnessMs: 30_000,
    }).state;
    const s = agentStatus(
      { dryRun: true, startedAt: 1, configFile: '/etc/goavail.toml', running: true },
      {
        id: 'self',
        lastRoundAt: 49_000,
        intervalMs: 1000,
        minPeersAgree: 1,
        freshnessMs: 30_000,
        selfCheck: { state: 'healthy', since: undefined, detail: 'ok' },
        targets: new Map([
          ['192.0.2.1', { ...INITIAL, verdict: 'down' as const }],
          ['192.0.2.2', INITIAL],
        ]),
        votes: new Map([['192.0.2.1', 'unknown' as const]]),
        canaries: new Map([['192.0.2.9', INITIAL]]),
        quorum,
        peers: [],
      },
      {
        hostnames: ['www.example.com'],
        lastRead: new Map([['www.example.com', new Set(['192.0.2.2'])]]),
        lastActions: new Map([['192.0.2.2', { summary: 'would add A www.example.com 192.0.2.2', at: 7 }]]),
        lastReconcile: { at: 8, ok: true, changes: [] },
        consecutiveReconcileFailures: 0,
        held: [],
      },
      now,
    );
    expect(Object.keys(s)).toEqual([
      'id',
      'dryRun',
      'startedAt',
      'configFile',
      'running',
      'lastRoundAt',
      'intervalMs',
      'minPeersAgree',
      'freshnessMs',
      'selfCheck',
      'targets',
      'canaries',
      'peers',
      'lastReconcile',
      'consecutiveReconcileFailures',
      'held',
    ]);
    expect(s.targets.map((t) => [t.ip, t.vote, t.inDns, t.why])).toEqual([
      ['192.0.2.1', 'unknown', { 'www.example.com': false }, 'not seen in DNS; verdict unknown so goavail leaves it as it is'],
      ['192.0.2.2', 'unknown', { 'www.example.com': true }, undefined],
    ]);
    expect(s.targets[0]!.peers).toEqual([{ peer: 'p1', verdict: 'down', ageMs: 40_000, fresh: false }]);
    expect(s.targets[1]!.lastAction).toEqual({ summary: 'would add A www.example.com 192.0.2.2', at: 7 });
    expect(s.canaries).toEqual([{ ip: '192.0.2.9', state: INITIAL }]);
  });
});

describe('status view: a suspect IP', () => {
  it('shows its recheck episode and streak; absent otherwise', () => {
    const quorum = initialQuorum('self', ['192.0.2.1', '192.0.2.2']);
    const s = agentStatus(
      { dryRun: true, startedAt: 1, configFile: '/etc/goavail.toml', running: true },
      {
        id: 'self',
        lastRoundAt: 9_000,
        intervalMs: 2000,
        minPeersAgree: 0,
        freshnessMs: 30_000,
        selfCheck: { state: 'healthy', since: undefined, detail: 'ok' },
        targets: new Map([
          ['192.0.2.1', { ...INITIAL, verdict: 'up' as const, misses: 2 }],
          ['192.0.2.2', { ...INITIAL, verdict: 'up' as const }],
        ]),
        rechecks: new Map([
          [
            '192.0.2.1',
            { direction: 'down' as const, cause: 'suspect' as const, since: 9_500, nextAt: 10_100, inFlight: 2, sent: 2, stopping: false, roundInFlight: true },
          ],
        ]),
        votes: new Map(),
        canaries: new Map(),
        quorum,
        peers: [],
      },
      { hostnames: [], lastRead: undefined, lastActions: new Map(), lastReconcile: undefined, consecutiveReconcileFailures: 0, held: [] },
      10_000,
    );
    expect(s.targets[0]?.suspect).toEqual({ direction: 'down', cause: 'suspect', sinceMs: 500, rechecksSent: 2, inFlight: 2, streak: 2 });
    expect(s.targets[1]).not.toHaveProperty('suspect');
  });
});

describe('status view: drains', () => {
  it('each target shows its drain (or null), /status lists them, and the real cluster verdict stays', () => {
    const d: DrainEntry = { ip: '198.18.0.1', drained: true, at: 1_000, origin: 'agent-b', until: undefined, by: 'alice', reason: 'r', source: 'operator' };
    const tomb: DrainEntry = { ...d, ip: '198.18.0.2', drained: false, until: 90_000 };
    const quorum = initialQuorum('self', ['198.18.0.1', '198.18.0.2']);
    const s = agentStatus(
      { dryRun: false, startedAt: 1, configFile: '/etc/goavail.toml', running: true },
      {
        id: 'self',
        lastRoundAt: undefined,
        intervalMs: 1000,
        minPeersAgree: 0,
        freshnessMs: 30_000,
        selfCheck: { state: 'healthy', since: undefined, detail: 'ok' },
        targets: new Map([
          ['198.18.0.1', INITIAL],
          ['198.18.0.2', INITIAL],
        ]),
        votes: new Map(),
        canaries: new Map(),
        quorum,
        peers: [],
      },
      { hostnames: ['www.example.com'], lastRead: undefined, lastActions: new Map(), lastReconcile: undefined, consecutiveReconcileFailures: 0, held: [] },
      2_000,
      { active: new Map([[d.ip, d]]), list: [d, tomb] },
    );
    expect(s.targets.map((t) => t.drained)).toEqual([{ by: 'alice', at: 1_000, until: null, reason: 'r', source: 'operator' }, null]);
    expect(s.targets[0]!.cluster.verdict).toBe('unknown');
    expect(s.drains).toEqual([d, tomb]);
  });
});
