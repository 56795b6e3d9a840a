import { afterEach, describe, expect, it } from 'vitest';
import { Agent } from '../../../src/agent.js';
import { fanOut } from '../../../src/events.js';
import { emptyDropCounts } from '../../../src/gossip/validate.js';
import { PNET_REJECT_REASONS, type ObservationHandler, type PeerStatus, type PnetCounts } from '../../../src/gossip/types.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics, type MetricsConfigView } from '../../../src/status/metrics.js';
import { waitFor } from '../../support/kit.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';
import { FakeProber } from '../../support/fake-prober.js';

const A = '203.0.113.1';
const B = '203.0.113.2';
const C = '203.0.113.3';
const CANARY = '203.0.113.250';
const T = 1_700_000_000_000;

/** Prometheus text → `name{k="v",...}` (labels sorted) → value; comments skipped. */
function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => `${l[1]}="${l[2]}"`).sort();
    out.set(labels.length > 0 ? `${m[1]}{${labels.join(',')}}` : m[1]!, Number(m[3]));
  }
  return out;
}

async function scrape(m: Metrics): Promise<Map<string, number>> {
  return parseExposition(await m.metrics());
}

function mutableConfig(ips: string[], canaries: string[] = []): { view: () => MetricsConfigView; set(ips: string[], canaries?: string[]): void } {
  let current: MetricsConfigView = { ipAddresses: ips, canaries };
  return { view: () => current, set: (i, c = []) => (current = { ipAddresses: i, canaries: c }) };
}

interface Case {
  readonly name: string;
  readonly feed: (m: Metrics) => void;
  /** Series that must be present with these values. */
  readonly expect: Readonly<Record<string, number>>;
  /** Series (prefixes of a key) that must be absent. */
  readonly absent?: readonly string[];
}

const cases: Case[] = [
  {
    name: 'a successful probe observes its RTT in seconds (histogram of all IPs, last RTT per IP) and creates a zero miss series',
    feed: (m) => m.probeRound([{ ip: A, ok: true, rttMs: 0.3 }], T),
    expect: {
      goavail_probe_rtt_seconds_count: 1,
      ['goavail_probe_rtt_seconds_bucket{le="0.0005"}']: 1,
      goavail_probe_rtt_seconds_sum: 0.0003,
      [`goavail_probe_last_rtt_seconds{ip="${A}"}`]: 0.0003,
      [`goavail_probe_misses_total{ip="${A}"}`]: 0,
      goavail_probe_rounds_total: 1,
      goavail_last_probe_round_timestamp_seconds: T / 1000,
    },
  },
  {
    name: 'a slow probe lands in a high bucket only',
    feed: (m) => m.probeRound([{ ip: A, ok: true, rttMs: 300 }], T),
    expect: {
      ['goavail_probe_rtt_seconds_bucket{le="0.25"}']: 0,
      ['goavail_probe_rtt_seconds_bucket{le="0.5"}']: 1,
      ['goavail_probe_rtt_seconds_bucket{le="2"}']: 1,
    },
  },
  {
    name: 'the last RTT per IP follows the latest success; a miss leaves it',
    feed: (m) => {
      m.probeRound(
        [
          { ip: A, ok: true, rttMs: 5 },
          { ip: B, ok: true, rttMs: 7 },
        ],
        T,
      );
      m.probeRound(
        [
          { ip: A, ok: true, rttMs: 2 },
          { ip: B, ok: false, error: 'timeout' },
        ],
        T + 1000,
      );
    },
    expect: {
      [`goavail_probe_last_rtt_seconds{ip="${A}"}`]: 0.002,
      [`goavail_probe_last_rtt_seconds{ip="${B}"}`]: 0.007,
      goavail_probe_rtt_seconds_count: 3,
      goavail_probe_rtt_seconds_sum: 0.014,
    },
  },
  {
    name: 'misses count per IP and do not observe an RTT',
    feed: (m) => {
      m.probeRound(
        [
          { ip: A, ok: false, error: 'timeout' },
          { ip: B, ok: true, rttMs: 1 },
        ],
        T,
      );
      m.probeRound(
        [
          { ip: A, ok: false, error: 'timeout' },
          { ip: B, ok: false },
        ],
        T + 1000,
      );
    },
    expect: {
      [`goavail_probe_misses_total{ip="${A}"}`]: 2,
      [`goavail_probe_misses_total{ip="${B}"}`]: 1,
      [`goavail_probe_last_rtt_seconds{ip="${B}"}`]: 0.001,
      goavail_probe_rtt_seconds_count: 1,
      goavail_probe_rounds_total: 2,
      goavail_last_probe_round_timestamp_seconds: (T + 1000) / 1000,
    },
    absent: [`goavail_probe_last_rtt_seconds{ip="${A}"}`],
  },
  {
    name: 'probes not sent (local errors) count by reason, not as misses; every reason starts at 0',
    feed: (m) => {
      m.probeRound(
        [
          { ip: A, ok: false, local: 'EMFILE', error: 'no probe sent' },
          { ip: B, ok: false, local: 'EMFILE' },
          { ip: C, ok: false, error: 'timeout' },
        ],
        T,
      );
      m.probeRound(
        [
          { ip: A, ok: false, local: 'round-failed' },
          { ip: B, ok: false, local: 'ENOBUFS' },
          { ip: C, ok: true, rttMs: 1 },
        ],
        T + 1000,
      );
    },
    expect: {
      'goavail_probe_no_observation_total{reason="EMFILE"}': 2,
      'goavail_probe_no_observation_total{reason="ENOBUFS"}': 1,
      'goavail_probe_no_observation_total{reason="round-failed"}': 1,
      'goavail_probe_no_observation_total{reason="ENFILE"}': 0,
      'goavail_probe_no_observation_total{reason="ENOMEM"}': 0,
      'goavail_probe_no_observation_total{reason="EADDRNOTAVAIL"}': 0,
      [`goavail_probe_misses_total{ip="${C}"}`]: 1,
      goavail_probe_rounds_total: 2,
    },
    absent: [`goavail_probe_misses_total{ip="${A}"}`, `goavail_probe_misses_total{ip="${B}"}`],
  },
  {
    name: 'verdict gauge: 1 up, 0 down, -1 unknown, local and cluster apart',
    feed: (m) => {
      m.localVerdict({ ip: A, from: 'unknown', to: 'down', at: T });
      m.clusterVerdict({ ip: A, from: 'unknown', to: 'down', agreed: ['self'], at: T });
      m.localVerdict({ ip: B, from: 'unknown', to: 'up', at: T });
    },
    expect: {
      [`goavail_verdict{ip="${A}",kind="local"}`]: 0,
      [`goavail_verdict{ip="${A}",kind="cluster"}`]: 0,
      [`goavail_verdict{ip="${B}",kind="local"}`]: 1,
      [`goavail_verdict{ip="${B}",kind="cluster"}`]: -1,
      [`goavail_verdict{ip="${C}",kind="local"}`]: -1,
      [`goavail_verdict{ip="${C}",kind="cluster"}`]: -1,
    },
  },
  {
    name: 'a later verdict replaces the earlier one',
    feed: (m) => {
      m.clusterVerdict({ ip: A, from: 'unknown', to: 'down', agreed: ['self'], at: T });
      m.clusterVerdict({ ip: A, from: 'down', to: 'up', agreed: ['self'], at: T + 1 });
    },
    expect: { [`goavail_verdict{ip="${A}",kind="cluster"}`]: 1 },
  },
  {
    name: 'self-check is one-hot, healthy at start',
    feed: () => undefined,
    expect: {
      'goavail_self_check{state="healthy"}': 1,
      'goavail_self_check{state="no-observations"}': 0,
      'goavail_self_check{state="canaries-failing"}': 0,
      'goavail_self_check{state="too-many-down"}': 0,
    },
  },
  {
    name: 'self-check: no observations (no probe could be sent) is a state of its own',
    feed: (m) => m.selfCheck({ from: 'healthy', to: 'no-observations', detail: 'no probe could be sent: EMFILE', at: T }),
    expect: { 'goavail_self_check{state="healthy"}': 0, 'goavail_self_check{state="no-observations"}': 1, 'goavail_self_check{state="canaries-failing"}': 0 },
  },
  {
    name: 'self-check follows its events',
    feed: (m) => m.selfCheck({ from: 'healthy', to: 'canaries-failing', detail: 'every canary is down', at: T }),
    expect: { 'goavail_self_check{state="healthy"}': 0, 'goavail_self_check{state="canaries-failing"}': 1, 'goavail_self_check{state="too-many-down"}': 0 },
  },
  {
    name: 'DNS API calls by operation and result, with durations',
    feed: (m) => {
      m.dnsCall({ op: 'list', result: 'ok', durationMs: 20 });
      m.dnsCall({ op: 'list', result: 'ok', durationMs: 30 });
      m.dnsCall({ op: 'apply', result: 'rate-limit', durationMs: 2000 });
    },
    expect: {
      'goavail_dns_api_calls_total{operation="list",result="ok"}': 2,
      'goavail_dns_api_calls_total{operation="apply",result="rate-limit"}': 1,
      'goavail_dns_api_call_duration_seconds_count{operation="list"}': 2,
      'goavail_dns_api_call_duration_seconds_sum{operation="list"}': 0.05,
      'goavail_dns_api_call_duration_seconds_bucket{le="2.5",operation="apply"}': 1,
      'goavail_dns_api_call_duration_seconds_bucket{le="1",operation="apply"}': 0,
    },
  },
  {
    name: 'DNS changes by op and dry_run',
    feed: (m) => {
      const base = { type: 'A' as const, hostname: 'www.example.com', ip: A, summary: 's', at: T };
      m.dnsChange({ ...base, op: 'delete', dryRun: true });
      m.dnsChange({ ...base, op: 'delete', dryRun: true, hostname: 'api.example.com' });
      m.dnsChange({ ...base, op: 'create', dryRun: false });
    },
    expect: { 'goavail_dns_changes_total{dry_run="true",op="delete"}': 2, 'goavail_dns_changes_total{dry_run="false",op="create"}': 1 },
    absent: ['goavail_dns_changes_total{dry_run="false",op="delete"}'],
  },
  {
    name: 'reconcile failures count up, a success resets them and stamps the time',
    feed: (m) => {
      m.reconcile({ ok: false, durationMs: 100, changes: 0, consecutiveFailures: 1, error: 'boom', at: T });
      m.reconcile({ ok: false, durationMs: 100, changes: 0, consecutiveFailures: 2, error: 'boom', at: T + 1000 });
      m.reconcile({ ok: true, durationMs: 40, changes: 1, consecutiveFailures: 0, at: T + 2000 });
    },
    expect: {
      goavail_reconcile_consecutive_failures: 0,
      'goavail_reconcile_duration_seconds_count{result="failed"}': 2,
      'goavail_reconcile_duration_seconds_count{result="ok"}': 1,
      'goavail_reconcile_duration_seconds_bucket{le="0.05",result="ok"}': 1,
      goavail_last_reconcile_success_timestamp_seconds: (T + 2000) / 1000,
    },
  },
  {
    name: 'failing reconciles show in the gauge; never a success: timestamp 0',
    feed: (m) => m.reconcile({ ok: false, durationMs: 5, changes: 0, consecutiveFailures: 3, error: 'x', at: T }),
    expect: { goavail_reconcile_consecutive_failures: 3, goavail_last_reconcile_success_timestamp_seconds: 0 },
  },
  {
    name: 'config reloads by result, both present from the start',
    feed: (m) => {
      m.configReload({ ok: false, at: T });
      m.configReload({ ok: false, at: T });
      m.configReload({ ok: true, at: T });
    },
    expect: { 'goavail_config_reloads_total{result="failed"}': 2, 'goavail_config_reloads_total{result="ok"}': 1 },
  },
];

describe('Metrics: series after events', () => {
  it.each(cases)('$name', async (c) => {
    const m = new Metrics({ config: mutableConfig([A, B, C]).view });
    c.feed(m);
    const got = await scrape(m);
    for (const [key, value] of Object.entries(c.expect)) {
      expect(got.has(key), `${key} missing in\n${[...got.keys()].join('\n')}`).toBe(true);
      expect(got.get(key), key).toBeCloseTo(value, 9);
    }
    for (const key of c.absent ?? []) expect(got.has(key), `${key} present`).toBe(false);
  });

  it('Route 53 INSYNC times: a histogram by status', async () => {
    const m = new Metrics();
    m.dnsChangeSettled({ changeId: '/change/C1', status: 'INSYNC', ms: 40_000, at: 1 });
    m.dnsChangeSettled({ changeId: '/change/C2', status: 'unknown', ms: 900_000, at: 2 });
    const got = await scrape(m);
    expect(got.get('goavail_dns_change_insync_seconds_count{status="INSYNC"}')).toBe(1);
    expect(got.get('goavail_dns_change_insync_seconds_sum{status="INSYNC"}')).toBe(40);
    expect(got.get('goavail_dns_change_insync_seconds_bucket{le="60",status="INSYNC"}')).toBe(1);
    expect(got.get('goavail_dns_change_insync_seconds_bucket{le="30",status="INSYNC"}')).toBe(0);
    expect(got.get('goavail_dns_change_insync_seconds_count{status="unknown"}')).toBe(1);
  });

  it('the agent reports a settled change in /status and to its watchers', async () => {
    const seen: string[] = [];
    let settle: ((e: { changeId: string; status: 'INSYNC' | 'unknown'; ms: number; at: number }) => void) | undefined;
    const agent = new Agent({
      config: testConfig(),
      logger: silentLogger(),
      dryRun: false,
      createProber: () => new FakeProber(),
      createProvider: (_c, settled) => {
        settle = settled;
        return new FakeDns();
      },
      events: { dnsChangeSettled: (e) => seen.push(e.changeId) },
    });
    expect(agent.status().lastChangeSettled).toBeUndefined();
    settle!({ changeId: '/change/C9', status: 'INSYNC', ms: 1234, at: 5 });
    expect(agent.status().lastChangeSettled).toEqual({ changeId: '/change/C9', status: 'INSYNC', ms: 1234, at: 5 });
    expect(seen).toEqual(['/change/C9']);
    await agent.stop();
  });

  it('without a config the verdict gauge lists only IPs with a verdict event', async () => {
    const m = new Metrics();
    m.localVerdict({ ip: A, from: 'unknown', to: 'up', at: T });
    const got = await scrape(m);
    expect(got.get(`goavail_verdict{ip="${A}",kind="local"}`)).toBe(1);
    expect(got.get(`goavail_verdict{ip="${A}",kind="cluster"}`)).toBe(-1);
    expect([...got.keys()].filter((k) => k.startsWith('goavail_verdict{'))).toHaveLength(2);
  });

  it('single node: no gossip series', async () => {
    const text = await new Metrics().metrics();
    expect(text).not.toContain('goavail_gossip_');
    expect(text).toContain('# TYPE goavail_probe_rtt_seconds histogram');
    expect(text).toContain('# TYPE goavail_verdict gauge');
  });

  it('cluster: gossip drops, accepted batches and peers are read at scrape time', async () => {
    const drops = emptyDropCounts();
    const handlers: ObservationHandler[] = [];
    let peers: PeerStatus[] = [
      { id: 'p1', addr: '127.0.0.1:7001', connected: true, lastHeard: T },
      { id: undefined, addr: '127.0.0.1:7002', connected: false, lastHeard: undefined },
    ];
    const m = new Metrics({ gossip: { drops: () => ({ ...drops }), peers: () => peers, onObservations: (h) => handlers.push(h) } });
    expect(handlers).toHaveLength(1);
    let got = await scrape(m);
    expect(got.get('goavail_gossip_messages_accepted_total')).toBe(0);
    expect(got.get('goavail_gossip_messages_dropped_total{reason="bad-tag"}')).toBe(0);
    expect(got.get('goavail_gossip_peers_connected')).toBe(1);
    expect(got.get('goavail_gossip_peers_configured')).toBe(2);

    drops['bad-tag'] = 3;
    drops.replayed = 1;
    for (let i = 0; i < 2; i++) handlers[0]!('p1', { seq: i + 1, sentAt: T, full: false, observations: [] }, T);
    peers = peers.map((p) => ({ ...p, connected: true }));
    got = await scrape(m);
    expect(got.get('goavail_gossip_messages_accepted_total')).toBe(2);
    expect(got.get('goavail_gossip_messages_dropped_total{reason="bad-tag"}')).toBe(3);
    expect(got.get('goavail_gossip_messages_dropped_total{reason="replayed"}')).toBe(1);
    expect(got.get('goavail_gossip_messages_dropped_total{reason="too-old"}')).toBe(0);
    expect(got.get('goavail_gossip_peers_connected')).toBe(2);
    // Collected counters are not summed across scrapes.
    got = await scrape(m);
    expect(got.get('goavail_gossip_messages_dropped_total{reason="bad-tag"}')).toBe(3);
  });

  it('cluster without a pnet protector: no pnet series', async () => {
    const m = new Metrics({ gossip: { drops: () => emptyDropCounts(), peers: () => [], onObservations: () => undefined, pnet: () => undefined } });
    const text = await m.metrics();
    expect(text).toContain('goavail_gossip_peers_configured');
    expect(text).not.toContain('goavail_gossip_pnet_');
  });

  it('cluster with a pnet protector: accepts per key index and rejects by reason, read at scrape time', async () => {
    let counts: PnetCounts = { outbound: 0, inbound: [0, 0], rejects: { 'no-matching-key': 0, timeout: 0, aborted: 0, closed: 0, error: 0 } };
    const m = new Metrics({ gossip: { drops: () => emptyDropCounts(), peers: () => [], onObservations: () => undefined, pnet: () => counts } });
    let got = await scrape(m);
    expect(got.get('goavail_gossip_pnet_accepted_total{direction="outbound",key="0"}')).toBe(0);
    expect(got.get('goavail_gossip_pnet_accepted_total{direction="inbound",key="1"}')).toBe(0);
    for (const reason of PNET_REJECT_REASONS) expect(got.get(`goavail_gossip_pnet_rejected_total{reason="${reason}"}`)).toBe(0);

    counts = { outbound: 4, inbound: [2, 3], rejects: { 'no-matching-key': 5, timeout: 1, aborted: 0, closed: 2, error: 0 } };
    got = await scrape(m);
    expect(got.get('goavail_gossip_pnet_accepted_total{direction="outbound",key="0"}')).toBe(4);
    expect(got.get('goavail_gossip_pnet_accepted_total{direction="inbound",key="0"}')).toBe(2);
    expect(got.get('goavail_gossip_pnet_accepted_total{direction="inbound",key="1"}')).toBe(3);
    expect(got.get('goavail_gossip_pnet_rejected_total{reason="no-matching-key"}')).toBe(5);
    expect(got.get('goavail_gossip_pnet_rejected_total{reason="timeout"}')).toBe(1);
    expect(got.get('goavail_gossip_pnet_rejected_total{reason="closed"}')).toBe(2);
    // Collected counters are not summed across scrapes.
    got = await scrape(m);
    expect(got.get('goavail_gossip_pnet_rejected_total{reason="no-matching-key"}')).toBe(5);
    expect(got.get('goavail_gossip_pnet_accepted_total{direction="inbound",key="1"}')).toBe(3);
  });

  it('two instances never share series (own registry, not the global one)', async () => {
    const a = new Metrics();
    const b = new Metrics();
    a.probeRound([{ ip: A, ok: false }], T);
    expect((await scrape(a)).get(`goavail_probe_misses_total{ip="${A}"}`)).toBe(1);
    expect((await scrape(b)).has(`goavail_probe_misses_total{ip="${A}"}`)).toBe(false);
  });

  it('process metrics are opt-in', async () => {
    expect(await new Metrics().metrics()).not.toContain('process_cpu');
    expect(await new Metrics({ processMetrics: true }).metrics()).toContain('process_cpu_user_seconds_total');
  });

  it('content type is the Prometheus text format', () => {
    expect(new Metrics().contentType).toMatch(/^text\/plain; version=0\.0\.4/);
  });
});

describe('Metrics: IPs removed by a reload lose their series', () => {
  const ipSeries = (got: Map<string, number>, ip: string) => [...got.keys()].filter((k) => k.includes(`ip="${ip}"`));

  function fed(config: ReturnType<typeof mutableConfig>) {
    const m = new Metrics({ config: config.view });
    m.probeRound(
      [A, B, C, CANARY].map((ip) => ({ ip, ok: ip !== C, rttMs: 0.2 })),
      T,
    );
    for (const ip of [A, B, C]) {
      m.localVerdict({ ip, from: 'unknown', to: ip === C ? 'down' : 'up', at: T });
      m.clusterVerdict({ ip, from: 'unknown', to: ip === C ? 'down' : 'up', agreed: ['self'], at: T });
    }
    return m;
  }

  it('on the reload event', async () => {
    const config = mutableConfig([A, B, C], [CANARY]);
    const m = fed(config);
    const before = await scrape(m);
    expect(ipSeries(before, C).length).toBeGreaterThanOrEqual(3); // misses + 2 verdicts
    expect(ipSeries(before, B)).toHaveLength(4); // misses, last RTT, 2 verdicts

    config.set([A, B], [CANARY]);
    m.configReload({ ok: true, at: T + 1 });
    const after = await scrape(m);
    expect(ipSeries(after, C)).toEqual([]);
    expect(ipSeries(after, B)).toEqual(ipSeries(before, B));
    expect(after.get(`goavail_verdict{ip="${A}",kind="cluster"}`)).toBe(1);
    // The canary keeps its probe series but has no verdict series.
    expect(after.get(`goavail_probe_misses_total{ip="${CANARY}"}`)).toBe(0);
    expect(after.has(`goavail_verdict{ip="${CANARY}",kind="local"}`)).toBe(false);
  });

  it('at scrape time, even when a round in flight reports a removed IP after the reload', async () => {
    const config = mutableConfig([A, B, C]);
    const m = fed(config);
    config.set([A]);
    m.configReload({ ok: true, at: T + 1 });
    m.probeRound(
      [
        { ip: B, ok: false },
        { ip: A, ok: true, rttMs: 0.1 },
      ],
      T + 2,
    ); // started before the reload
    const got = await scrape(m);
    expect(ipSeries(got, B)).toEqual([]);
    expect(ipSeries(got, C)).toEqual([]);
    expect(got.get(`goavail_probe_last_rtt_seconds{ip="${A}"}`)).toBe(0.0001);
  });

  it('an IP added back starts from scratch and unknown', async () => {
    const config = mutableConfig([A, B, C]);
    const m = fed(config);
    config.set([A, B]);
    await scrape(m);
    config.set([A, B, C]);
    m.configReload({ ok: true, at: T + 1 });
    const got = await scrape(m);
    expect(got.get(`goavail_verdict{ip="${C}",kind="local"}`)).toBe(-1);
    expect(got.has(`goavail_probe_misses_total{ip="${C}"}`)).toBe(false);
  });
});

describe("Metrics as the agent's event sink", () => {
  const agents: Agent[] = [];
  afterEach(async () => {
    await Promise.all(agents.splice(0).map((a) => a.stop()));
  });

  it('a real agent with a fake prober and DNS fills the series', async () => {
    const config = testConfig({ ips: [A, B] });
    const prober = new FakeProber();
    prober.down.add(B);
    const dns = new FakeDns([A, B].map((content) => ({ type: 'A' as const, name: 'www.example.com', content, proxied: false, ttl: 1 })));
    const metrics = new Metrics({ config: () => ({ ipAddresses: config.cloudflare!.ipAddresses, canaries: config.canaries }) });
    const agent = new Agent({
      config,
      logger: silentLogger(),
      dryRun: false,
      createProber: () => prober,
      createProvider: () => dns,
      events: fanOut([metrics]),
    });
    agents.push(agent);
    agent.start();
    await waitFor('B removed', () => dns.contents('www.example.com').join() === A);
    await waitFor('the delete counted', async () => (await scrape(metrics)).get('goavail_dns_changes_total{dry_run="false",op="delete"}') === 1);
    const got = await scrape(metrics);
    expect(got.get(`goavail_verdict{ip="${A}",kind="cluster"}`)).toBe(1);
    expect(got.get(`goavail_verdict{ip="${B}",kind="cluster"}`)).toBe(0);
    expect(got.get(`goavail_verdict{ip="${B}",kind="local"}`)).toBe(0);
    expect(got.get(`goavail_probe_misses_total{ip="${B}"}`)).toBeGreaterThanOrEqual(config.failureThreshold);
    expect(got.get(`goavail_probe_last_rtt_seconds{ip="${A}"}`)).toBeGreaterThanOrEqual(0);
    expect(got.get('goavail_probe_rtt_seconds_count')).toBeGreaterThanOrEqual(1);
    expect(got.get('goavail_dns_api_calls_total{operation="apply",result="ok"}')).toBe(1);
    expect(got.get('goavail_dns_api_calls_total{operation="list",result="ok"}')).toBeGreaterThanOrEqual(2);
    expect(got.get('goavail_reconcile_consecutive_failures')).toBe(0);
  });
});

describe('Metrics at scale', () => {
  it('10,000 IPs: a scrape stays small and each IP has exactly its four series', async () => {
    const ips = Array.from({ length: 10_000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    const m = new Metrics({ config: () => ({ ipAddresses: ips, canaries: [] }) });
    m.probeRound(
      ips.map((ip, i) => ({ ip, ok: i % 10 !== 0, rttMs: 1 })),
      T,
    );
    const text = await m.metrics();
    const got = parseExposition(text);
    const perIp = [...got.keys()].filter((k) => k.includes('ip="'));
    expect(perIp).toHaveLength(10_000 * 4 - 1_000); // the 1,000 that only missed have no last RTT yet
    expect(text.length).toBeLessThan(3_000_000);
    expect(got.get('goavail_probe_rtt_seconds_count')).toBe(9_000);
    // every family is declared once, before its samples
    for (const name of ['goavail_probe_misses_total', 'goavail_probe_last_rtt_seconds', 'goavail_verdict']) {
      expect(text.split(`# TYPE ${name} `)).toHaveLength(2);
      expect(text.indexOf(`# TYPE ${name} `)).toBeLessThan(text.indexOf(`${name}{`));
    }
  });
});

describe('Metrics: HTTP(S) misses by reason and certificate expiry', () => {
  it('counts misses by the reason they name, and keeps seconds left per IP (pruned with the IP)', async () => {
    const cfg = mutableConfig([A, B]);
    const m = new Metrics({ config: cfg.view });
    m.probeRound(
      [
        { ip: A, ok: false, reason: 'tls-expired', error: 'tls-expired: CERT_HAS_EXPIRED' },
        { ip: B, ok: true, rttMs: 3, certExpiresAt: T + 3 * 86_400_000 },
      ],
      T,
    );
    m.probeRound(
      [
        { ip: A, ok: false, reason: 'status', error: 'status: 503' },
        { ip: B, ok: false, error: 'timeout' },
      ],
      T + 1000,
    );
    const s = await scrape(m);
    expect(s.get('goavail_probe_misses_by_reason_total{reason="tls-expired"}')).toBe(1);
    expect(s.get('goavail_probe_misses_by_reason_total{reason="status"}')).toBe(1);
    expect(s.get(`goavail_cert_expiry_seconds{ip="${B}"}`)).toBe(3 * 86_400);
    expect(s.has(`goavail_cert_expiry_seconds{ip="${A}"}`)).toBe(false);
    cfg.set([A]);
    expect((await scrape(m)).has(`goavail_cert_expiry_seconds{ip="${B}"}`)).toBe(false);
  });
});

describe('metrics: failover stages and rechecks', () => {
  it('first miss → local verdict, local → cluster, cluster → DNS write, one observation each', async () => {
    const m = new Metrics();
    m.localVerdict({ ip: A, from: 'up', to: 'down', at: T + 1400, streakStartedAt: T });
    m.clusterVerdict({ ip: A, from: 'up', to: 'down', at: T + 1600, agreed: ['a', 'b'] });
    const change = { op: 'delete' as const, type: 'A' as const, hostname: 'www.example.com', ip: A, dryRun: false, summary: 'remove A', at: T + 1650 };
    m.dnsChange(change);
    m.dnsChange({ ...change, hostname: 'api.example.com' }); // a second hostname: not a second failover
    const s = await scrape(m);
    expect(s.get('goavail_failover_detect_seconds_sum{to="down"}')).toBeCloseTo(1.4);
    expect(s.get('goavail_failover_agree_seconds_sum{to="down"}')).toBeCloseTo(0.2);
    expect(s.get('goavail_failover_dns_seconds_sum{op="delete"}')).toBeCloseTo(0.05);
    expect(s.get('goavail_failover_dns_seconds_count{op="delete"}')).toBe(1);
  });

  it("a standby's record is no failover time: it follows the primaries, not its own (old) verdict", async () => {
    const m = new Metrics();
    m.clusterVerdict({ ip: A, from: 'unknown', to: 'up', at: T, agreed: ['a'] });
    const change = { op: 'create' as const, type: 'A' as const, hostname: 'www.example.com', ip: A, dryRun: false, summary: 'add A', at: T + 3_600_000 };
    m.dnsChange({ ...change, standby: 'failover' });
    expect((await scrape(m)).get('goavail_failover_dns_seconds_count{op="create"}') ?? 0).toBe(0);
    m.dnsChange(change); // the same as a primary: observed
    expect((await scrape(m)).get('goavail_failover_dns_seconds_count{op="create"}')).toBe(1);
  });

  it('standby failover: 0 until the policy fails over, 1 while it does, 0 after', async () => {
    const m = new Metrics();
    expect((await scrape(m)).get('goavail_standby_failover')).toBe(0);
    m.standby({ failover: true, standbyIps: ['198.18.0.9'], minActive: 1, at: 1 });
    expect((await scrape(m)).get('goavail_standby_failover')).toBe(1);
    m.standby({ failover: false, standbyIps: ['198.18.0.9'], minActive: 1, at: 2 });
    expect((await scrape(m)).get('goavail_standby_failover')).toBe(0);
  });

  it('extra probes, capped rechecks and the cap', async () => {
    const m = new Metrics();
    m.recheck({ sent: 0, capped: 0, limit: 200 });
    m.recheck({ sent: 3, capped: 2 });
    const s = await scrape(m);
    expect(s.get('goavail_recheck_probes_total')).toBe(3);
    expect(s.get('goavail_recheck_capped_total')).toBe(2);
    expect(s.get('goavail_recheck_max_rate')).toBe(200);
  });
});
