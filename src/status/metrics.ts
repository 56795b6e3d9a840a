import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Verdict } from '../detect/detector.js';
import type {
  AgentEvents,
  ClusterVerdictEvent,
  DnsCallEvent,
  DnsChangeSettledEvent,
  DnsChangeEvent,
  ReconcileEvent,
  SelfCheckEvent,
  SelfCheckState,
  StandbyEvent,
  VerdictEvent,
} from '../events.js';
import { PNET_REJECT_REASONS, type Gossip } from '../gossip/types.js';
import { LOCAL_ERROR_CODES, type NoObservationReason } from '../probe/local.js';
import type { ProbeResult } from '../probe/types.js';

/** The part of the config the metrics follow: which IPs may keep per-IP series. */
export interface MetricsConfigView {
  /** The managed IPs (src/config/schema.ts managedRecords). */
  readonly ipAddresses: readonly string[];
  readonly canaries: readonly string[];
}

export interface MetricsOptions {
  /** Cluster transport: drops, accepted batches and peers are read from it (absent in single-node mode). */
  readonly gossip?: Pick<Gossip, 'drops' | 'peers' | 'onObservations' | 'pnet'>;
  /**
   * The current config. Per-IP series of IPs that are neither a target nor
   * a canary any more are removed (on a reload event and at every scrape),
   * so reloads cannot grow the exposition forever; targets that have not
   * reached a verdict yet show as unknown (-1).
   */
  readonly config?: () => MetricsConfigView;
  /** Also export prom-client's process and Node.js metrics (`process_*`, `nodejs_*`). */
  readonly processMetrics?: boolean;
}

/** Verdict → gauge value: the sign says which way, 0 is down so `== 0` alerts read naturally. */
const VERDICT_VALUE: Readonly<Record<Verdict, number>> = { up: 1, down: 0, unknown: -1 };

const SELF_CHECK_STATES: readonly SelfCheckState[] = ['healthy', 'no-observations', 'canaries-failing', 'too-many-down'];

/** Every reason a probe result can be no observation; each series exists from the start at 0, so rate() sees the first one. */
const NO_OBSERVATION_REASONS: readonly NoObservationReason[] = [...LOCAL_ERROR_CODES, 'round-failed'];

/** Why the control endpoint refused a request (goavail_control_refused_total). */
export type ControlRefusal = 'unauthorized' | 'method' | 'unsupported-type' | 'too-large' | 'bad-request' | 'unavailable' | 'refused';
const CONTROL_REFUSALS: readonly ControlRefusal[] = ['unauthorized', 'method', 'unsupported-type', 'too-large', 'bad-request', 'unavailable', 'refused'];

/** Loopback RTTs are ~0.1 ms, LAN ~0.5 ms, far hosts ~100 ms; probe timeouts are at most a few seconds. */
const RTT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2];
/** A reconcile is one list and maybe one apply, each possibly retried with backoff. */
const RECONCILE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** Failover stage buckets (s): tens of ms (DNS writes) to tens of seconds (slow thresholds). */
const FAILOVER_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 2.5, 3, 4, 5, 7.5, 10, 20, 30, 60];
/** Resolution of the event-loop delay histogram (nodejs_eventloop_lag_*), in ms. */
const EVENT_LOOP_SAMPLE_MS = 100;

/**
 * Prometheus metrics for one agent, fed by the agent's events (it is an
 * {@link AgentEvents} sink) and, at scrape time, by the gossip layer.
 *
 * Why its own {@link Registry}: no module-level state, so tests and several
 * agents in one process never share series.
 *
 * | metric                                         | type      | labels          | source                      |
 * |------------------------------------------------|-----------|-----------------|-----------------------------|
 * | goavail_probe_rtt_seconds                      | histogram |                 | probeRound (successes, all IPs) |
 * | goavail_probe_last_rtt_seconds                 | gauge     | ip              | probeRound (last success per IP) |
 * | goavail_probe_misses_total                     | counter   | ip              | probeRound (failures)       |
 * | goavail_probe_no_observation_total             | counter   | reason          | probeRound (probes not sent: EMFILE...) |
 * | goavail_probe_misses_by_reason_total           | counter   | reason          | probeRound (misses that name a reason: http/https, see HTTP_MISS_REASONS) |
 * | goavail_cert_expiry_seconds                    | gauge     | ip              | probeRound (https: seconds left on the certificate at the last handshake) |
 * | goavail_probe_rounds_total                     | counter   |                 | probeRound                  |
 * | goavail_last_probe_round_timestamp_seconds     | gauge     |                 | probeRound                  |
 * | goavail_verdict                                | gauge     | ip, kind        | local/clusterVerdict: 1 up, 0 down, -1 unknown; kind = local or cluster |
 * | goavail_self_check                             | gauge     | state           | selfCheck, one-hot (1 for the current state) |
 * | goavail_dns_api_calls_total                    | counter   | operation, result | dnsCall (list/apply; ok or error kind) |
 * | goavail_dns_api_call_duration_seconds          | histogram | operation       | dnsCall                     |
 * | goavail_dns_change_insync_seconds              | histogram | status          | dnsChangeSettled (Route 53 GetChange) |
 * | goavail_dns_changes_total                      | counter   | op, dry_run     | dnsChange (create/delete)   |
 * | goavail_reconcile_duration_seconds             | histogram | result          | reconcile (ok/failed)       |
 * | goavail_reconcile_consecutive_failures         | gauge     |                 | reconcile                   |
 * | goavail_last_reconcile_success_timestamp_seconds | gauge   |                 | reconcile                   |
 * | goavail_config_reloads_total                   | counter   | result          | configReload (ok/failed)    |
 * | goavail_gossip_messages_accepted_total         | counter   |                 | gossip onObservations (batches delivered) |
 * | goavail_gossip_messages_dropped_total          | counter   | reason          | gossip.drops() at scrape    |
 * | goavail_gossip_peers_connected                 | gauge     |                 | gossip.peers() at scrape    |
 * | goavail_gossip_peers_configured                | gauge     |                 | gossip.peers() at scrape    |
 * | goavail_gossip_pnet_accepted_total             | counter   | direction, key  | gossip.pnet() at scrape: handshakes completed, by swarm key index |
 * | goavail_gossip_pnet_rejected_total             | counter   | reason          | gossip.pnet() at scrape: handshakes that gave no connection |
 * | goavail_failover_detect_seconds                | histogram | to              | localVerdict: first probe of the deciding streak sent → local verdict |
 * | goavail_failover_agree_seconds                 | histogram | to              | clusterVerdict: this agent's local verdict → cluster verdict (same direction) |
 * | goavail_failover_dns_seconds                   | histogram | op              | dnsChange: cluster verdict → DNS change acknowledged (by this agent) |
 * | goavail_recheck_probes_total                   | counter   |                 | recheck: extra probes sent by rapid rechecks (rate() = extra probes/s) |
 * | goavail_recheck_capped_total                   | counter   |                 | recheck: rechecks held back by the global cap |
 * | goavail_recheck_max_rate                       | gauge     |                 | recheck: the cap, rechecks per second (max_recheck_rate) |
 * | goavail_control_refused_total                  | counter   | reason          | the status server: control requests refused (see ControlRefusal) |
 *
 * The gossip series exist only in cluster mode (a gossip was given), the
 * pnet ones only with a crypto_key (a pnet protector).
 *
 * Per-IP series are kept in plain maps and turned into samples at scrape
 * time: a probe costs two map updates, not a label-hashed prom-client call.
 * The RTT histogram has no ip label: with one, 10,000 targets made 150,000
 * series, an 11 MB scrape that took ~860 ms to render.
 */
export class Metrics implements AgentEvents {
  readonly registry = new Registry();
  private readonly opts: MetricsOptions;
  private readonly rtt: Histogram;
  /** Per IP: misses so far, and the RTT of the last successful probe (s). */
  private readonly missCounts = new Map<string, number>();
  private readonly lastRtt = new Map<string, number>();
  /** Per IP (https): seconds left on the certificate at the last handshake. */
  private readonly certLeft = new Map<string, number>();
  private readonly missReasons: Counter<'reason'>;
  private readonly rounds: Counter;
  private readonly noObservation: Counter<'reason'>;
  private readonly lastRound: Gauge;
  private readonly dnsCalls: Counter<'operation' | 'result'>;
  private readonly dnsCallDuration: Histogram<'operation'>;
  private readonly changeInsync: Histogram<'status'>;
  private readonly dnsChanges: Counter<'op' | 'dry_run'>;
  private readonly reconcileDuration: Histogram<'result'>;
  private readonly reconcileFailures: Gauge;
  private readonly lastReconcileOk: Gauge;
  private readonly standbyFailover: Gauge;
  private readonly reloads: Counter<'result'>;
  private readonly audit: Counter<'result'>;
  private readonly controlRefusals: Counter<'reason'>;
  /** Verdicts by IP, turned into the gauge at scrape time. */
  private readonly local = new Map<string, Verdict>();
  private readonly cluster = new Map<string, Verdict>();
  private selfCheckState: SelfCheckState = 'healthy';
  private readonly detectTime: Histogram<'to'>;
  private readonly agreeTime: Histogram<'to'>;
  private readonly dnsTime: Histogram<'op'>;
  private readonly recheckProbes: Counter;
  private readonly recheckCapped: Counter;
  private readonly recheckLimit: Gauge;
  /** Per IP: the last local verdict change and the last cluster verdict change (ms), for the failover histograms. */
  private readonly localAt = new Map<string, { to: Verdict; at: number }>();
  private readonly clusterAt = new Map<string, { to: Verdict; at: number }>();

  constructor(opts: MetricsOptions = {}) {
    this.opts = opts;
    const registers = [this.registry];
    this.rtt = new Histogram({
      name: 'goavail_probe_rtt_seconds',
      help: 'Round-trip time of successful probes, all IPs (per IP: goavail_probe_last_rtt_seconds)',
      buckets: RTT_BUCKETS,
      registers,
    });
    this.rounds = new Counter({ name: 'goavail_probe_rounds_total', help: 'Completed probe rounds', registers });
    this.detectTime = new Histogram({
      name: 'goavail_failover_detect_seconds',
      help: "From the first probe of the streak that turned this agent's local verdict to the verdict",
      labelNames: ['to'],
      buckets: FAILOVER_BUCKETS,
      registers,
    });
    this.agreeTime = new Histogram({
      name: 'goavail_failover_agree_seconds',
      help: "From this agent's local verdict to the cluster verdict in the same direction",
      labelNames: ['to'],
      buckets: FAILOVER_BUCKETS,
      registers,
    });
    this.dnsTime = new Histogram({
      name: 'goavail_failover_dns_seconds',
      help: 'From the cluster verdict to the DNS change this agent made for it being acknowledged',
      labelNames: ['op'],
      buckets: FAILOVER_BUCKETS,
      registers,
    });
    this.recheckProbes = new Counter({ name: 'goavail_recheck_probes_total', help: 'Extra probes sent by rapid rechecks', registers });
    this.recheckCapped = new Counter({ name: 'goavail_recheck_capped_total', help: 'Rechecks held back by the global cap (max_recheck_rate)', registers });
    this.recheckLimit = new Gauge({ name: 'goavail_recheck_max_rate', help: 'The global cap on rechecks per second (max_recheck_rate)', registers });
    this.noObservation = new Counter({
      name: 'goavail_probe_no_observation_total',
      help: 'Probes that could not be sent for a reason of this host (EMFILE, ENFILE, ENOBUFS, ENOMEM, EADDRNOTAVAIL; round-failed: the prober rejected a whole round): no observation, neither a miss nor a success',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of NO_OBSERVATION_REASONS) this.noObservation.inc({ reason }, 0);
    this.missReasons = new Counter({
      name: 'goavail_probe_misses_by_reason_total',
      help: 'Probe misses by reason, for the probes that name one (http/https: refused, connect-timeout, tls-expired, tls-name-mismatch, tls-unknown-ca, status, body, too-slow...)',
      labelNames: ['reason'],
      registers,
    });
    this.lastRound = new Gauge({ name: 'goavail_last_probe_round_timestamp_seconds', help: 'When the last probe round completed (Unix time)', registers });
    const selfCheck = (): SelfCheckState => this.selfCheckState;
    new Gauge({
      name: 'goavail_self_check',
      help: "Observer self-check state, one-hot: 1 for the current state (not healthy: this agent's down votes are abstentions)",
      labelNames: ['state'],
      registers,
      collect() {
        const current = selfCheck();
        for (const state of SELF_CHECK_STATES) this.set({ state }, state === current ? 1 : 0);
      },
    });
    this.dnsCalls = new Counter({
      name: 'goavail_dns_api_calls_total',
      help: 'Calls through the DNS provider seam, by operation and result (ok or the error kind)',
      labelNames: ['operation', 'result'],
      registers,
    });
    this.dnsCallDuration = new Histogram({
      name: 'goavail_dns_api_call_duration_seconds',
      help: 'Duration of DNS provider calls, retries included',
      labelNames: ['operation'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.changeInsync = new Histogram({
      name: 'goavail_dns_change_insync_seconds',
      help: 'From a DNS write to the provider saying it is live everywhere (Route 53: GetChange INSYNC); status="unknown": polling gave up',
      labelNames: ['status'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.dnsChanges = new Counter({
      name: 'goavail_dns_changes_total',
      help: 'DNS records created or deleted (dry_run="true": would have been)',
      labelNames: ['op', 'dry_run'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'goavail_reconcile_duration_seconds',
      help: 'Duration of reconcile passes (read, plan, apply), by result',
      labelNames: ['result'],
      buckets: RECONCILE_BUCKETS,
      registers,
    });
    this.reconcileFailures = new Gauge({
      name: 'goavail_reconcile_consecutive_failures',
      help: 'Reconcile passes failed in a row (0 after a success)',
      registers,
    });
    this.lastReconcileOk = new Gauge({
      name: 'goavail_last_reconcile_success_timestamp_seconds',
      help: 'When a reconcile last succeeded (Unix time; 0: never)',
      registers,
    });
    this.standbyFailover = new Gauge({
      name: 'goavail_standby_failover',
      help: 'Standby IPs: 1 while fewer than min_active primary IPs can be up (the standbys that are up are in DNS), else 0',
      registers,
    });
    this.reloads = new Counter({
      name: 'goavail_config_reloads_total',
      help: 'Config reloads (SIGHUP) by result; a failed one keeps the previous config',
      labelNames: ['result'],
      registers,
    });
    for (const result of ['ok', 'failed']) this.reloads.inc({ result }, 0);
    this.audit = new Counter({
      name: 'goavail_audit_entries_total',
      help: 'Audit log entries (audit_file) by result: written, or failed (disk full, not writable: the DNS change is made all the same)',
      labelNames: ['result'],
      registers,
    });
    this.controlRefusals = new Counter({
      name: 'goavail_control_refused_total',
      help: 'Control requests (POST /drain, /undrain, GET /drains) refused, by reason: unauthorized (no or wrong token), method, unsupported-type, too-large, bad-request, unavailable (no drain control), refused (by the agent: unknown IP, last up IP...)',
      labelNames: ['reason'],
      registers,
    });
    for (const reason of CONTROL_REFUSALS) this.controlRefusals.inc({ reason }, 0);
    this.reconcileFailures.set(0);
    this.lastReconcileOk.set(0);

    const gossip = opts.gossip;
    if (gossip) {
      const accepted = new Counter({
        name: 'goavail_gossip_messages_accepted_total',
        help: 'Observation batches from peers that passed validation and reached the agent',
        registers,
      });
      gossip.onObservations(() => accepted.inc());
      new Counter({
        name: 'goavail_gossip_messages_dropped_total',
        help: 'Gossip messages dropped, by reason (bad-tag: wrong key or tampered; replayed; too-old/too-new: clock skew...)',
        labelNames: ['reason'],
        registers,
        collect() {
          this.reset();
          for (const [reason, n] of Object.entries(gossip.drops())) this.inc({ reason }, n);
        },
      });
      new Gauge({
        name: 'goavail_gossip_peers_connected',
        help: 'Configured peers currently connected',
        registers,
        collect() {
          this.set(gossip.peers().filter((p) => p.connected).length);
        },
      });
      new Gauge({
        name: 'goavail_gossip_peers_configured',
        help: 'Peers in [Members] peers',
        registers,
        collect() {
          this.set(gossip.peers().length);
        },
      });
      const pnet = gossip.pnet?.bind(gossip);
      if (pnet?.() !== undefined) {
        new Counter({
          name: 'goavail_gossip_pnet_accepted_total',
          help: 'Private-network handshakes completed, by direction and swarm key index (key="0": the first crypto_key; inbound on a later key: a peer has not rotated yet)',
          labelNames: ['direction', 'key'],
          registers,
          collect() {
            this.reset();
            const c = pnet();
            if (!c) return;
            this.inc({ direction: 'outbound', key: '0' }, c.outbound);
            c.inbound.forEach((n, key) => this.inc({ direction: 'inbound', key: String(key) }, n));
          },
        });
        new Counter({
          name: 'goavail_gossip_pnet_rejected_total',
          help: 'Private-network handshakes that gave no connection, by reason (no-matching-key: a peer with none of the crypto_keys; timeout, aborted, closed, error)',
          labelNames: ['reason'],
          registers,
          collect() {
            this.reset();
            const c = pnet();
            for (const reason of PNET_REJECT_REASONS) this.inc({ reason }, c?.rejects[reason] ?? 0);
          },
        });
      }
    }
    // The event-loop delay sampler wakes the process every
    // eventLoopMonitoringPrecision ms: at prom-client's default (10 ms) that
    // alone cost ~6 ms of CPU per second here, more than probing 100 targets.
    if (opts.processMetrics) collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS });
  }

  /** Content-Type of {@link metrics}' text. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The Prometheus text exposition: prom-client's series, then the per-IP families. */
  async metrics(): Promise<string> {
    this.prune();
    return (await this.registry.metrics()) + this.perIpExposition();
  }

  /**
   * The per-IP families, written directly: IP text needs no escaping, and
   * going through prom-client (label hashing, generic formatting) took
   * ~390 ms for 10,000 IPs against tens of ms this way.
   */
  private perIpExposition(): string {
    const out: string[] = [];
    const family = (name: string, type: 'counter' | 'gauge', help: string): void => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    };
    family('goavail_probe_misses_total', 'counter', 'Probes that failed (timeout, refused, unreachable)');
    for (const [ip, n] of this.missCounts) out.push(`goavail_probe_misses_total{ip="${ip}"} ${n}`);
    family('goavail_probe_last_rtt_seconds', 'gauge', 'Round-trip time of the last successful probe of an IP');
    for (const [ip, seconds] of this.lastRtt) out.push(`goavail_probe_last_rtt_seconds{ip="${ip}"} ${seconds}`);
    if (this.certLeft.size > 0) {
      family('goavail_cert_expiry_seconds', 'gauge', 'https: seconds until the certificate an IP served expires, as of the last handshake (negative: expired)');
      for (const [ip, seconds] of this.certLeft) out.push(`goavail_cert_expiry_seconds{ip="${ip}"} ${seconds}`);
    }
    family(
      'goavail_verdict',
      'gauge',
      'Verdict per IP: 1 up, 0 down, -1 unknown; kind="local" is this agent\'s detector, kind="cluster" the agreed verdict DNS follows',
    );
    for (const [ip, local, cluster] of this.verdictRows()) {
      out.push(`goavail_verdict{ip="${ip}",kind="local"} ${VERDICT_VALUE[local]}`, `goavail_verdict{ip="${ip}",kind="cluster"} ${VERDICT_VALUE[cluster]}`);
    }
    return out.join('\n') + '\n';
  }

  // ---- AgentEvents ------------------------------------------------------------

  probeRound(results: readonly ProbeResult[], at: number): void {
    const notSent = new Map<string, number>();
    for (const r of results) {
      if (r.local !== undefined && !r.ok) {
        // No probe went out: not a miss. Counted by reason, not per IP.
        notSent.set(r.local, (notSent.get(r.local) ?? 0) + 1);
        continue;
      }
      // A probed IP has a miss series from its first probe on (0 until it misses), so rate() sees the first miss.
      this.missCounts.set(r.ip, (this.missCounts.get(r.ip) ?? 0) + (r.ok ? 0 : 1));
      if (!r.ok && r.reason !== undefined) this.missReasons.inc({ reason: r.reason });
      if (r.certExpiresAt !== undefined && Number.isFinite(r.certExpiresAt)) this.certLeft.set(r.ip, Math.round((r.certExpiresAt - at) / 1000));
      if (r.ok && r.rttMs !== undefined && Number.isFinite(r.rttMs)) {
        this.rtt.observe(r.rttMs / 1000);
        this.lastRtt.set(r.ip, r.rttMs / 1000);
      }
    }
    for (const [reason, n] of notSent) this.noObservation.inc({ reason }, n);
    this.rounds.inc();
    this.lastRound.set(at / 1000);
  }

  localVerdict(e: VerdictEvent): void {
    this.local.set(e.ip, e.to);
    this.localAt.set(e.ip, { to: e.to, at: e.at });
    if (e.streakStartedAt !== undefined && e.to !== 'unknown') this.detectTime.observe({ to: e.to }, Math.max(0, e.at - e.streakStartedAt) / 1000);
  }

  clusterVerdict(e: ClusterVerdictEvent): void {
    this.cluster.set(e.ip, e.to);
    this.clusterAt.set(e.ip, { to: e.to, at: e.at });
    const local = this.localAt.get(e.ip);
    if (local && local.to === e.to && e.to !== 'unknown') this.agreeTime.observe({ to: e.to }, Math.max(0, e.at - local.at) / 1000);
  }

  recheck(e: { sent: number; capped: number; limit?: number }): void {
    if (e.sent > 0) this.recheckProbes.inc(e.sent);
    if (e.capped > 0) this.recheckCapped.inc(e.capped);
    if (e.limit !== undefined) this.recheckLimit.set(e.limit);
  }

  selfCheck(e: SelfCheckEvent): void {
    this.selfCheckState = e.to;
  }

  dnsChangeSettled(e: DnsChangeSettledEvent): void {
    this.changeInsync.observe({ status: e.status }, e.ms / 1000);
  }

  dnsCall(e: DnsCallEvent): void {
    this.dnsCalls.inc({ operation: e.op, result: e.result });
    this.dnsCallDuration.observe({ operation: e.op }, e.durationMs / 1000);
  }

  dnsChange(e: DnsChangeEvent): void {
    this.dnsChanges.inc({ op: e.op, dry_run: String(e.dryRun) });
    const c = this.clusterAt.get(e.ip);
    // A standby's change follows the primaries, not its own verdict: no failover time.
    if (c && e.standby === undefined && c.to === (e.op === 'delete' ? 'down' : 'up')) {
      this.dnsTime.observe({ op: e.op }, Math.max(0, e.at - c.at) / 1000);
      this.clusterAt.delete(e.ip); // one observation per verdict, not one per hostname
    }
  }

  standby(e: StandbyEvent): void {
    this.standbyFailover.set(e.failover ? 1 : 0);
  }

  reconcile(e: ReconcileEvent): void {
    this.reconcileDuration.observe({ result: e.ok ? 'ok' : 'failed' }, e.durationMs / 1000);
    this.reconcileFailures.set(e.consecutiveFailures);
    if (e.ok) this.lastReconcileOk.set(e.at / 1000);
  }

  /** One audit log append: written or failed. */
  auditWrite(ok: boolean): void {
    this.audit.inc({ result: ok ? 'written' : 'failed' });
  }

  /** The status server refused a control request. */
  controlRefused(reason: ControlRefusal): void {
    this.controlRefusals.inc({ reason });
  }

  configReload(e: { ok: boolean; at: number }): void {
    this.reloads.inc({ result: e.ok ? 'ok' : 'failed' });
    if (e.ok) this.prune();
  }

  // ---- internals --------------------------------------------------------------

  /** [ip, local, cluster] for every target (unknown until an event says otherwise). */
  private verdictRows(): Array<[string, Verdict, Verdict]> {
    const ips = this.opts.config ? this.opts.config().ipAddresses : [...new Set([...this.local.keys(), ...this.cluster.keys()])];
    return ips.map((ip) => [ip, this.local.get(ip) ?? 'unknown', this.cluster.get(ip) ?? 'unknown']);
  }

  /** Drops the series of IPs the config no longer has. */
  private prune(): void {
    if (!this.opts.config) return;
    const c = this.opts.config();
    const keep = new Set([...c.ipAddresses, ...c.canaries]);
    for (const map of [this.missCounts, this.lastRtt, this.certLeft]) {
      for (const ip of map.keys()) if (!keep.has(ip)) map.delete(ip);
    }
    const targets = new Set(c.ipAddresses);
    for (const map of [this.local, this.cluster]) {
      for (const ip of map.keys()) if (!targets.has(ip)) map.delete(ip);
    }
  }
}
