import { describe, expect, it } from 'vitest';
import type { TargetStatus } from '../../../src/status/view.js';
import { emptyDropCounts } from '../../../src/gossip/validate.js';
import {
  ago,
  formatDuration,
  formatRtt,
  hostnameHeaders,
  nullForUndefined,
  renderStatus,
  shortId,
  summarizePeerVotes,
  table,
  type StatusDocument,
} from '../../../src/status/render.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const P1 = '12D3KooWAbCdEfGhIjKlMnOpQrStUvWxYz0123456789ab';
const P2 = '12D3KooWZyXwVuTsRqPoNmLkJiHgFeDcBa9876543210cd';

const target = (over: Partial<TargetStatus> & { ip: string }): TargetStatus => ({
  local: { verdict: 'up', misses: 0, successes: 9, since: NOW - 60_000, lastProbeAt: NOW - 500, lastRttMs: 0.123, lastError: undefined },
  vote: 'up',
  peers: [],
  cluster: { verdict: 'up', since: NOW - 60_000, agreed: ['self'] },
  inDns: { 'www.example.com': true, 'api.example.com': true },
  lastAction: undefined,
  why: undefined,
  ...over,
});

/** Three agents; 198.18.0.9 is down by agreement and out of DNS, 127.0.0.2 unknown locally. */
const FIXTURE: StatusDocument = {
  id: 'self-agent-id-1234567890',
  dryRun: true,
  startedAt: NOW - 303_000,
  configFile: '/etc/goavail/goavail.toml',
  running: true,
  lastRoundAt: NOW - 400,
  intervalMs: 2000,
  minPeersAgree: 1,
  freshnessMs: 17_000,
  selfCheck: { state: 'healthy', since: undefined, detail: 'ok' },
  targets: [
    target({
      ip: '127.0.0.1',
      peers: [
        { peer: P1, verdict: 'up', ageMs: 1000, fresh: true },
        { peer: P2, verdict: 'up', ageMs: 2000, fresh: true },
      ],
    }),
    target({
      ip: '198.18.0.9',
      local: { verdict: 'down', misses: 12, successes: 0, since: NOW - 20_000, lastProbeAt: NOW - 400, lastRttMs: undefined, lastError: 'timeout' },
      vote: 'down',
      peers: [
        { peer: P1, verdict: 'down', ageMs: 1000, fresh: true },
        { peer: P2, verdict: 'down', ageMs: 30_000, fresh: false },
      ],
      cluster: { verdict: 'down', since: NOW - 18_000, agreed: ['self', P1] },
      inDns: { 'www.example.com': false, 'api.example.com': false },
      lastAction: { summary: 'would remove A www.example.com 198.18.0.9', at: NOW - 17_000 },
      why: `down by agreement of self, ${P1} since 2025-01-01T11:59:42.000Z`,
    }),
    target({
      ip: '127.0.0.2',
      local: { verdict: 'unknown', misses: 1, successes: 0, since: undefined, lastProbeAt: NOW - 400, lastRttMs: undefined, lastError: 'timeout' },
      vote: 'unknown',
      peers: [
        { peer: P1, verdict: 'down', ageMs: 1000, fresh: true },
        { peer: P2, verdict: 'up', ageMs: 1000, fresh: true },
      ],
      cluster: { verdict: 'unknown', since: undefined, agreed: [] },
      inDns: { 'www.example.com': true, 'api.example.com': undefined },
    }),
  ],
  canaries: [
    { ip: '127.0.0.9', state: { verdict: 'up', misses: 0, successes: 4, since: NOW - 5000, lastProbeAt: NOW - 400, lastRttMs: 0.05, lastError: undefined } },
  ],
  peers: [
    { id: P1, addr: '127.0.0.1:7001', connected: true, lastHeard: NOW - 1000 },
    { id: undefined, addr: '127.0.0.1:7002', connected: false, lastHeard: undefined },
  ],
  lastReconcile: { at: NOW - 12_000, ok: true, changes: [] },
  consecutiveReconcileFailures: 0,
  held: [],
  now: NOW,
  gossipDrops: { ...emptyDropCounts(), 'bad-tag': 3, replayed: 1 },
};

/** The document as the CLI gets it: through JSON, undefined became null. */
const viaJson = (doc: StatusDocument): StatusDocument => JSON.parse(JSON.stringify(doc, nullForUndefined)) as StatusDocument;

describe('renderStatus on a fixed document', () => {
  const text = renderStatus(viaJson(FIXTURE));
  const lines = text.split('\n');
  const row = (ip: string) => lines.find((l) => l.startsWith(`${ip} `)) ?? '';
  const cells = (ip: string) => row(ip).split(/ {2,}/);

  it('starts with the agent line and the self-check', () => {
    expect(lines[0]).toBe('agent self-a…7890 · dry-run · running 5m03s · last round 0.4s ago · interval 2s · min_peers_agree 1');
    expect(lines[1]).toBe('self-check: healthy (ok)');
    expect(lines[2]).toBe('canaries: 127.0.0.9 up 0/4');
  });

  it('has a header with one column per hostname, cut to the label', () => {
    const header = lines.find((l) => l.startsWith('IP '));
    expect(header?.split(/ {2,}/)).toEqual(['IP', 'LOCAL miss/ok', 'RTT', 'PEER VOTES', 'CLUSTER', 'www', 'api', 'WHY']);
  });

  it('an up IP: local counts, RTT, peer votes, cluster age, in both names', () => {
    expect(cells('127.0.0.1')).toEqual(['127.0.0.1', 'up 0/9', '0.12 ms', '2/2 up', 'up 1m00s', '✓', '✓']);
  });

  it('the down IP: out of DNS with the why, stale peer votes counted apart', () => {
    expect(cells('198.18.0.9')).toEqual([
      '198.18.0.9',
      'down 12/0',
      '-',
      '1/1 down, +1 stale',
      'down 18s',
      '✗',
      '✗',
      `down by agreement of self, ${P1} since 2025-01-01T11:59:42.000Z`,
    ]);
  });

  it('an unknown IP: split peer votes, DNS not read yet for one name', () => {
    expect(cells('127.0.0.2')).toEqual(['127.0.0.2', 'unknown 1/0', '-', '1/2 down, 1/2 up', 'unknown', '✓', '?']);
  });

  it('columns line up', () => {
    const header = lines.find((l) => l.startsWith('IP '))!;
    for (const ip of ['127.0.0.1', '198.18.0.9', '127.0.0.2']) {
      expect(row(ip).search(/[✓✗]/)).toBe(header.indexOf('www'));
    }
  });

  it('lists the last DNS action per IP', () => {
    const i = lines.indexOf('last DNS action per IP:');
    expect(i).toBeGreaterThan(0);
    expect(lines[i + 1]).toBe('  198.18.0.9: would remove A www.example.com 198.18.0.9 (17s ago)');
  });

  it('lists peers with short ids, connection and last heard', () => {
    expect(lines).toContain('peers: 1/2 connected');
    const peerRows = lines.filter((l) => l.startsWith('  ') && /7001|7002|^ {2}ID/.test(l)).map((l) => l.trim().split(/ {2,}/));
    expect(peerRows).toEqual([
      ['ID', 'ADDR', 'CONNECTED', 'LAST HEARD'],
      ['12D3Ko…89ab', '127.0.0.1:7001', 'yes', '1.0s ago'],
      ['-', '127.0.0.1:7002', 'no', '-'],
    ]);
  });

  it('shows non-zero gossip drops and the last reconcile', () => {
    expect(lines).toContain('gossip drops: bad-tag 3, replayed 1');
    expect(lines).toContain('last reconcile: ok 12s ago, no change');
    expect(text.endsWith('\n')).toBe(true);
    expect(text).not.toMatch(/undefined|null|NaN/);
  });
});

describe('renderStatus variants', () => {
  it('single node, live, a failing reconcile, held removals, an abstaining vote', () => {
    const doc = viaJson({
      ...FIXTURE,
      id: 'self',
      dryRun: false,
      selfCheck: { state: 'canaries-failing', since: NOW - 30_000, detail: 'every canary is down' },
      canaries: [],
      peers: [],
      gossipDrops: undefined,
      targets: [target({ ip: '203.0.113.1', local: { ...FIXTURE.targets[1]!.local }, vote: 'unknown', inDns: { 'www.example.com': true } })],
      lastReconcile: { at: NOW - 3000, ok: false, changes: [], error: 'HTTP 503 from the DNS API' },
      consecutiveReconcileFailures: 4,
      held: ['A www.example.com 203.0.113.1'],
    });
    const lines = renderStatus(doc).split('\n');
    expect(lines[0]).toMatch(/^agent self · live \(changes DNS\) · /);
    expect(lines[1]).toBe('self-check: canaries-failing since 30s ago (every canary is down)');
    expect(lines.find((l) => l.startsWith('IP '))?.split(/ {2,}/)).toEqual(['IP', 'LOCAL miss/ok', 'RTT', 'PEER VOTES', 'CLUSTER', 'www.example.com', 'WHY']);
    expect(lines.find((l) => l.startsWith('203.0.113.1'))?.split(/ {2,}/)).toEqual(['203.0.113.1', 'down 12/0 (votes unknown)', '-', '-', 'up 1m00s', '✓']);
    expect(lines).toContain('peers: none (single node)');
    expect(lines.some((l) => l.startsWith('gossip drops'))).toBe(false);
    expect(lines).toContain('last reconcile: FAILED 3.0s ago (4 in a row): HTTP 503 from the DNS API');
    expect(lines).toContain('held back (last record of a hostname is never removed): A www.example.com 203.0.113.1');
  });

  it('a drained IP: "drained" beside its real cluster verdict, the drain in WHY', () => {
    const why = 'drained by alice since 2025-01-01T11:59:00.000Z, until undrained';
    const doc = viaJson({
      ...FIXTURE,
      targets: [
        target({
          ip: '198.18.0.1',
          inDns: { 'www.example.com': false },
          why,
          drained: { by: 'alice', at: NOW - 60_000, until: null, reason: '', source: 'operator' },
        }),
        target({ ip: '198.18.0.2', inDns: { 'www.example.com': true }, drained: null }),
      ],
    });
    const lines = renderStatus(doc).split('\n');
    expect(
      lines
        .find((l) => l.startsWith('198.18.0.1 '))
        ?.split(/ {2,}/)
        .slice(4),
    ).toEqual(['up 1m00s drained', '✗', why]);
    expect(lines.find((l) => l.startsWith('198.18.0.2 '))?.split(/ {2,}/)[4]).toBe('up 1m00s');
  });

  it('a stopped agent that has not probed or reconciled yet', () => {
    const doc = viaJson({
      ...FIXTURE,
      running: false,
      startedAt: undefined,
      lastRoundAt: undefined,
      lastReconcile: undefined,
      targets: [],
      gossipDrops: emptyDropCounts(),
    });
    const lines = renderStatus(doc).split('\n');
    expect(lines[0]).toContain('NOT RUNNING · last round - ·');
    expect(lines).toContain('no targets');
    expect(lines).toContain('last reconcile: not yet');
    expect(lines).toContain('gossip drops: none');
  });

  it('reports a change list after a reconcile that acted', () => {
    const doc = viaJson({
      ...FIXTURE,
      lastReconcile: { at: NOW - 1000, ok: true, changes: ['remove A www.example.com 198.18.0.9', 'remove A api.example.com 198.18.0.9'] },
    });
    expect(renderStatus(doc)).toContain('last reconcile: ok 1.0s ago, 2 change(s): remove A www.example.com 198.18.0.9; remove A api.example.com 198.18.0.9\n');
  });
});

describe('formatters', () => {
  it.each([
    [0, '0.0s'],
    [350, '0.3s'],
    [9_949, '9.9s'],
    [12_000, '12s'],
    [59_999, '59s'],
    [60_000, '1m00s'],
    [303_000, '5m03s'],
    [3_600_000, '1h00m'],
    [7_500_000, '2h05m'],
    [2 * 86_400_000, '2d00h'],
    [-2000, '-2.0s'],
    [Number.NaN, '?'],
  ])('formatDuration(%s) = %s', (ms, out) => {
    expect(formatDuration(ms)).toBe(out);
  });

  it.each([
    [0.123, '0.12 ms'],
    [12.34, '12.3 ms'],
    [123.4, '123 ms'],
    [undefined, '-'],
    [null, '-'],
  ])('formatRtt(%s) = %s', (ms, out) => {
    expect(formatRtt(ms)).toBe(out);
  });

  it('ago and shortId', () => {
    expect(ago(NOW, NOW - 90_000)).toBe('1m30s ago');
    expect(ago(NOW, null)).toBe('-');
    expect(shortId(P1)).toBe('12D3Ko…89ab');
    expect(shortId('self')).toBe('self');
    expect(shortId(undefined)).toBe('-');
  });

  it.each([
    [['www.example.com'], ['www.example.com']],
    [
      ['www.example.com', 'api.example.com'],
      ['www', 'api'],
    ],
    [
      ['example.com', 'www.example.com'],
      ['@', 'www'],
    ],
    [
      ['a.b.example.co.uk', 'c.example.co.uk'],
      ['a.b', 'c'],
    ],
    [
      ['www.example.com', 'www.example.org'],
      ['www.example.com', 'www.example.org'],
    ],
    [[], []],
  ])('hostnameHeaders(%j) = %j', (names, out) => {
    expect(hostnameHeaders(names)).toEqual(out);
  });

  it.each([
    [[], '-'],
    [
      [
        { verdict: 'down', fresh: true },
        { verdict: 'down', fresh: true },
      ],
      '2/2 down',
    ],
    [
      [
        { verdict: 'up', fresh: true },
        { verdict: 'down', fresh: true },
        { verdict: 'down', fresh: true },
      ],
      '2/3 down, 1/3 up',
    ],
    [[{ verdict: 'down', fresh: false }], '+1 stale'],
  ] as const)('summarizePeerVotes %#', (peers, out) => {
    expect(summarizePeerVotes({ peers: peers.map((p, i) => ({ peer: `p${i}`, ageMs: 0, ...p })) })).toBe(out);
  });

  it('table pads every column but the last', () => {
    expect(
      table([
        ['a', 'bb', 'c'],
        ['ccc', 'd', ''],
      ]),
    ).toEqual(['a    bb  c', 'ccc  d']);
  });
});

describe('renderStatus: a suspect IP', () => {
  it('shows the recheck direction and the streak beside the local counts', () => {
    const doc: StatusDocument = {
      ...FIXTURE,
      targets: [
        target({
          ip: '127.0.0.1',
          local: { verdict: 'up', misses: 2, successes: 0, since: NOW - 60_000, lastProbeAt: NOW - 100, lastRttMs: 0.1, lastError: 'timeout' },
          suspect: { direction: 'down', cause: 'suspect', sinceMs: 300, rechecksSent: 2, inFlight: 1, streak: 2 },
        }),
      ],
    };
    const line = renderStatus(viaJson(doc))
      .split('\n')
      .find((l) => l.includes('127.0.0.1'));
    expect(line).toContain('up 2/0 suspect down 2');
    expect(renderStatus(viaJson(FIXTURE))).not.toContain('suspect');
  });
});
