import { describe, expect, it } from 'vitest';
import type { HistoryDocument } from '../../../src/status/history.js';
import { clockTime, dnsState, eventTone, pageView, spark, streak, unreachableBanner, verdictTone } from '../../../src/status/page-model.js';
import type { StatusDocument } from '../../../src/status/render.js';
import type { TargetStatus } from '../../../src/status/view.js';

const NOW = 1_700_000_000_000; // 22:13:20Z

describe('page model: small pieces', () => {
  it.each([
    [0, 0, 'no probe yet'],
    [1, 0, '1 miss'],
    [3, 0, '3 misses'],
    [0, 1, '1 ok'],
    [0, 12, '12 ok'],
  ])('streak(%i misses, %i ok) → %s', (m, s, want) => expect(streak(m, s)).toBe(want));

  it.each([
    [NOW, '22:13:20Z'],
    [NOW + 999, '22:13:20Z'],
    [0, '00:00:00Z'],
  ])('clockTime(%i) → %s', (at, want) => expect(clockTime(at)).toBe(want));

  it.each([
    ['up', 'good'],
    ['down', 'bad'],
    ['unknown', 'muted'],
    [null, 'muted'],
  ] as const)('verdictTone(%s) → %s', (v, want) => expect(verdictTone(v)).toBe(want));

  it.each([
    [true, 'in DNS', 'good'],
    [false, 'not in DNS', 'bad'],
    [null, 'not read yet', 'muted'],
    [undefined, 'not read yet', 'muted'],
  ] as const)('dnsState(%s) → %s', (v, text, tone) => expect(dnsState('www.example.com', v)).toEqual({ host: 'www.example.com', text, tone }));

  it.each([
    ['no samples', null, '', [], 'no samples yet'],
    ['one sample, at the left, at the top', [[NOW, 2]], '0,1', [], '1 samples, max 2.0 ms'],
    [
      'scaled to the max, oldest left',
      [
        [NOW, 1],
        [NOW + 1, 2],
        [NOW + 2, 4],
      ],
      '0,17.5 60,12 120,1',
      [],
      '3 samples, max 4.0 ms',
    ],
    [
      'a miss draws no point and is marked',
      [
        [NOW, 2],
        [NOW + 1, null],
        [NOW + 2, 2],
      ],
      '0,1 120,1',
      [60],
      '3 samples, max 2.0 ms, 1 missed',
    ],
    [
      'only misses',
      [
        [NOW, null],
        [NOW + 1, null],
      ],
      '',
      [0, 120],
      '2 samples, max -, 2 missed',
    ],
  ] as const)('spark: %s', (_name, samples, points, misses, label) => {
    const s = spark(samples, 120, 24);
    expect(s.points).toBe(points);
    expect(s.misses).toEqual(misses);
    expect(s.label).toBe(label);
  });

  it.each([
    ['cluster-verdict', 'cluster verdict: 192.0.2.1 up → down', 'bad'],
    ['local-verdict', 'local verdict: 192.0.2.1 down → up', 'good'],
    ['local-verdict', 'local verdict: 192.0.2.1 unknown → unknown', 'muted'],
    ['dns-change', 'would remove A www.example.com 192.0.2.1', 'bad'],
    ['dns-change', 'add A www.example.com 192.0.2.1', 'good'],
    ['held', 'removal held back (last record of a hostname is never removed): A www 1', 'bad'],
    ['held', 'no removal is held back any more', 'good'],
    ['self-check', 'self-check: healthy → too-many-down (x)', 'bad'],
    ['self-check', 'self-check: too-many-down → healthy (ok)', 'good'],
    ['reload', 'config reloaded', 'muted'],
    ['reload', 'config reload failed, still on the previous config: x', 'bad'],
    ['something new', 'x', 'muted'],
  ] as const)('eventTone(%s, %s) → %s', (kind, text, want) => expect(eventTone(kind, text)).toBe(want));

  it.each([
    [null, NOW - 3000, 'connection failed', NOW, 'cannot reach the agent for 3.0s (connection failed): no data received yet'],
    [NOW - 65_000, NOW - 60_000, 'no answer in 5 s', NOW, 'cannot reach the agent for 1m00s (no answer in 5 s): showing data from 22:12:15Z (1m05s old)'],
  ])('unreachableBanner(%s, %s, %s)', (lastOk, since, err, now, want) => expect(unreachableBanner(lastOk, since, err, now)).toBe(want));
});

function target(over: Partial<TargetStatus> & { ip: string }): TargetStatus {
  return {
    role: 'primary',
    local: { verdict: 'up', misses: 0, successes: 7, since: NOW - 60_000, lastProbeAt: NOW - 100, lastRttMs: 0.05, lastError: undefined },
    vote: 'up',
    peers: [],
    cluster: { verdict: 'up', since: NOW - 60_000, agreed: ['self'] },
    inDns: { 'www.example.com': true, 'api.example.com': true },
    lastAction: undefined,
    why: undefined,
    ...over,
  };
}

function doc(over: Partial<StatusDocument> = {}): StatusDocument {
  return {
    id: 'self',
    dryRun: true,
    startedAt: NOW - 303_000,
    configFile: '/etc/goavail.toml',
    running: true,
    lastRoundAt: NOW - 400,
    intervalMs: 2000,
    minPeersAgree: 0,
    freshnessMs: 17_000,
    selfCheck: { state: 'healthy', since: undefined, detail: 'ok' },
    targets: [target({ ip: '192.0.2.1' })],
    canaries: [],
    peers: [],
    lastReconcile: { at: NOW - 2000, ok: true, changes: [] },
    consecutiveReconcileFailures: 0,
    held: [],
    now: NOW,
    gossipDrops: undefined,
    ...over,
  };
}

describe('pageView', () => {
  it('a healthy single node', () => {
    const v = pageView(doc(), null);
    expect(v.title).toBe('goavail · self');
    expect(v.head).toEqual(['agent self', 'dry-run', 'running 5m03s', 'last round 0.4s ago', 'interval 2s', 'min_peers_agree 0']);
    expect(v.alert).toBeNull();
    expect(v.selfCheck).toEqual({ text: 'healthy (ok)', tone: 'good' });
    expect(v.lastReconcile).toEqual({ text: 'ok 2.0s ago, no change', tone: 'good' });
    expect(v.held).toBeNull();
    expect(v.peers).toEqual({ summary: 'none (single node)', rows: [] });
    expect(v.events).toEqual([]);
    expect(v.ips).toEqual([
      {
        ip: '192.0.2.1',
        role: 'A record target',
        local: { verdict: 'up', tone: 'good', streak: '7 ok' },
        vote: null,
        rtt: '0.05 ms',
        spark: { points: '', misses: [], label: 'no samples yet' },
        peerVotes: [],
        cluster: { verdict: 'up', tone: 'good', since: 'since 22:12:20Z (1m00s)' },
        dns: [
          { host: 'www.example.com', text: 'in DNS', tone: 'good' },
          { host: 'api.example.com', text: 'in DNS', tone: 'good' },
        ],
        why: null,
        lastAction: null,
      },
    ]);
  });

  it.each([
    [
      'an IP down by agreement and out of DNS',
      doc({
        targets: [
          target({
            ip: '2001:db8::7',
            local: { verdict: 'down', misses: 4, successes: 0, since: NOW - 5000, lastProbeAt: NOW - 100, lastRttMs: undefined, lastError: 'timeout' },
            vote: 'down',
            peers: [
              { peer: '12D3KooWAbCdEfGhIjKlMnOp', verdict: 'down', ageMs: 1500, fresh: true },
              { peer: 'b', verdict: 'up', ageMs: 30_000, fresh: false },
            ],
            cluster: { verdict: 'down', since: NOW - 5000, agreed: ['12D3KooWAbCdEfGhIjKlMnOp', 'self'] },
            inDns: { 'www.example.com': false },
            lastAction: { summary: 'remove AAAA www.example.com 2001:db8::7', at: NOW - 4000 },
            why: 'down by agreement of 12D3KooWAbCdEfGhIjKlMnOp, self since 2023-11-14T22:13:15.000Z',
          }),
        ],
      }),
      {
        ip: '2001:db8::7',
        role: 'AAAA record target',
        local: { verdict: 'down', tone: 'bad', streak: '4 misses' },
        rtt: '-',
        peerVotes: [
          { peer: '12D3Ko…MnOp', verdict: 'down', age: '1.5s ago', tone: 'bad' },
          { peer: 'b', verdict: 'up', age: '30s ago (stale)', tone: 'muted' },
        ],
        cluster: { verdict: 'down', tone: 'bad', since: 'since 22:13:15Z (5.0s)' },
        dns: [{ host: 'www.example.com', text: 'not in DNS', tone: 'bad' }],
        why: 'down by agreement of 12D3KooWAbCdEfGhIjKlMnOp, self since 2023-11-14T22:13:15.000Z',
        lastAction: 'remove AAAA www.example.com 2001:db8::7 (4.0s ago)',
      },
    ],
    [
      'a vote held back by the self-check, DNS not read yet',
      doc({
        targets: [
          target({ ip: '192.0.2.2', vote: 'unknown', cluster: { verdict: 'unknown', since: undefined, agreed: [] }, inDns: { 'www.example.com': undefined } }),
        ],
      }),
      {
        vote: 'unknown',
        cluster: { verdict: 'unknown', tone: 'muted', since: '' },
        dns: [{ host: 'www.example.com', text: 'not read yet', tone: 'muted' }],
      },
    ],
    [
      'a standby in because of failover',
      doc({ targets: [target({ ip: '198.18.0.9', role: 'standby', standby: { failover: true, presence: 'in' } })] }),
      { role: 'A record standby, in: failing over' },
    ],
    ['a primary', doc({ targets: [target({ ip: '198.18.0.1' })] }), { role: 'A record target' }],
  ])('%s', (_name, d, card) => {
    expect(pageView(d, null).ips[0]).toMatchObject(card);
  });

  it('canaries follow the targets, without cluster or DNS', () => {
    const v = pageView(
      doc({
        canaries: [
          { ip: '192.0.2.200', state: { verdict: 'up', misses: 0, successes: 2, since: NOW, lastProbeAt: NOW, lastRttMs: 12.34, lastError: undefined } },
        ],
      }),
      null,
    );
    expect(v.ips.map((c) => [c.ip, c.role])).toEqual([
      ['192.0.2.1', 'A record target'],
      ['192.0.2.200', 'canary (self-check only)'],
    ]);
    expect(v.ips[1]).toMatchObject({ rtt: '12.3 ms', cluster: null, dns: [], peerVotes: [] });
  });

  it.each([
    [
      'reconcile failing',
      { lastReconcile: { at: NOW - 1000, ok: false, changes: [], error: 'HTTP 403 from Cloudflare' }, consecutiveReconcileFailures: 3 },
      'DNS reconcile failing: HTTP 403 from Cloudflare',
      { text: 'FAILED 1.0s ago (3 in a row): HTTP 403 from Cloudflare', tone: 'bad' },
    ],
    ['not running', { running: false }, 'the agent is not running', { text: 'ok 2.0s ago, no change', tone: 'good' }],
    ['no reconcile yet', { lastReconcile: undefined }, null, { text: 'not yet', tone: 'muted' }],
    [
      'changes made',
      { lastReconcile: { at: NOW - 1000, ok: true, changes: ['remove A www 1', 'remove A api 1'] } },
      null,
      { text: 'ok 1.0s ago, 2 change(s): remove A www 1; remove A api 1', tone: 'good' },
    ],
  ] as const)('alert and last reconcile: %s', (_name, over, alert, reconcile) => {
    const v = pageView(doc(over as Partial<StatusDocument>), null);
    expect(v.alert).toBe(alert);
    expect(v.lastReconcile).toEqual(reconcile);
  });

  it('self-check, held removals and peers', () => {
    const v = pageView(
      doc({
        selfCheck: { state: 'canaries-failing', since: NOW - 10_000, detail: '2 of 2 canaries down' },
        held: ['A www.example.com 192.0.2.1'],
        peers: [
          { id: '12D3KooWAbCdEfGhIjKlMnOp', addr: '198.18.0.2:7946', connected: true, lastHeard: NOW - 1000 },
          { id: undefined, addr: '198.18.0.3:7946', connected: false, lastHeard: undefined },
        ],
      }),
      null,
    );
    expect(v.selfCheck).toEqual({ text: 'canaries-failing since 10s ago (2 of 2 canaries down)', tone: 'bad' });
    expect(v.held).toBe('A www.example.com 192.0.2.1');
    expect(v.peers).toEqual({
      summary: '1/2 connected',
      rows: [
        { id: '12D3Ko…MnOp', addr: '198.18.0.2:7946', state: 'connected', tone: 'good', lastHeard: 'heard 1.0s ago' },
        { id: '-', addr: '198.18.0.3:7946', state: 'not connected', tone: 'bad', lastHeard: 'never heard' },
      ],
    });
  });

  it('events newest first, RTT samples into the sparkline; text is passed on as it is', () => {
    const hist: HistoryDocument = {
      now: NOW,
      dropped: 0,
      events: [
        { seq: 1, at: NOW - 5000, kind: 'local-verdict', ip: '192.0.2.1', text: 'local verdict: 192.0.2.1 unknown → up' },
        { seq: 2, at: NOW - 1000, kind: 'reload', text: 'config reload failed, still on the previous config: x: got "<img src=x onerror=alert(1)>"' },
      ],
      rtt: {
        '192.0.2.1': [
          [NOW - 2000, 1],
          [NOW - 1000, 2],
        ],
      },
    };
    const v = pageView(doc(), hist);
    expect(v.events).toEqual([
      {
        time: '22:13:19Z',
        ago: '1.0s ago',
        kind: 'reload',
        text: 'config reload failed, still on the previous config: x: got "<img src=x onerror=alert(1)>"',
        tone: 'bad',
      },
      { time: '22:13:15Z', ago: '5.0s ago', kind: 'local', text: 'local verdict: 192.0.2.1 unknown → up', tone: 'good' },
    ]);
    expect(v.ips[0]!.spark).toEqual({ points: '0,12 120,1', misses: [], label: '2 samples, max 2.0 ms' });
  });
});
