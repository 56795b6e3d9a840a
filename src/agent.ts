import { managedRecords, type Config } from './config/schema.js';
import { Controller } from './controller/controller.js';
import { ReconcileLoop } from './controller/loop.js';
import { InstrumentedProvider } from './dns/instrumented.js';
import type { DnsProvider } from './dns/types.js';
import { DrainKeeper } from './drain/keeper.js';
import type { DrainControl, DrainEntry } from './drain/types.js';
import { drainStanding } from './drain/writer.js';
import type { AgentEvents, DnsChangeSettledEvent } from './events.js';
import { drainSignals } from './gossip/signals.js';
import type { Gossip } from './gossip/types.js';
import type { Logger } from './log.js';
import { shortestFailingOutageMs } from './detect/recheck.js';
import { writerGraceMs } from './dns/policies.js';
import type { Scheduler, TimerHandle, Verdict, WriterStanding } from './model.js';
import { Observer } from './observer/observer.js';
import type { Prober } from './probe/types.js';
import { agentStatus, type AgentStatus } from './status/view.js';

export type { AgentStatus, DnsActivity, PeerObservation, TargetStatus } from './status/view.js';

/** What the agent is built from; everything with a default is for tests. */
export interface AgentOptions {
  readonly config: Config;
  readonly logger: Logger;
  readonly dryRun: boolean;
  /** Builds the prober for a config (called again when what it is built from changes: see proberKey in src/observer/observer.ts). */
  readonly createProber: (config: Config) => Prober;
  /** Builds the DNS provider for a config (called again when the zone changes). Dry-run wrapping is the caller's. */
  readonly createProvider: (config: Config, settled?: (e: DnsChangeSettledEvent) => void) => DnsProvider;
  /** The cluster transport; absent in single-node mode. */
  readonly gossip?: Gossip;
  /** This agent's id in quorum (its peer id); default "self". */
  readonly selfId?: string;
  readonly now?: () => number;
  /** A number in [0, 1): the jitter of the reconcile backoff (default Math.random; tests pass their own). */
  readonly random?: () => number;
  /** Watchers: metrics, notifications. */
  readonly events?: AgentEvents;
  /** Timers (default: the global setTimeout and clearTimeout, with `now`). */
  readonly scheduler?: Scheduler;
  /** The drain state file (src/drain/store.ts; the CLI puts it beside the key file); absent: drains are kept in memory only. */
  readonly drainStateFile?: string;
  /** Maintenance windows' drains at `now` (built from the config elsewhere); they count as drained too. */
  readonly maintenance?: (now: number) => readonly DrainEntry[];
}

/**
 * The agent wires the pipeline:
 *
 *   observer: probe ──▶ detect ──▶ self-check ──▶ votes ──▶ quorum ──▶ publish
 *   controller: read ──▶ plan ──▶ policies ──▶ apply ──▶ report
 *
 * The observer says which verdicts DNS may follow; the controller reconciles
 * DNS to them, never fired at: on every cluster verdict change, on a timer,
 * and after a failure (with backoff). Time comes from one scheduler.
 */
export class Agent {
  private config: Config;
  private readonly scheduler: Scheduler;
  private readonly events: AgentEvents;
  private readonly observer: Observer;
  private readonly controller: Controller;
  private readonly loop: ReconcileLoop;
  private readonly abort = new AbortController();
  private readonly keeper: DrainKeeper;
  private drainTimer: TimerHandle | undefined;
  private announceTimer: TimerHandle | undefined;
  private readonly selfId: string;
  /** Drains in force at the last look, to tell when one ends by itself. */
  private drainedAtLastLook = new Map<string, DrainEntry>();
  private lastSettled: DnsChangeSettledEvent | undefined;
  private startedAt: number | undefined;
  private started = false;
  private stopped = false;

  constructor(private readonly opts: AgentOptions) {
    this.config = opts.config;
    const now = opts.now ?? (() => Date.now());
    this.scheduler = opts.scheduler ?? { now, setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (t) => clearTimeout(t as NodeJS.Timeout | undefined) };
    this.events = opts.events ?? {};
    const { logger, gossip } = opts;
    const selfId = opts.selfId ?? 'self';
    this.selfId = selfId;
    this.keeper = new DrainKeeper(
      {
        selfId,
        logger,
        file: opts.drainStateFile,
        ips: () => managedRecords(this.config).ipAddresses,
        hostnames: () => managedRecords(this.config).hostnames,
        verdicts: () => this.observer.verdicts(),
        maintenance: opts.maintenance,
        publish: (entries, relay) => this.publishDrains(entries, relay),
        changed: (entries, local) => this.drainsChanged(entries, local),
      },
      this.scheduler.now(),
    );
    this.drainedAtLastLook = this.keeper.active(this.scheduler.now());
    this.observer = new Observer(
      {
        logger,
        events: this.events,
        scheduler: this.scheduler,
        signal: this.abort.signal,
        createProber: opts.createProber,
        gossip,
        selfId,
        onVerdictChange: () => this.requestReconcile('verdict changed'),
        onFullState: () => this.keeper.announce(this.scheduler.now()),
        onPeersJoined: () => this.announceSoon(),
      },
      this.config,
    );
    this.controller = new Controller(
      {
        logger,
        events: this.events,
        scheduler: this.scheduler,
        desired: {
          verdicts: () => this.verdicts(),
          writer: gossip && {
            standing: (ip, at) => this.standing(ip, at),
            recentDelays: () => this.observer.recentDelays(),
          },
        },
      },
      this.config,
      this.instrument(opts.createProvider(this.config, this.settled)),
    );
    this.loop = new ReconcileLoop(this.controller, {
      scheduler: this.scheduler,
      signal: this.abort.signal,
      intervalMs: () => this.config.reconcileIntervalMs,
      random: opts.random ?? Math.random,
    });
  }

  /** Starts the probe loop, the reconcile timer and (in a cluster) the gossip handlers. */
  start(): void {
    if (this.started) return;
    this.started = true;
    this.startedAt = this.scheduler.now();
    const c = this.config;
    this.opts.logger.info(
      {
        ips: managedRecords(c).ipAddresses,
        hostnames: managedRecords(c).hostnames,
        interval: c.intervalMs / 1000,
        failureThreshold: c.failureThreshold,
        recoveryThreshold: c.recoveryThreshold,
        probe: this.observer.probeKind,
        dryRun: this.opts.dryRun,
        provider: this.controller.providerName,
        minPeersAgree: c.members.minPeersAgree,
        recheckInterval: c.recheckIntervalMs / 1000,
        shortestFailingOutage: shortestFailingOutageMs(c) / 1000,
      },
      'agent started',
    );
    this.opts.gossip?.onSignals?.((_from, signal) => {
      if (signal.kind === 'drain' && !this.stopped) this.keeper.receive(signal.entries, this.scheduler.now());
    });
    this.observer.start();
    this.scheduleDrainExpiry();
    // A first pass at once: it checks credentials and the zone early. Every
    // target is unknown, so it changes nothing.
    this.requestReconcile('start');
  }

  /** Stops every timer and waits for the running round and reconcile to finish (bounded by the caller). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    this.scheduler.clearTimer(this.drainTimer);
    this.scheduler.clearTimer(this.announceTimer);
    await Promise.allSettled([this.observer.stop(), this.loop.stop()]);
    this.opts.logger.info('agent stopped');
  }

  /**
   * Swaps in a new (already validated) config. New IPs start unknown,
   * removed IPs stop being probed and their records are left alone, new
   * thresholds and interval apply from the next round.
   */
  reload(next: Config): void {
    const prev = this.config;
    this.config = next;
    const zoneChanged = zoneOf(next) !== zoneOf(prev);
    this.controller.reconfigure(next, zoneChanged ? this.instrument(this.opts.createProvider(next, this.settled)) : undefined);
    const { added, removed } = this.observer.reload(next);
    this.keeper.reload(this.scheduler.now());
    if (membersChanged(prev, next)) {
      this.opts.logger.warn('[Members] changes (peers, local_addr, crypto_key, key_file) take effect after a restart; min_peers_agree applies now');
    }
    this.opts.logger.info({ added, removed, file: next.file }, 'config reloaded');
    this.events.configReload?.({ ok: true, at: this.scheduler.now() });
    if (next.intervalMs !== prev.intervalMs) this.observer.rescheduleRounds(prev.intervalMs);
    if (next.reconcileIntervalMs !== prev.reconcileIntervalMs) this.loop.schedule(next.reconcileIntervalMs);
    this.requestReconcile('config reloaded');
  }

  status(): AgentStatus {
    const meta = {
      dryRun: this.opts.dryRun,
      startedAt: this.startedAt,
      configFile: this.config.file,
      running: this.started && !this.stopped,
      lastChangeSettled: this.lastSettled,
    };
    const now = this.scheduler.now();
    return agentStatus(meta, this.observer.state(), this.controller.state(), now, { active: this.keeper.active(now), list: this.keeper.list(now) });
  }

  /** What the control endpoint drives: drain, undrain, list (src/drain/types.ts). */
  get drains(): DrainControl {
    return this.keeper;
  }

  /**
   * The verdicts DNS follows: the cluster verdict while the agreement behind
   * it holds (own vote + enough fresh peers), unknown (hold) otherwise; a
   * drained IP is down whatever its probes say (its real health stays in
   * the status).
   */
  verdicts(): Map<string, Verdict> {
    const v = this.observer.verdicts();
    for (const ip of this.keeper.active(this.scheduler.now()).keys()) if (v.has(ip)) v.set(ip, 'down');
    return v;
  }

  /** Runs a reconcile now, or right after the one in progress, or when a failed pass's backoff ends. */
  requestReconcile(reason: string): void {
    this.loop.request(reason);
  }

  /**
   * Writer election's input for `ip`: the verdict's standing, or the
   * drain's (src/drain/writer.ts). Right after a start, changes an entry
   * of the state file would cause wait {@link writerGraceMs} more: the
   * cluster may have undone it meanwhile, and peers tell a joining agent
   * their drains within a round and {@link ANNOUNCE_DELAY_MS}.
   */
  private standing(ip: string, at: number): WriterStanding {
    const entry = this.keeper.entryFor(ip, at);
    const s = drainStanding(entry, this.observer.standing(ip, at), this.selfId, this.connectedPeers(), at);
    if (!this.keeper.isFromFile(entry) || s.since === undefined) return s;
    return { ...s, since: Math.max(s.since, (this.startedAt ?? at) + writerGraceMs(this.config)) };
  }

  /** A peer joined: tell everyone the drains (a restarted agent may hold an old one, or none), once for joins close together. */
  private announceSoon(): void {
    if (this.announceTimer !== undefined || this.stopped) return;
    this.announceTimer = this.scheduler.setTimer(() => {
      this.announceTimer = undefined;
      if (!this.stopped) this.keeper.announce(this.scheduler.now());
    }, ANNOUNCE_DELAY_MS);
  }

  private connectedPeers(): string[] {
    return (this.opts.gossip?.peers() ?? []).filter((p) => p.connected && p.id !== undefined).map((p) => p.id!);
  }

  private publishDrains(entries: readonly DrainEntry[], relay: boolean): void {
    const g = this.opts.gossip;
    if (!g?.publishSignal || this.stopped) return;
    for (const signal of drainSignals(entries, relay)) {
      g.publishSignal(signal).catch((err: unknown) => this.opts.logger.warn({ err }, 'gossip drain publish failed'));
    }
  }

  /** Entries that changed the drain state: tell the watchers, reconcile, and time the next expiry. */
  private drainsChanged(entries: readonly DrainEntry[], local: boolean): void {
    const at = this.scheduler.now();
    for (const entry of entries) this.events.drainChange?.({ entry, change: entry.drained ? 'drained' : 'undrained', local, at });
    this.drainedAtLastLook = this.keeper.active(at);
    if (!this.started || this.stopped) return;
    this.requestReconcile(entries.some((e) => e.drained) ? 'drained' : 'undrained');
    this.scheduleDrainExpiry();
  }

  /**
   * A timer for the next drain to end by itself: then DNS follows the
   * verdict again. With maintenance windows it also looks every
   * {@link MAINTENANCE_LOOK_MS}, since a window may begin at any time.
   */
  private scheduleDrainExpiry(): void {
    this.scheduler.clearTimer(this.drainTimer);
    this.drainTimer = undefined;
    if (this.stopped) return;
    const now = this.scheduler.now();
    const next = this.keeper.nextExpiry(now);
    const poll = this.opts.maintenance ? MAINTENANCE_LOOK_MS : undefined;
    if (next === undefined && poll === undefined) return;
    // A timer longer than 2³¹ − 1 ms fires at once in Node: wake at least daily and look again.
    const ms = Math.min(next === undefined ? DAY_MS : Math.max(0, next - now), poll ?? DAY_MS, DAY_MS);
    this.drainTimer = this.scheduler.setTimer(() => {
      this.drainTimer = undefined;
      this.lookAtDrains();
      this.scheduleDrainExpiry();
    }, ms);
  }

  /** Drains that ended (or maintenance windows that began) since the last look: events, and a reconcile. */
  private lookAtDrains(): void {
    const at = this.scheduler.now();
    const now = this.keeper.active(at);
    let changed = false;
    for (const [ip, entry] of this.drainedAtLastLook) {
      if (sameDrain(now.get(ip), entry)) continue;
      changed = true;
      if (now.has(ip)) continue;
      this.opts.logger.info({ ip, by: entry.by, source: entry.source }, `drain of ${ip} ended`);
      this.events.drainChange?.({ entry, change: 'expired', local: false, at });
    }
    for (const [ip, entry] of now) {
      if (sameDrain(this.drainedAtLastLook.get(ip), entry)) continue;
      changed = true;
      if (entry.source !== 'maintenance') continue;
      this.opts.logger.info({ ip, reason: entry.reason }, `maintenance window drains ${ip}`);
      this.events.drainChange?.({ entry, change: 'drained', local: false, at });
    }
    this.drainedAtLastLook = now;
    if (changed) this.requestReconcile('drain ended or maintenance window');
  }

  /** A written change became live everywhere (Route 53 INSYNC): for /status and the event watchers. */
  private readonly settled = (e: DnsChangeSettledEvent): void => {
    this.lastSettled = e;
    this.events.dnsChangeSettled?.(e);
  };

  private instrument(p: DnsProvider): DnsProvider {
    return new InstrumentedProvider(p, this.events, () => this.scheduler.now());
  }
}

const DAY_MS = 24 * 3_600_000;

/** How often the agent looks whether a maintenance window began or ended (a pure function of the config and the time). */
const MAINTENANCE_LOOK_MS = 1_000;

/**
 * How long after a peer joins the drains are announced to it: libp2p drops
 * a publish made before the subscriptions are exchanged (FIELD-NOTES).
 */
const ANNOUNCE_DELAY_MS = 1_000;

/** The same drain (a maintenance window's entries are made afresh at each look). */
function sameDrain(a: DrainEntry | undefined, b: DrainEntry): boolean {
  return a !== undefined && a.at === b.at && a.origin === b.origin && a.until === b.until && a.drained === b.drained;
}

function membersChanged(a: Config, b: Config): boolean {
  const x = a.members;
  const y = b.members;
  return x.localAddr !== y.localAddr || x.keyFile !== y.keyFile || x.peers.join() !== y.peers.join() || x.cryptoKeys.join() !== y.cryptoKeys.join();
}

/** Which zone the provider works on: a change means a new provider. */
function zoneOf(c: Config): string {
  return c.dnsProvider === 'route53'
    ? `route53 ${c.aws?.domain} ${c.aws?.zoneId ?? ''} ${c.aws?.region ?? ''}`
    : `cloudflare ${c.cloudflare?.dnsDomain} ${c.cloudflare?.zoneId ?? ''}`;
}
