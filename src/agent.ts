import type { Config } from './config/schema.js';
import { INITIAL, step as detect, type TargetState, type Verdict } from './detect/detector.js';
import { effectiveVote, selfCheck } from './detect/selfcheck.js';
import { InstrumentedProvider } from './dns/instrumented.js';
import type { Change, DnsProvider } from './dns/types.js';
import type { AgentEvents, SelfCheckState } from './events.js';
import type { Gossip, Observation, ObservationBatch, PeerStatus } from './gossip/types.js';
import type { Logger } from './log.js';
import { localErrorCode } from './probe/local.js';
import type { Prober, ProbeResult } from './probe/types.js';
import {
  agreeingRank, clusterVerdict, initialQuorum, isDesignatedWriter, step as quorumStep, supportedVerdict,
  type QuorumEvent, type QuorumOptions, type QuorumState,
} from './quorum/quorum.js';
import { agentStatus, type AgentStatus, type ObserverState } from './status/view.js';
import { Controller } from './controller/controller.js';
import { ReconcileLoop } from './controller/loop.js';
import type { Scheduler } from './model.js';

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
  private readonly controller: Controller;
  private readonly loop: ReconcileLoop;
  private readonly scheduler: Scheduler;
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
  private quorum: QuorumState;
  private readonly abort = new AbortController();
  private probeTimer: NodeJS.Timeout | undefined;
  private fullStateTimer: NodeJS.Timeout | undefined;
  private nextRoundAt = 0;
  private roundRunning: Promise<void> | undefined;
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
    this.scheduler = { now: this.now, setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (t) => clearTimeout(t as NodeJS.Timeout | undefined) };
    this.controller = new Controller(
      { logger: this.logger, events: this.events, scheduler: this.scheduler, desired: { verdicts: () => this.verdicts(), writeDelay: (c, now) => this.writeDelay(c, now), settleMs: () => writerSettleMs(this.delays) } },
      this.config,
      this.instrument(opts.createProvider(this.config)),
    );
    this.loop = new ReconcileLoop(this.controller, { scheduler: this.scheduler, signal: this.abort.signal, intervalMs: () => this.config.reconcileIntervalMs, random: opts.random ?? Math.random });
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
      { ips: c.cloudflare.ipAddresses, hostnames: c.cloudflare.hostnames, interval: c.intervalMs / 1000, failureThreshold: c.failureThreshold, recoveryThreshold: c.recoveryThreshold, probe: this.prober.kind, dryRun: this.opts.dryRun, provider: this.controller.providerName, minPeersAgree: c.members.minPeersAgree },
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
    clearTimeout(this.fullStateTimer);
    await Promise.allSettled([this.roundRunning, this.loop.stop()]);
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
    const zoneChanged = next.cloudflare.dnsDomain !== prev.cloudflare.dnsDomain || next.cloudflare.zoneId !== prev.cloudflare.zoneId;
    this.controller.reconfigure(next, zoneChanged ? this.instrument(this.opts.createProvider(next)) : undefined);
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
    if (next.reconcileIntervalMs !== prev.reconcileIntervalMs) this.loop.schedule(next.reconcileIntervalMs);
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
    return agentStatus({ dryRun: this.opts.dryRun, startedAt: this.startedAt, configFile: this.config.file, running: this.started && !this.stopped }, observer, this.controller.state(), this.now());
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

  /** Runs a reconcile now, or right after the one in progress, or when a failed pass's backoff ends. */
  requestReconcile(reason: string): void {
    this.loop.request(reason);
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
}

function membersChanged(a: Config, b: Config): boolean {
  const x = a.members;
  const y = b.members;
  return x.localAddr !== y.localAddr || x.keyFile !== y.keyFile || x.peers.join() !== y.peers.join() || x.cryptoKeys.join() !== y.cryptoKeys.join();
}
