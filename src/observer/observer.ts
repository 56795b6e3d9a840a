import { managedRecords, type Config } from '../config/schema.js';
import { INITIAL, step as detect, type TargetState } from '../detect/detector.js';
import {
  answered,
  begin,
  due,
  end as endEpisode,
  initialRechecks,
  rechecksEnabled,
  retain,
  suspectDelayMs,
  unsent,
  type RecheckDirection,
  type RecheckCause,
  type RecheckOptions,
  type RecheckState,
} from '../detect/recheck.js';
import { effectiveVote, selfCheck } from '../detect/selfcheck.js';
import type { AgentEvents } from '../events.js';
import type { Gossip, ObservationBatch, Signal } from '../gossip/types.js';
import type { Logger } from '../log.js';
import type { Observation, Scheduler, TimerHandle, Verdict, WriterStanding } from '../model.js';
import { certWarning } from '../probe/http-check.js';
import { localErrorCode } from '../probe/local.js';
import type { Prober, ProbeResult } from '../probe/types.js';
import {
  agreeingRank,
  clusterVerdict,
  initialQuorum,
  isDesignatedWriter,
  step as quorumStep,
  supportedVerdict,
  type QuorumEvent,
  type QuorumOptions,
  type QuorumState,
} from '../quorum/quorum.js';
import type { CertView, ObserverState, SelfCheckView } from '../status/view.js';
import { nextRoundAt, phaseOffsetMs } from './phase.js';

/**
 * The observer: probe loop → detect → self-check → votes → quorum →
 * publish. It exposes the verdicts DNS may follow ({@link Observer.verdicts})
 * and what writer election needs ({@link Observer.standing}), and emits the
 * verdict events. Time comes from the injected scheduler only.
 */
export interface ObserverOptions {
  readonly logger: Logger;
  readonly events: AgentEvents;
  readonly scheduler: Scheduler;
  /** Aborted at stop: the round in flight ends and is not an observation. */
  readonly signal: AbortSignal;
  /** Builds the prober for a config (called again when what it is built from changes: see proberKey in src/observer/observer.ts). */
  readonly createProber: (config: Config) => Prober;
  /** The cluster transport; absent in single-node mode. */
  readonly gossip?: Gossip;
  /** This agent's id in quorum (its peer id). */
  readonly selfId: string;
  /** Called when a cluster verdict changed (the controller reconciles). */
  readonly onVerdictChange: () => void;
  /** Called at each full-state round, after the votes went out (the agent re-announces its drains). */
  readonly onFullState?: () => void;
  /** Called after a round that found peers connected that were not before (the agent tells them its drains). */
  readonly onPeersJoined?: (ids: readonly string[]) => void;
}

/** How long an observation counts: long enough to survive two missed full-state rounds. */
function freshnessMs(config: Config): number {
  return 3 * fullStateIntervalMs(config) + config.intervalMs;
}

/**
 * Agents re-publish their whole state this often: publishes before the mesh
 * forms are lost, and a restarted agent learns its peers' votes from it.
 * 10 s keeps steady-state gossip under 1 KB/s per agent at 1,000 targets.
 */
function fullStateIntervalMs(config: Config): number {
  return Math.max(2 * config.intervalMs, 10_000);
}

/**
 * While probes cannot be sent (EMFILE...), the warning is logged at the first
 * such round and then at most this often, with counts in between: a 1 s
 * interval with 10,000 targets must not write 10,000 lines a second.
 */
const NO_OBSERVATION_LOG_MS = 60_000;

/**
 * What the prober is built from: when any of it changes on reload, a new
 * prober is made. ICMP: only a change of type (two ICMP probers alive at
 * once would share session ids); TCP: the port; HTTP(S): the port, the
 * [HTTP] settings and the canaries (probed by TCP beside them).
 */
export function proberKey(c: Config): string {
  if (c.probeType === 'ip') return 'ip';
  if (c.probeType === 'tcp') return `tcp:${c.port}`;
  return JSON.stringify([c.probeType, c.port, c.http, c.canaries]);
}

/** Gossip delays remembered for the writer's settle. */
const DELAY_SAMPLES = 20;

/** The recheck bounds a config implies (see src/detect/recheck.ts). */
function recheckOptions(config: Config): RecheckOptions {
  const threshold = Math.max(config.failureThreshold, config.recoveryThreshold);
  return { recheckIntervalMs: config.recheckIntervalMs, maxInFlight: threshold, maxSends: threshold, maxPerSecond: config.maxRecheckRate };
}

/**
 * One probe of one IP whose result the detector has not counted yet. The
 * detector counts results in send order: a recheck that answers before an
 * earlier probe timed out waits here for it.
 */
interface Slot {
  readonly sentAt: number;
  result: ProbeResult | undefined;
}

export class Observer {
  private config: Config;
  private prober: Prober;
  private targets = new Map<string, TargetState>();
  private canaries = new Map<string, TargetState>();
  /** https: the certificate each target served at its last handshake. */
  private certs = new Map<string, CertView>();
  /** The vote last fed to quorum and gossip, per IP. */
  private votes = new Map<string, Verdict>();
  private selfState: SelfCheckView = { state: 'healthy', since: undefined, detail: 'ok' };
  /** Set when the last round had targets and not one observation: its reasons (`EMFILE`), for the self-check. */
  private noObservation: string | undefined;
  /** Probes not sent since the last warning about them (see NO_OBSERVATION_LOG_MS); undefined while every probe goes out. */
  private notSentLog: { since: number; loggedAt: number | undefined; rounds: number; probes: number } | undefined;
  private lastRoundAt: number | undefined;
  private quorum: QuorumState;
  private probeTimer: TimerHandle | undefined;
  private fullStateTimer: TimerHandle | undefined;
  private nextRoundAt = 0;
  private roundRunning: Promise<void> | undefined;
  private connectedPeers = new Set<string>();
  /** The last few gossip delays (receive − send, ms): the writer's settle. */
  private readonly delays: number[] = [];
  private rechecks: RecheckState;
  private recheckTimer: TimerHandle | undefined;
  private recheckWakeAt: number | undefined;
  private suspectTimer: TimerHandle | undefined;
  /** Per IP, the probes sent and not yet counted, oldest first. */
  private slots = new Map<string, Slot[]>();
  /** Per IP, when its last probe (round or recheck) was sent. */
  private lastSentAt = new Map<string, number>();
  /** Per IP, when the first probe of the current streak was sent (for the detection histogram). */
  private streakStart = new Map<string, number>();
  /** IPs suspected since the last suspect signal went out. */
  private suspects = new Set<string>();
  private recheckCounts = { sent: 0, capped: 0 };

  constructor(
    private readonly o: ObserverOptions,
    config: Config,
  ) {
    this.config = config;
    this.prober = o.createProber(config);
    for (const ip of managedRecords(config).ipAddresses) this.targets.set(ip, INITIAL);
    for (const ip of config.canaries) this.canaries.set(ip, INITIAL);
    this.quorum = initialQuorum(o.selfId, managedRecords(config).ipAddresses);
    this.rechecks = initialRechecks(o.scheduler.now(), recheckOptions(config));
  }

  get probeKind(): string {
    return this.prober.kind;
  }

  /** The last few gossip delays (receive − send, ms). */
  recentDelays(): readonly number[] {
    return this.delays;
  }

  /** Starts the probe loop and (in a cluster) the gossip handler and the full-state timer. */
  start(): void {
    this.o.gossip?.onObservations((from, batch, receivedAt) => this.onObservations(from, batch, receivedAt));
    this.o.gossip?.onSignals?.((from, signal, receivedAt) => this.onSignal(from, signal, receivedAt));
    this.nextRoundAt = this.now();
    this.o.events.recheck?.({ sent: 0, capped: 0, at: this.now(), limit: this.config.maxRecheckRate });
    this.scheduleRound();
    if (this.o.gossip) this.scheduleFullState();
  }

  /** Clears the timers, waits for the round in flight (the caller aborts the signal first), closes the prober. */
  async stop(): Promise<void> {
    this.o.scheduler.clearTimer(this.probeTimer);
    this.o.scheduler.clearTimer(this.fullStateTimer);
    this.o.scheduler.clearTimer(this.recheckTimer);
    this.o.scheduler.clearTimer(this.suspectTimer);
    await Promise.allSettled([this.roundRunning]);
    this.prober.close();
  }

  /**
   * Swaps in a new (already validated) config: new IPs start unknown,
   * removed IPs stop being probed, new thresholds and interval apply from
   * the next round.
   */
  reload(next: Config): { added: string[]; removed: string[] } {
    const prev = this.config;
    this.config = next;
    // Only a change of what the prober is built from needs a new one (see proberKey).
    if (proberKey(next) !== proberKey(prev)) {
      const old = this.prober;
      this.prober = this.o.createProber(next);
      void Promise.resolve(this.roundRunning).finally(() => old.close());
    }
    const targets = new Map<string, TargetState>();
    for (const ip of managedRecords(next).ipAddresses) targets.set(ip, this.targets.get(ip) ?? INITIAL);
    const added = managedRecords(next).ipAddresses.filter((ip) => !this.targets.has(ip));
    const removed = [...this.targets.keys()].filter((ip) => !targets.has(ip));
    this.targets = targets;
    const canaries = new Map<string, TargetState>();
    for (const ip of next.canaries) canaries.set(ip, this.canaries.get(ip) ?? INITIAL);
    this.canaries = canaries;
    for (const ip of removed) {
      this.votes.delete(ip);
      this.slots.delete(ip);
      this.lastSentAt.delete(ip);
      this.streakStart.delete(ip);
      this.suspects.delete(ip);
    }
    // Episodes of kept IPs go on under the new bounds; removed IPs' end here (their late answers are ignored).
    this.rechecks = retain(this.rechecks, new Set(targets.keys()), recheckOptions(next));
    this.pumpRechecks();
    this.o.events.recheck?.({ sent: 0, capped: 0, at: this.now(), limit: next.maxRecheckRate });
    for (const ip of [...this.certs.keys()]) if (!targets.has(ip) || next.probeType !== 'https') this.certs.delete(ip);
    this.applyQuorum({ type: 'targets', ips: managedRecords(next).ipAddresses });
    this.updateVotes();
    return { added, removed };
  }

  /** After a reload that changed the interval: the next round comes within the shorter of the two. */
  rescheduleRounds(prevIntervalMs: number): void {
    this.o.scheduler.clearTimer(this.probeTimer);
    this.nextRoundAt = this.now() + Math.min(this.config.intervalMs, prevIntervalMs);
    if (!this.roundRunning) this.scheduleRound();
  }

  state(): ObserverState {
    return {
      id: this.quorum.self,
      lastRoundAt: this.lastRoundAt,
      intervalMs: this.config.intervalMs,
      minPeersAgree: this.config.members.minPeersAgree,
      freshnessMs: freshnessMs(this.config),
      selfCheck: this.selfState,
      targets: this.targets,
      rechecks: this.rechecks.episodes,
      recheckProbes: this.recheckCounts.sent,
      maxRecheckRate: this.config.maxRecheckRate,
      votes: this.votes,
      canaries: this.canaries,
      certs: this.certs,
      quorum: this.quorum,
      peers: this.o.gossip?.peers() ?? [],
    };
  }

  /** Where this agent stands for writing `ip` now (writer election's input). */
  standing(ip: string, now: number): WriterStanding {
    const opts = this.quorumOptions();
    return {
      since: clusterVerdict(this.quorum, ip).since,
      designated: isDesignatedWriter(this.quorum, ip, now, opts),
      rank: agreeingRank(this.quorum, ip, now, opts),
    };
  }

  private now(): number {
    return this.o.scheduler.now();
  }

  private quorumOptions(): QuorumOptions {
    return { minPeersAgree: this.config.members.minPeersAgree, freshnessMs: freshnessMs(this.config) };
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
    if (this.o.signal.aborted) return;
    const delay = Math.max(0, this.nextRoundAt - this.now());
    this.probeTimer = this.o.scheduler.setTimer(() => {
      this.roundRunning = this.round().finally(() => {
        this.roundRunning = undefined;
        this.scheduleRound();
      });
    }, delay);
  }

  /** When the next round starts: on this agent's phase grid in a cluster (see ./phase.ts), one interval on otherwise. */
  private roundAfter(started: number, config: Config): number {
    if (!this.o.gossip) {
      const next = Math.max(this.nextRoundAt + config.intervalMs, started + 1);
      return next <= started ? started + config.intervalMs : next;
    }
    const peerIds = this.o.gossip
      .peers()
      .map((p) => p.id)
      .filter((id): id is string => id !== undefined);
    return nextRoundAt(started, phaseOffsetMs(this.quorum.self, peerIds, config.intervalMs), config.intervalMs);
  }

  private async round(): Promise<void> {
    const config = this.config;
    const started = this.now();
    this.nextRoundAt = this.roundAfter(started, config);
    // An IP being rechecked is probed by its episode, at the recheck pace: the round leaves it out
    // (for one interval at most: an episode starved by the global cap gets its round probes back).
    const targetIps = [...this.targets.keys()].filter((ip) => !((this.rechecks.episodes.get(ip)?.since ?? -Infinity) > started - config.intervalMs));
    const ips = [...targetIps, ...[...this.canaries.keys()].filter((ip) => !this.targets.has(ip))];
    const slots = new Map<string, Slot>();
    for (const ip of targetIps) slots.set(ip, this.openSlot(ip, started));
    const silent = new Set(targetIps);
    const watch = rechecksEnabled(recheckOptions(config));
    if (watch) this.watchSuspects(started, silent, config);
    let results: ProbeResult[];
    let roundError: unknown;
    try {
      results = await this.prober.probe(
        ips,
        config.timeoutMs,
        this.o.signal,
        watch
          ? (r) => {
              silent.delete(r.ip);
              this.onAnswer(r, false);
            }
          : undefined,
      );
    } catch (err) {
      if (this.o.signal.aborted) return; // aborted by stop(): not an observation
      // A prober never rejects for a target, so a rejected round says nothing
      // about any of them (EMFILE while setting up, a bug): no observation,
      // not a miss for every target. The verdicts stay as they were.
      roundError = err;
      const local = localErrorCode(err) ?? 'round-failed';
      const error = `no probe round (${local}): ${err instanceof Error ? err.message : String(err)}`;
      results = ips.map((ip) => ({ ip, ok: false, local, error }));
    } finally {
      silent.clear();
      this.o.scheduler.clearTimer(this.suspectTimer);
      this.suspectTimer = undefined;
    }
    if (this.o.signal.aborted) return;
    const now = this.now();
    this.lastRoundAt = now;
    this.o.events.probeRound?.(results, now);
    this.noteNotSent(results, now, roundError);
    for (const r of results) {
      const canary = this.canaries.get(r.ip);
      if (!canary) continue;
      const { state, changedFrom } = detect(canary, r, now, this.config);
      this.canaries.set(r.ip, state);
      if (changedFrom !== undefined) this.o.logger.info({ ip: r.ip, from: changedFrom, to: state.verdict }, `canary ${r.ip} is ${state.verdict}`);
    }
    for (const r of results) {
      const slot = slots.get(r.ip);
      if (slot) this.complete(r.ip, slot, r, now);
    }
    this.afterResults(now);
  }

  /** Self-check, votes and quorum after results were counted. */
  private afterResults(now: number): void {
    this.updateSelfCheck(now);
    this.updateVotes();
    if (this.o.gossip) {
      this.trackPeers();
      this.applyQuorum({ type: 'tick' });
    }
  }

  /**
   * An https target's certificate: remembered for /status, and a warning
   * (log and event) when it comes within cert_min_days, once per crossing,
   * not every round. It does not fail the check: an expired certificate
   * does that (with tls_verify on) in the handshake.
   */
  private noteCert(ip: string, expiresAt: number, now: number): void {
    const minDays = this.config.http?.certMinDays ?? 0;
    const { warning, daysLeft } = certWarning(expiresAt, now, minDays);
    const prev = this.certs.get(ip);
    this.certs.set(ip, { expiresAt, daysLeft, warning });
    const host = this.config.http?.host ?? '';
    const renewed = prev !== undefined && prev.expiresAt !== expiresAt;
    if (warning && (!prev?.warning || renewed)) {
      this.o.logger.warn(
        { ip, host, expiresAt: new Date(expiresAt).toISOString(), daysLeft, certMinDays: minDays },
        `certificate of ${ip} for ${host} expires in ${daysLeft} days (cert_min_days = ${minDays}); the check still passes`,
      );
      this.o.events.certExpiry?.({ ip, host, expiresAt, daysLeft, minDays, at: now });
    } else if (!warning && prev?.warning) {
      this.o.logger.info(
        { ip, host, expiresAt: new Date(expiresAt).toISOString(), daysLeft },
        `certificate of ${ip} for ${host} is valid for ${daysLeft} days again`,
      );
    }
  }

  // ---- send order ------------------------------------------------------------

  private openSlot(ip: string, sentAt: number): Slot {
    const slot: Slot = { sentAt, result: undefined };
    this.lastSentAt.set(ip, sentAt);
    let q = this.slots.get(ip);
    if (!q) this.slots.set(ip, (q = []));
    q.push(slot);
    return slot;
  }

  /** Records a probe's result and counts every result now at the head of its IP's queue, in send order. */
  private complete(ip: string, slot: Slot, r: ProbeResult, now: number): void {
    slot.result = r;
    const q = this.slots.get(ip);
    if (!q) return; // removed by a reload
    while (q.length > 0 && q[0]!.result !== undefined) {
      const head = q.shift()!;
      this.count(head.result!, head.sentAt, now);
    }
    if (q.length === 0) this.slots.delete(ip);
  }

  /** One result through the detector (in send order). */
  private count(r: ProbeResult, sentAt: number, now: number): void {
    const before = this.targets.get(r.ip);
    if (!before) return; // removed by a reload during the round
    const { state, changedFrom } = detect(before, r, now, this.config);
    this.targets.set(r.ip, state);
    if (state !== before && ((state.misses === 1 && !r.ok) || (state.successes === 1 && r.ok))) this.streakStart.set(r.ip, sentAt);
    this.o.logger.debug(
      {
        ip: r.ip,
        ok: r.ok,
        rttMs: r.rttMs,
        error: r.error,
        reason: r.reason,
        local: r.local,
        misses: state.misses,
        successes: state.successes,
        verdict: state.verdict,
      },
      'probe',
    );
    if (r.certExpiresAt !== undefined) this.noteCert(r.ip, r.certExpiresAt, now);
    if (changedFrom !== undefined) {
      this.rechecks = endEpisode(this.rechecks, r.ip);
      const streakStartedAt = this.streakStart.get(r.ip);
      this.o.logger.info(
        { ip: r.ip, from: changedFrom, to: state.verdict, misses: state.misses, successes: state.successes, lastError: state.lastError },
        `local verdict: ${r.ip} is ${state.verdict}`,
      );
      this.o.events.localVerdict?.({ ip: r.ip, from: changedFrom, to: state.verdict, at: now, ...(streakStartedAt !== undefined ? { streakStartedAt } : {}) });
    }
  }

  // ---- rapid rechecks ----------------------------------------------------------

  /**
   * Suspects the targets of the round that started at `started` whose reply
   * is overdue (see suspectDelayMs) while the round still runs: each gets a
   * recheck episode, and peers hear of it.
   */
  private watchSuspects(started: number, silent: Set<string>, config: Config): void {
    const check = (): void => {
      this.suspectTimer = undefined;
      if (this.o.signal.aborted || silent.size === 0) return;
      const now = this.now();
      let wake: number | undefined;
      // At most max_recheck_rate new suspects per look. Far more overdue at
      // once says more about this agent than about its targets (a round of
      // 10,000 takes longer than suspect_after to send; a starved event
      // loop reads replies late), and the cap could not recheck them anyway:
      // the rest are left to the round's own results, as without rechecks.
      let room = Math.max(1, config.maxRecheckRate);
      let skipped = 0;
      for (const ip of silent) {
        const t = this.targets.get(ip);
        if (!t || t.verdict === 'down') continue;
        const at = started + suspectDelayMs(t.lastRttMs, config.suspectAfterMs, config.timeoutMs);
        if (at > now) {
          wake = wake === undefined ? at : Math.min(wake, at);
          continue;
        }
        silent.delete(ip);
        if (room > 0 && !this.rechecks.episodes.has(ip)) {
          room--;
          this.suspect(ip, 'down', 'suspect', now);
        } else if (room <= 0) skipped++;
      }
      if (skipped > 0)
        this.o.logger.debug({ skipped, max: config.maxRecheckRate }, 'more replies overdue at once than max_recheck_rate: not suspecting the rest this round');
      this.flushSuspects();
      this.pumpRechecks();
      if (wake !== undefined) this.suspectTimer = this.o.scheduler.setTimer(check, Math.max(0, wake - now));
    };
    this.suspectTimer = this.o.scheduler.setTimer(check, Math.max(0, config.suspectAfterMs));
  }

  private suspect(ip: string, direction: RecheckDirection, cause: RecheckCause, now: number): void {
    if (this.rechecks.episodes.has(ip)) return;
    this.rechecks = begin(this.rechecks, ip, direction, cause, now, recheckOptions(this.config), this.lastSentAt.get(ip), cause === 'suspect');
    if (cause !== 'peer') this.suspects.add(ip);
    this.o.logger.debug({ ip, direction, cause }, 'suspect: rechecking');
  }

  /** Tells peers which IPs this agent suspects (one signal for all suspected since the last). */
  private flushSuspects(): void {
    if (this.suspects.size === 0) return;
    const ips = [...this.suspects];
    this.suspects.clear();
    const publish = this.o.gossip?.publishSignal;
    if (!publish) return;
    publish.call(this.o.gossip, { kind: 'suspect', ips }).catch((err: unknown) => this.o.logger.warn({ err }, 'gossip suspect publish failed'));
  }

  /** A raw outcome (round or recheck), before send order: steers the episode of its IP. */
  private onAnswer(r: ProbeResult, recheck: boolean): void {
    if (!this.targets.has(r.ip)) return;
    const before = this.rechecks;
    if (r.local !== undefined && !r.ok) {
      if (recheck) this.rechecks = unsent(this.rechecks, r.ip);
    } else {
      this.rechecks = answered(this.rechecks, r.ip, r.ok, recheck);
      // A down IP that answers is rechecked at once: recovery needs a streak too.
      if (r.ok && this.targets.get(r.ip)?.verdict === 'down') this.suspect(r.ip, 'up', 'answer', this.now());
    }
    // Most answers belong to no episode: then nothing changed, and scheduling
    // again per answer would cost O(episodes) for each of a round's targets.
    if (this.rechecks === before) return;
    this.flushSuspects();
    this.pumpRechecks();
  }

  private onSignal(_from: string, signal: Signal, _receivedAt: number): void {
    if (this.o.signal.aborted || !rechecksEnabled(recheckOptions(this.config))) return;
    if (signal.kind !== 'suspect') return;
    const now = this.now();
    for (const ip of signal.ips) {
      const t = this.targets.get(ip);
      if (!t) continue;
      this.suspect(ip, t.verdict === 'down' ? 'up' : 'down', 'peer', now);
    }
    this.pumpRechecks();
  }

  /** Sends the rechecks that are due and sets the timer for the next. */
  private pumpRechecks(): void {
    if (this.o.signal.aborted) return;
    const now = this.now();
    const opts = recheckOptions(this.config);
    const r = due(this.rechecks, now, opts);
    this.rechecks = r.state;
    this.recheckCounts.sent += r.send.length;
    this.recheckCounts.capped += r.capped;
    if (r.send.length > 0 || r.capped > 0) this.o.events.recheck?.({ sent: r.send.length, capped: r.capped, at: now });
    if (r.send.length > 0) this.sendRechecks(r.send, now);
    if (r.wakeAt !== this.recheckWakeAt || r.wakeAt === undefined) {
      this.o.scheduler.clearTimer(this.recheckTimer);
      this.recheckTimer = undefined;
      this.recheckWakeAt = r.wakeAt;
      if (r.wakeAt !== undefined) {
        this.recheckTimer = this.o.scheduler.setTimer(
          () => {
            this.recheckTimer = undefined;
            this.recheckWakeAt = undefined;
            this.pumpRechecks();
          },
          Math.max(0, r.wakeAt - now),
        );
      }
    }
  }

  private sendRechecks(ips: readonly string[], now: number): void {
    const config = this.config;
    const slots = new Map(ips.map((ip) => [ip, this.openSlot(ip, now)]));
    const done = (r: ProbeResult): void => {
      const slot = slots.get(r.ip);
      if (!slot || slot.result !== undefined) return;
      this.onAnswer(r, true);
      this.complete(r.ip, slot, r, this.now());
      this.afterResults(this.now());
    };
    this.prober.probe(ips, config.timeoutMs, this.o.signal, done).then(
      (results) => results.forEach(done),
      (err: unknown) => {
        if (this.o.signal.aborted) return;
        const local = localErrorCode(err) ?? 'round-failed';
        const error = `no recheck (${local}): ${err instanceof Error ? err.message : String(err)}`;
        for (const ip of ips) done({ ip, ok: false, local, error });
      },
    );
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
        this.o.logger.info({ sinceMs: now - this.notSentLog.since }, 'probes are sent again: every target observed this round');
        this.notSentLog = undefined;
      }
      return;
    }
    const log = (this.notSentLog ??= { since: now, loggedAt: undefined, rounds: 0, probes: 0 });
    log.rounds += 1;
    log.probes += notSent;
    if (log.loggedAt !== undefined && now - log.loggedAt < NO_OBSERVATION_LOG_MS) return;
    const codes = [...reasons.keys()].sort().join(', ');
    this.o.logger.warn(
      {
        reasons: Object.fromEntries(reasons),
        notSent,
        targets: results.length,
        roundsSinceLastWarning: log.rounds,
        probesSinceLastWarning: log.probes,
        example,
        err: roundError,
      },
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
    if (r.state === 'healthy')
      this.o.logger.info({ selfCheck: r.state, was: prev.state }, `self-check healthy again: this agent's down votes count again (${r.detail})`);
    else this.o.logger.warn({ selfCheck: r.state, was: prev.state }, `self-check: ${r.detail}; this agent's down votes are abstentions until it recovers`);
    this.o.events.selfCheck?.({ from: prev.state, to: r.state, detail: r.detail, at: now });
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
    if (this.o.gossip) this.publish(changed, false, at);
  }

  // ---- cluster ------------------------------------------------------------

  private onObservations(from: string, batch: ObservationBatch, receivedAt: number): void {
    if (this.o.signal.aborted) return;
    this.delays.push(receivedAt - batch.sentAt);
    if (this.delays.length > DELAY_SAMPLES) this.delays.shift();
    this.applyQuorum({ type: 'observations', peer: from, observations: batch.observations, full: batch.full, sentAt: batch.sentAt }, receivedAt);
  }

  private trackPeers(): void {
    if (!this.o.gossip) return;
    const now = new Set<string>();
    for (const p of this.o.gossip.peers()) if (p.connected && p.id) now.add(p.id);
    for (const id of this.connectedPeers) if (!now.has(id)) this.applyQuorum({ type: 'peer-left', peer: id });
    const joined = [...now].filter((id) => !this.connectedPeers.has(id));
    this.connectedPeers = now;
    if (joined.length > 0) this.o.onPeersJoined?.(joined);
  }

  private publish(observations: Array<{ ip: string; verdict: Verdict }>, full: boolean, sentAt?: number): void {
    this.o.gossip?.publish(observations, full, sentAt).catch((err: unknown) => this.o.logger.warn({ err }, 'gossip publish failed'));
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
    if (this.o.signal.aborted) return;
    this.fullStateTimer = this.o.scheduler.setTimer(() => {
      this.publish(this.fullState(this.now()), true);
      this.o.onFullState?.();
      this.scheduleFullState();
    }, fullStateIntervalMs(this.config));
  }

  private applyQuorum(event: QuorumEvent, at = this.now()): void {
    const r = quorumStep(this.quorum, event, at, this.quorumOptions());
    this.quorum = r.state;
    for (const c of r.changes) {
      this.o.logger.info({ ip: c.ip, from: c.from, to: c.to, agreed: c.agreed }, `cluster verdict: ${c.ip} is ${c.to}`);
      this.o.events.clusterVerdict?.({ ip: c.ip, from: c.from, to: c.to, agreed: c.agreed, at });
    }
    if (r.changes.length > 0) this.o.onVerdictChange();
  }
}
