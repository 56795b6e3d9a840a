import type { Config } from './config/schema.js';
import { INITIAL, step as detect, type TargetState, type Verdict } from './detect/detector.js';
import { effectiveVote, selfCheck } from './detect/selfcheck.js';
import { InstrumentedProvider } from './dns/instrumented.js';
import { plan, recordTypeOf, describeChange, type HeldRemoval } from './dns/plan.js';
import { retryDelayMs } from './dns/retry.js';
import { DnsError, type Change, type DnsProvider, type DnsRecord } from './dns/types.js';
import type { AgentEvents, SelfCheckState } from './events.js';
import type { Gossip, Observation, ObservationBatch, PeerStatus } from './gossip/types.js';
import type { Logger } from './log.js';
import { localErrorCode } from './probe/local.js';
import type { Prober, ProbeResult } from './probe/types.js';
import {
  agreeingRank, clusterVerdict, initialQuorum, isDesignatedWriter, step as quorumStep, supportedVerdict,
  type ClusterVerdict, type QuorumEvent, type QuorumOptions, type QuorumState,
} from './quorum/quorum.js';
import { agentStatus, type AgentStatus, type ControllerState, type DnsActivity, type ObserverState } from './status/view.js';

/**
 * The agent owns the timers and wires the pipeline:
 *
 *   probe ──▶ detect ──▶ gossip ──▶ quorum ──▶ plan ▶ apply
 *
 * Every part it calls is pure or sits behind a seam passed in here, so the
 * agent is the only place where time passes. DNS is reconciled, never
 * fired at: on every cluster verdict change, on a timer, and after a
 * failure (with backoff), it reads the records, plans, and applies.
 */
export interface AgentOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly dryRun: boolean;
  /** Builds the prober for a config (called again when the probe type or port changes). */
  readonly createProber: (config: Config) => Prober;
  /** Builds the DNS provider for a config (called again when the zone changes). Dry-run wrapping is the caller's. */
  readonly createProvider: (config: Config) => DnsProvider;
  /** The cluster transport; absent in single-node mode. */
  readonly gossip?: Gossip;
  /** This agent's id in quorum (its peer id); default "self". */
  readonly selfId?: string;
  readonly now?: () => number;
  /** A number in [0, 1): the jitter of the reconcile backoff (default Math.random; tests pass their own). */
  readonly random?: () => number;
  /** Watchers: metrics, notifications. */
  readonly events?: AgentEvents;
}

export type { AgentStatus, DnsActivity, PeerObservation, TargetStatus } from './status/view.js';

/** How long an observation counts: long enough to survive two missed full-state rounds. */
export function freshnessMs(config: Config): number {
  return 3 * fullStateIntervalMs(config) + config.intervalMs;
}

/**
 * Agents re-publish their whole state this often: publishes before the mesh
 * forms are lost, and a restarted agent learns its peers' votes from it.
 * 10 s keeps steady-state gossip under 1 KB/s per agent at 1,000 targets.
 */
export function fullStateIntervalMs(config: Config): number {
  return Math.max(2 * config.intervalMs, 10_000);
}

/**
 * How long the writer waits after the quorum completes before it writes,
 * from the recent gossip delays (receive time − send time, ms).
 *
 * Two agents that turn within the gossip delay each see the quorum
 * completed by themselves until the other's vote arrives (measured on a
 * loaded 2-core machine: an agent that turned 5 ms after another had not
 * heard of it 11 ms later, and both wrote). Once the earlier vote has
 * arrived only the real completer still counts itself the writer. Gossip
 * delivers in ~3 ms (p99 18 ms) on an idle machine and far slower on a
 * loaded one, so the wait follows what messages take now:
 *
 * | recent delays           | settle                                  |
 * |-------------------------|-----------------------------------------|
 * | none yet                | {@link SETTLE_MAX_MS}                   |
 * | some                    | 2 × the largest, within [MIN, MAX]      |
 *
 * A delay below 0 (a peer clock behind ours) counts as 0; one above the
 * cap (a peer clock ahead) as the cap.
 */
export function writerSettleMs(recentDelaysMs: readonly number[]): number {
  if (recentDelaysMs.length === 0) return SETTLE_MAX_MS;
  const worst = Math.max(...recentDelaysMs.map((d) => Math.min(Math.max(d, 0), SETTLE_MAX_MS)));
  return Math.min(Math.max(2 * worst, SETTLE_MIN_MS), SETTLE_MAX_MS);
}
export const SETTLE_MIN_MS = 20;
export const SETTLE_MAX_MS = 500;
/** Gossip delays remembered for {@link writerSettleMs}. */
const DELAY_SAMPLES = 20;

/**
 * While probes cannot be sent (EMFILE...), the warning is logged at the first
 * such round and then at most this often, with counts in between: a 1 s
 * interval with 10,000 targets must not write 10,000 lines a second.
 */
export const NO_OBSERVATION_LOG_MS = 60_000;

/** A non-writer applies a change itself once it has been pending this long. */
export function writerGraceMs(config: Config): number {
  return Math.max(3 * config.intervalMs, 3_000);
}

export class Agent {
  private config: Config;
  private prober: Prober;
  private provider: DnsProvider;
  private readonly logger: Logger;
  private readonly now: () => number;
  private readonly gossip: Gossip | undefined;
  private targets = new Map<string, TargetState>();
  private canaries = new Map<string, TargetState>();
  /** The vote last fed to quorum and gossip, per IP. */
  private votes = new Map<string, Verdict>();
  private selfState: { state: SelfCheckState; since: number | undefined; detail: string } = { state: 'healthy', since: undefined, detail: 'ok' };
  /** Set when the last round had targets and not one observation: its reasons (`EMFILE`), for the self-check. */
  private noObservation: string | undefined;
  /** Probes not sent since the last warning about them (see NO_OBSERVATION_LOG_MS); undefined while every probe goes out. */
  private notSentLog: { since: number; loggedAt: number | undefined; rounds: number; probes: number } | undefined;
  private readonly events: AgentEvents;
  private startedAt: number | undefined;
  private lastRoundAt: number | undefined;
  /** Last records read from DNS, for status. */
  private lastRead: Map<string, Set<string>> | undefined;
  private lastActions = new Map<string, { summary: string; at: number }>();
  private quorum: QuorumState;
  private readonly abort = new AbortController();
  private probeTimer: NodeJS.Timeout | undefined;
  private reconcileTimer: NodeJS.Timeout | undefined;
  private fullStateTimer: NodeJS.Timeout | undefined;
  private nextRoundAt = 0;
  private roundRunning: Promise<void> | undefined;
  private reconcileRunning: Promise<void> | undefined;
  private reconcilePending = false;
  private reconcileFailures = 0;
  /** After a failed pass, no pass starts before this (backoff or the API's Retry-After). */
  private reconcileRetryAt = 0;
  private lastReconcile: DnsActivity | undefined;
  private lastHeldKey = '';
  private held: readonly string[] = [];
  private started = false;
  private stopped = false;
  private connectedPeers = new Set<string>();
  /** The last few gossip delays (receive − send, ms): the writer's settle. */
  private readonly delays: number[] = [];

  constructor(private readonly opts: AgentOptions) {
    this.config = opts.config;
    this.logger = opts.logger;
    this.now = opts.now ?? Date.now;
    this.gossip = opts.gossip;
    this.events = opts.events ?? {};
    this.prober = opts.createProber(this.config);
    this.provider = this.instrument(opts.createProvider(this.config));
    for (const ip of this.config.cloudflare.ipAddresses) this.targets.set(ip, INITIAL);
    for (const ip of this.config.canaries) this.canaries.set(ip, INITIAL);
    this.quorum = initialQuorum(opts.selfId ?? 'self', this.config.cloudflare.ipAddresses);
  }

  private instrument(p: DnsProvider): DnsProvider {
    return new InstrumentedProvider(p, this.events, this.now);
  }

  private quorumOptions(): QuorumOptions {
    return { minPeersAgree: this.config.members.minPeersAgree, freshnessMs: freshnessMs(this.config) };
  }

  /** Starts the probe loop, the reconcile timer and (in a cluster) the gossip handlers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.startedAt = this.now();
    const c = this.config;
    this.logger.info(
      { ips: c.cloudflare.ipAddresses, hostnames: c.cloudflare.hostnames, interval: c.intervalMs / 1000, failureThreshold: c.failureThreshold, recoveryThreshold: c.recoveryThreshold, probe: this.prober.kind, dryRun: this.opts.dryRun, provider: this.provider.name, minPeersAgree: c.members.minPeersAgree },
      'agent started',
    );
    this.gossip?.onObservations((from, batch, receivedAt) => this.onObservations(from, batch, receivedAt));
    this.nextRoundAt = this.now();
    this.scheduleRound();
    // A first pass at once: it checks credentials and the zone early. Every
    // target is unknown, so it changes nothing.
    this.requestReconcile('start');
    if (this.gossip) this.scheduleFullState();
  }

  /** Stops every timer and waits for the running round and reconcile to finish (bounded by the caller). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    clearTimeout(this.probeTimer);
    clearTimeout(this.reconcileTimer);
    clearTimeout(this.fullStateTimer);
    await Promise.allSettled([this.roundRunning, this.reconcileRunning]);
    this.prober.close();
    this.logger.info('agent stopped');
  }

  /**
   * Swaps in a new (already validated) config. New IPs start unknown,
   * removed IPs stop being probed and their records are left alone, new
   * thresholds and interval apply from the next round.
   */
  reload(next: Config): void {
    const prev = this.config;
    this.config = next;
    // Only a change of kind, or of the TCP port, needs a new prober (two ICMP
    // probers alive at once would share session ids).
    if (next.probeType !== prev.probeType || (next.probeType === 'tcp' && next.port !== prev.port)) {
      const old = this.prober;
      this.prober = this.opts.createProber(next);
      void Promise.resolve(this.roundRunning).finally(() => old.close());
    }
    if (next.cloudflare.dnsDomain !== prev.cloudflare.dnsDomain || next.cloudflare.zoneId !== prev.cloudflare.zoneId) this.provider = this.instrument(this.opts.createProvider(next));
    const targets = new Map<string, TargetState>();
    for (const ip of next.cloudflare.ipAddresses) targets.set(ip, this.targets.get(ip) ?? INITIAL);
    const added = next.cloudflare.ipAddresses.filter((ip) => !this.targets.has(ip));
    const removed = [...this.targets.keys()].filter((ip) => !targets.has(ip));
    this.targets = targets;
    const canaries = new Map<string, TargetState>();
    for (const ip of next.canaries) canaries.set(ip, this.canaries.get(ip) ?? INITIAL);
    this.canaries = canaries;
    for (const ip of removed) {
      this.votes.delete(ip);
      this.lastActions.delete(ip);
    }
    this.applyQuorum({ type: 'targets', ips: next.cloudflare.ipAddresses });
    this.updateVotes();
    if (membersChanged(prev, next)) {
      this.logger.warn('[Members] changes (peers, local_addr, crypto_key, key_file) take effect after a restart; min_peers_agree applies now');
    }
    this.logger.info({ added, removed, file: next.file }, 'config reloaded');
    this.events.configReload?.({ ok: true, at: this.now() });
    if (next.intervalMs !== prev.intervalMs) {
      clearTimeout(this.probeTimer);
      this.nextRoundAt = this.now() + Math.min(next.intervalMs, prev.intervalMs);
      if (!this.roundRunning) this.scheduleRound();
    }
    if (next.reconcileIntervalMs !== prev.reconcileIntervalMs) this.scheduleReconcile(next.reconcileIntervalMs);
    this.requestReconcile('config reloaded');
  }

  status(): AgentStatus {
    const observer: ObserverState = {
      id: this.quorum.self,
      lastRoundAt: this.lastRoundAt,
      intervalMs: this.config.intervalMs,
      minPeersAgree: this.config.members.minPeersAgree,
      freshnessMs: freshnessMs(this.config),
      selfCheck: this.selfState,
      targets: this.targets,
      votes: this.votes,
      canaries: this.canaries,
      quorum: this.quorum,
      peers: this.gossip?.peers() ?? [],
    };
    const controller: ControllerState = {
      hostnames: this.config.cloudflare.hostnames,
      lastRead: this.lastRead,
      lastActions: this.lastActions,
      lastReconcile: this.lastReconcile,
      consecutiveReconcileFailures: this.reconcileFailures,
      held: this.held,
    };
    return agentStatus({ dryRun: this.opts.dryRun, startedAt: this.startedAt, configFile: this.config.file, running: this.started && !this.stopped }, observer, controller, this.now());
  }

  /**
   * The verdicts DNS follows: the cluster verdict while the agreement behind
   * it holds (own vote + enough fresh peers), unknown (hold) otherwise.
   */
  verdicts(): Map<string, Verdict> {
    const now = this.now();
    const opts = this.quorumOptions();
    return new Map([...this.targets.keys()].map((ip) => [ip, supportedVerdict(this.quorum, ip, now, opts)]));
  }

  // ---- probe loop ---------------------------------------------------------

  private scheduleRound(): void {
    if (this.stopped) return;
    const delay = Math.max(0, this.nextRoundAt - this.now());
    this.probeTimer = setTimeout(() => {
      this.roundRunning = this.round().finally(() => {
        this.roundRunning = undefined;
        this.scheduleRound();
      });
    }, delay);
  }

  private async round(): Promise<void> {
    const config = this.config;
    const started = this.now();
    this.nextRoundAt = Math.max(this.nextRoundAt + config.intervalMs, started + 1);
    if (this.nextRoundAt <= started) this.nextRoundAt = started + config.intervalMs;
    const ips = [...this.targets.keys(), ...[...this.canaries.keys()].filter((ip) => !this.targets.has(ip))];
    let results: ProbeResult[];
    let roundError: unknown;
    try {
      results = await this.prober.probe(ips, config.timeoutMs, this.abort.signal);
    } catch (err) {
      if (this.stopped) return; // aborted by stop(): not an observation
      // A prober never rejects for a target, so a rejected round says nothing
      // about any of them (EMFILE while setting up, a bug): no observation,
      // not a miss for every target. The verdicts stay as they were.
      roundError = err;
      const local = localErrorCode(err) ?? 'round-failed';
      const error = `no probe round (${local}): ${err instanceof Error ? err.message : String(err)}`;
      results = ips.map((ip) => ({ ip, ok: false, local, error }));
    }
    if (this.stopped) return;
    const now = this.now();
    this.lastRoundAt = now;
    this.events.probeRound?.(results, now);
    this.noteNotSent(results, now, roundError);
    for (const r of results) {
      const canary = this.canaries.get(r.ip);
      if (!canary) continue;
      const { state, changedFrom } = detect(canary, r, now, this.config);
      this.canaries.set(r.ip, state);
      if (changedFrom !== undefined) this.logger.info({ ip: r.ip, from: changedFrom, to: state.verdict }, `canary ${r.ip} is ${state.verdict}`);
    }
    for (const r of results) {
      const before = this.targets.get(r.ip);
      if (!before) continue; // removed by a reload during the round
      const { state, changedFrom } = detect(before, r, now, this.config);
      this.targets.set(r.ip, state);
      this.logger.debug({ ip: r.ip, ok: r.ok, rttMs: r.rttMs, error: r.error, local: r.local, misses: state.misses, successes: state.successes, verdict: state.verdict }, 'probe');
      if (changedFrom !== undefined) {
        this.logger.info({ ip: r.ip, from: changedFrom, to: state.verdict, misses: state.misses, successes: state.successes, lastError: state.lastError }, `local verdict: ${r.ip} is ${state.verdict}`);
        this.events.localVerdict?.({ ip: r.ip, from: changedFrom, to: state.verdict, at: now });
      }
    }
    this.updateSelfCheck(now);
    this.updateVotes();
    if (this.gossip) {
      this.trackPeers();
      this.applyQuorum({ type: 'tick' });
    }
  }

  // ---- self-check and votes --------------------------------------------------

  /**
   * Probes this round could not send (local errors, see src/probe/local.ts):
   * remembers whether the whole round went unobserved (for the self-check)
   * and warns once per {@link NO_OBSERVATION_LOG_MS} at most, one line for
   * the round, never one per IP.
   */
  private noteNotSent(results: readonly ProbeResult[], now: number, roundError: unknown): void {
    const reasons = new Map<string, number>();
    let example: string | undefined;
    for (const r of results) {
      if (r.ok || r.local === undefined) continue;
      reasons.set(r.local, (reasons.get(r.local) ?? 0) + 1);
      example ??= r.error;
    }
    const notSent = [...reasons.values()].reduce((a, b) => a + b, 0);
    this.noObservation = results.length > 0 && notSent === results.length ? [...reasons.keys()].sort().join(', ') : undefined;
    if (notSent === 0) {
      if (this.notSentLog) {
        this.logger.info({ sinceMs: now - this.notSentLog.since }, 'probes are sent again: every target observed this round');
        this.notSentLog = undefined;
      }
      return;
    }
    const log = (this.notSentLog ??= { since: now, loggedAt: undefined, rounds: 0, probes: 0 });
    log.rounds += 1;
    log.probes += notSent;
    if (log.loggedAt !== undefined && now - log.loggedAt < NO_OBSERVATION_LOG_MS) return;
    const codes = [...reasons.keys()].sort().join(', ');
    this.logger.warn(
      { reasons: Object.fromEntries(reasons), notSent, targets: results.length, roundsSinceLastWarning: log.rounds, probesSinceLastWarning: log.probes, example, err: roundError },
      `${notSent} of ${results.length} probes could not be sent (${codes}): no observation for those targets, their verdicts are kept (not counted as misses)`,
    );
    log.loggedAt = now;
    log.rounds = 0;
    log.probes = 0;
  }

  private updateSelfCheck(now: number): void {
    const r = selfCheck({
      targets: [...this.targets.values()].map((s) => s.verdict),
      canaries: [...this.canaries.values()].map((s) => s.verdict),
      freezeMinTargets: this.config.freezeMinTargets,
      freezeShare: this.config.freezeShare,
      noObservation: this.noObservation,
    });
    const prev = this.selfState;
    if (r.state === prev.state) {
      this.selfState = { ...prev, detail: r.detail };
      return;
    }
    this.selfState = { state: r.state, since: now, detail: r.detail };
    if (r.state === 'healthy') this.logger.info({ selfCheck: r.state, was: prev.state }, `self-check healthy again: this agent's down votes count again (${r.detail})`);
    else this.logger.warn({ selfCheck: r.state, was: prev.state }, `self-check: ${r.detail}; this agent's down votes are abstentions until it recovers`);
    this.events.selfCheck?.({ from: prev.state, to: r.state, detail: r.detail, at: now });
  }

  /** Feeds quorum (and peers) the votes that changed since last time. */
  private updateVotes(): void {
    const changed: Array<{ ip: string; verdict: Verdict }> = [];
    for (const [ip, s] of this.targets) {
      const vote = effectiveVote(s.verdict, this.selfState.state);
      if ((this.votes.get(ip) ?? 'unknown') === vote) continue;
      this.votes.set(ip, vote);
      changed.push({ ip, verdict: vote });
    }
    if (changed.length === 0) return;
    // One instant for the vote here and its stamp on the wire: writer
    // election orders votes by when they turned, and every agent must see
    // the same order. Logging, watchers and the reconcile this step may
    // start run in between; on a loaded machine a second clock read here
    // was tens of milliseconds later, enough for two agents to both count
    // themselves the writer.
    const at = this.now();
    this.applyQuorum({ type: 'locals', votes: changed }, at);
    if (this.gossip) this.publish(changed, false, at);
  }

  // ---- cluster ------------------------------------------------------------

  private onObservations(from: string, batch: ObservationBatch, receivedAt: number): void {
    if (this.stopped) return;
    this.delays.push(receivedAt - batch.sentAt);
    if (this.delays.length > DELAY_SAMPLES) this.delays.shift();
    this.applyQuorum({ type: 'observations', peer: from, observations: batch.observations, full: batch.full, sentAt: batch.sentAt }, receivedAt);
  }

  private trackPeers(): void {
    if (!this.gossip) return;
    const now = new Set<string>();
    for (const p of this.gossip.peers()) if (p.connected && p.id) now.add(p.id);
    for (const id of this.connectedPeers) if (!now.has(id)) this.applyQuorum({ type: 'peer-left', peer: id });
    this.connectedPeers = now;
  }

  private publish(observations: Array<{ ip: string; verdict: Verdict }>, full: boolean, sentAt?: number): void {
    this.gossip?.publish(observations, full, sentAt).catch((err: unknown) => this.logger.warn({ err }, 'gossip publish failed'));
  }

  /** Every vote, with its turn time when it turned within the freshness window (writer election needs it; older turns all compare equal). */
  private fullState(now: number): Observation[] {
    const recent = now - freshnessMs(this.config);
    return [...this.targets.keys()].map((ip) => {
      const verdict = this.votes.get(ip) ?? 'unknown';
      const own = this.quorum.local.get(ip);
      return own && own.verdict === verdict && verdict !== 'unknown' && own.since >= recent ? { ip, verdict, turnedAt: own.since } : { ip, verdict };
    });
  }

  private scheduleFullState(): void {
    if (this.stopped) return;
    this.fullStateTimer = setTimeout(() => {
      this.publish(this.fullState(this.now()), true);
      this.scheduleFullState();
    }, fullStateIntervalMs(this.config));
  }

  private applyQuorum(event: QuorumEvent, at = this.now()): void {
    const r = quorumStep(this.quorum, event, at, this.quorumOptions());
    this.quorum = r.state;
    for (const c of r.changes) {
      this.logger.info({ ip: c.ip, from: c.from, to: c.to, agreed: c.agreed }, `cluster verdict: ${c.ip} is ${c.to}`);
      this.events.clusterVerdict?.({ ip: c.ip, from: c.from, to: c.to, agreed: c.agreed, at });
    }
    if (r.changes.length > 0) this.requestReconcile('verdict changed');
  }

  // ---- reconcile ----------------------------------------------------------

  private scheduleReconcile(delayMs: number): void {
    clearTimeout(this.reconcileTimer);
    if (this.stopped) return;
    this.reconcileTimer = setTimeout(() => this.requestReconcile('timer'), delayMs);
  }

  /**
   * Runs a reconcile now, or right after the one in progress, or, while a
   * failed pass waits out its backoff, when that wait ends: that pass reads
   * and plans afresh, so it also covers whatever changed meanwhile.
   */
  requestReconcile(reason: string): void {
    if (this.stopped) return;
    if (this.reconcileRunning) {
      this.reconcilePending = true;
      return;
    }
    const waitMs = this.reconcileRetryAt - this.now();
    if (waitMs > 0) {
      this.scheduleReconcile(waitMs);
      return;
    }
    this.reconcileRunning = this.reconcile(reason).finally(() => {
      this.reconcileRunning = undefined;
      if (this.reconcilePending) {
        this.reconcilePending = false;
        this.requestReconcile('pending');
      }
    });
  }

  /**
   * How long before this agent may write `change` (0: now). Single node:
   * now. In a cluster, the writer writes once the quorum has stood for
   * {@link writerSettleMs}; any other agent once it has stood past its
   * grace period; `writer` says which case it is.
   */
  private writeDelay(change: Change, now: number): { ms: number; writer: boolean } {
    if (!this.gossip) return { ms: 0, writer: true };
    const ip = change.record.content;
    const cv = clusterVerdict(this.quorum, ip);
    if (cv.since === undefined) return { ms: 0, writer: false };
    const standing = now - cv.since;
    if (isDesignatedWriter(this.quorum, ip, now, this.quorumOptions())) return { ms: Math.max(0, writerSettleMs(this.delays) - standing), writer: true };
    const rank = agreeingRank(this.quorum, ip, now, this.quorumOptions());
    return { ms: Math.max(0, writerGraceMs(this.config) * (1 + rank) - standing), writer: false };
  }

  /**
   * One pass: read, plan, apply. A failed apply is never resent here: the
   * error ends the pass, and the next one (after the backoff, or the API's
   * Retry-After, capped at 30 s) reads and plans again, so a plan made before
   * a wait is never applied after it. The pass is bounded in time.
   */
  private async reconcile(reason: string): Promise<void> {
    const config = this.config;
    const cf = config.cloudflare;
    const started = this.now();
    let nextDelay = config.reconcileIntervalMs;
    const pass = this.passSignal(config);
    try {
      const current = await this.provider.listRecords(cf.hostnames, pass.signal);
      const read = byName(cf.hostnames, current);
      this.lastRead = read;
      const p = plan({ hostnames: cf.hostnames, ips: cf.ipAddresses, verdicts: this.verdicts(), current, proxied: cf.dnsProxied, ttl: cf.dnsTtl });
      this.reportHeld(p.held);
      const now = this.now();
      const writable: Change[] = [];
      const settling: Change[] = [];
      const others: Change[] = [];
      for (const c of p.changes) {
        const d = this.writeDelay(c, now);
        if (d.ms === 0) writable.push(c);
        else {
          (d.writer ? settling : others).push(c);
          nextDelay = Math.min(nextDelay, d.ms);
        }
      }
      if (settling.length > 0) this.logger.debug({ settling: settling.map(describeChange), settleMs: writerSettleMs(this.delays) }, 'this agent is the writer; waiting for votes still in flight');
      if (others.length > 0) this.logger.info({ deferred: others.map(describeChange) }, 'another agent is the writer for these changes; waiting for it');
      if (writable.length > 0) {
        try {
          await this.provider.apply(writable, pass.signal);
        } catch (err) {
          if (!this.stopped) await this.reportAppliedAnyway(writable, current, cf.hostnames);
          throw err;
        }
        const at = this.now();
        for (const c of writable) {
          this.reportChange(c, at);
          const names = this.opts.dryRun ? undefined : read.get(c.record.name);
          if (c.op === 'create') names?.add(c.record.content);
          else names?.delete(c.record.content);
        }
        // Dry-run: what DNS holds now is whatever the provider says (the
        // simulation followed the would-be changes; a real zone did not).
        if (this.opts.dryRun) this.lastRead = byName(cf.hostnames, await this.provider.listRecords(cf.hostnames, pass.signal));
      }
      this.reconcileRetryAt = 0;
      this.lastReconcile = { at: this.now(), ok: true, changes: writable.map(describeChange) };
      this.events.reconcile?.({ ok: true, durationMs: this.now() - started, changes: writable.length, consecutiveFailures: 0, at: this.now() });
      if (this.reconcileFailures > 0) this.logger.info({ after: this.reconcileFailures }, 'DNS reconcile recovered');
      this.reconcileFailures = 0;
      this.logger.debug({ reason, records: current.length, changes: writable.length, held: p.held.length, ms: this.now() - started }, 'reconciled');
    } catch (err) {
      if (this.stopped) return;
      this.reconcileFailures += 1;
      const e = err instanceof DnsError ? err : undefined;
      // Credentials do not heal in seconds: those wait a whole interval, but a
      // verdict change may still try at once. Everything else backs off
      // (Retry-After first), and nothing tries before the backoff ends.
      const backoff = retryDelayMs(e ?? { retryAfterSeconds: undefined }, this.reconcileFailures, { baseDelayMs: 1000, maxDelayMs: config.reconcileIntervalMs, random: this.opts.random ?? Math.random });
      nextDelay = e?.kind === 'auth' ? config.reconcileIntervalMs : backoff;
      this.reconcileRetryAt = e?.kind === 'auth' ? 0 : this.now() + backoff;
      this.lastReconcile = { at: this.now(), ok: false, changes: [], error: err instanceof Error ? err.message : String(err) };
      const fields = { kind: e?.kind, status: e?.status, failures: this.reconcileFailures, retryInMs: nextDelay, err: e ? undefined : err };
      this.events.reconcile?.({ ok: false, durationMs: this.now() - started, changes: 0, consecutiveFailures: this.reconcileFailures, error: this.lastReconcile.error, at: this.now() });
      if (e?.kind === 'auth') this.logger.error(fields, `DNS API refused our credentials: ${e.message}; still probing, will retry`);
      else this.logger.error(fields, `DNS reconcile failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      pass.done();
      this.scheduleReconcile(nextDelay);
    }
  }

  /**
   * A signal for one pass: aborted by stop(), or, once the pass has run for
   * the smaller of reconcile_interval and 60 s, with a timeout DnsError (an
   * API that keeps a pass busy must not hold failover back).
   */
  private passSignal(config: Config): { signal: AbortSignal; done: () => void } {
    const limitMs = Math.min(config.reconcileIntervalMs, 60_000);
    const controller = new AbortController();
    const onStop = (): void => controller.abort(this.abort.signal.reason);
    if (this.abort.signal.aborted) onStop();
    else this.abort.signal.addEventListener('abort', onStop, { once: true });
    const timer = setTimeout(() => {
      controller.abort(new DnsError('timeout', `the DNS reconcile pass did not finish within ${limitMs / 1000} s (the smaller of reconcile_interval and 60 s); it will be retried`));
    }, limitMs);
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(timer);
        this.abort.signal.removeEventListener('abort', onStop);
      },
    };
  }

  /** Logs, notifies and remembers one change that happened. */
  private reportChange(c: Change, at: number): void {
    const summary = describeChange(c);
    if (!this.opts.dryRun) this.logger.info({ action: c.op, type: c.record.type, hostname: c.record.name, ip: c.record.content, dryRun: false }, summary);
    this.lastActions.set(c.record.content, { summary: this.opts.dryRun ? `would ${summary}` : summary, at });
    this.events.dnsChange?.({ op: c.op, type: c.record.type, hostname: c.record.name, ip: c.record.content, dryRun: this.opts.dryRun, summary, at });
  }

  /**
   * After a failed apply, part of it may have happened (one call at a time:
   * a create went through before a delete failed; or a batch was applied but
   * its answer was lost). The next pass would find nothing to do, so report
   * it now: re-read, and report each planned change the fresh read shows done.
   */
  private async reportAppliedAnyway(planned: readonly Change[], before: readonly DnsRecord[], hostnames: readonly string[]): Promise<void> {
    const pass = this.passSignal(this.config);
    let after: DnsRecord[];
    try {
      after = await this.provider.listRecords(hostnames, pass.signal);
    } catch (err) {
      if (!this.stopped) this.logger.warn({ err: err instanceof Error ? err.message : String(err) }, 'cannot re-read DNS after a failed apply: changes it made anyway, if any, go unreported');
      return;
    } finally {
      pass.done();
    }
    this.lastRead = byName(hostnames, after);
    const key = (r: { type: string; name: string; content: string }): string => `${r.type} ${r.name} ${r.content}`;
    const had = new Set(before.map(key));
    const has = new Set(after.map(key));
    const ids = new Set(after.map((r) => r.id));
    const done = planned.filter((c) => (c.op === 'create' ? !had.has(key(c.record)) && has.has(key(c.record)) : !ids.has(c.record.id)));
    if (done.length === 0) return;
    this.logger.warn({ done: done.map(describeChange), planned: planned.length }, 'the failed apply made some changes anyway');
    const at = this.now();
    for (const c of done) this.reportChange(c, at);
  }

  private reportHeld(held: readonly HeldRemoval[]): void {
    const lines = held.map((h) => `${h.record.type} ${h.record.name} ${h.record.content}`).sort();
    const key = lines.join('|');
    this.held = lines;
    if (key === this.lastHeldKey) return;
    this.lastHeldKey = key;
    if (lines.length === 0) {
      this.logger.info('no removal is held back any more');
      return;
    }
    const names = [...new Set(held.map((h) => `${recordTypeOf(h.record.content)} ${h.record.name}`))];
    this.logger.error({ held: lines, names }, `every configured IP of ${names.join(', ')} looks down: keeping the last records (never removing the last record of a hostname)`);
  }
}

function membersChanged(a: Config, b: Config): boolean {
  const x = a.members;
  const y = b.members;
  return x.localAddr !== y.localAddr || x.keyFile !== y.keyFile || x.peers.join() !== y.peers.join() || x.cryptoKeys.join() !== y.cryptoKeys.join();
}

/** hostname → the IPs its records point at. */
function byName(hostnames: readonly string[], records: readonly DnsRecord[]): Map<string, Set<string>> {
  const read = new Map<string, Set<string>>(hostnames.map((h) => [h, new Set<string>()]));
  for (const r of records) read.get(r.name)?.add(r.content);
  return read;
}
