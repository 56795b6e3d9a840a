import { managedRecords, type Config, type ManagedRecords } from '../config/schema.js';
import { describeChange, keepLastRecord, plan, recordTypeOf, type HeldRemoval } from '../dns/plan.js';
import { electWriter, writerGraceMs, writerSettleMs } from '../dns/policies.js';
import { decideStandby, presenceVerdicts, trackTurns, type StandbyDecision, type Turn } from '../dns/standby.js';
import { APPLIED, DnsError, type Applied, type Change, type DnsProvider, type DnsRecord } from '../dns/types.js';
import type { AgentEvents, StandbyChangeReason } from '../events.js';
import type { Logger } from '../log.js';
import type { Scheduler, Verdict, WriterStanding } from '../model.js';
import type { ControllerState, DnsActivity, LastAction, StandbyState } from '../status/view.js';
import type { FailureReport, PassOutcome, Reconciler } from './loop.js';

/**
 * What the controller follows: the verdicts DNS may act on, and, in a
 * cluster, what writer election needs.
 */
export interface Desired {
  verdicts(): ReadonlyMap<string, Verdict>;
  /** Absent in single-node mode: every change is this agent's to write. */
  readonly writer?: {
    /** Where this agent stands for `ip` now. */
    standing(ip: string, now: number): WriterStanding;
    /** The last few gossip delays (receive − send, ms): the writer's settle. */
    recentDelays(): readonly number[];
  };
}

export interface ControllerOptions {
  readonly logger: Logger;
  readonly events: AgentEvents;
  readonly scheduler: Scheduler;
  readonly desired: Desired;
}

/**
 * The DNS controller (external-dns `controller.RunOnce`): read the records,
 * plan, apply the safety policies and the writer election (src/dns/policies.ts), apply what may be
 * written now, report. When passes run is the {@link ReconcileLoop}'s
 * business; this class does one pass at a time.
 */
export class Controller implements Reconciler {
  private config: Config;
  private provider: DnsProvider;
  /** Last records read from DNS, for status. */
  private lastRead: Map<string, Set<string>> | undefined;
  private readonly lastActions = new Map<string, LastAction>();
  private lastReconcile: DnsActivity | undefined;
  private failures = 0;
  private lastHeldKey = '';
  private held: readonly string[] = [];
  private passStartedAt = 0;
  /** When each verdict DNS follows last turned, as passes saw it: the failback clock (src/dns/standby.ts). */
  private turns: ReadonlyMap<string, Turn> = new Map();
  private standby: StandbyState | undefined;
  private lastStandby: StandbyDecision | undefined;

  constructor(
    private readonly o: ControllerOptions,
    config: Config,
    provider: DnsProvider,
  ) {
    this.config = config;
    this.provider = provider;
  }

  get providerName(): string {
    return this.provider.name;
  }

  /** A new config (and, when given, provider) for the next pass. IPs no longer managed are forgotten. */
  reconfigure(config: Config, provider?: DnsProvider): void {
    this.config = config;
    if (provider) this.provider = provider;
    const ips = new Set(managedRecords(config).ipAddresses);
    for (const ip of this.lastActions.keys()) if (!ips.has(ip)) this.lastActions.delete(ip);
  }

  state(): ControllerState {
    return {
      hostnames: managedRecords(this.config).hostnames,
      lastRead: this.lastRead,
      lastActions: this.lastActions,
      lastReconcile: this.lastReconcile,
      consecutiveReconcileFailures: this.failures,
      held: this.held,
      standby: this.standby,
    };
  }

  /**
   * One pass: read, plan, apply. A failed apply is never resent here: the
   * error ends the pass, and the next one (after the backoff, or the API's
   * Retry-After, capped at 30 s) reads and plans again, so a plan made before
   * a wait is never applied after it. The pass is bounded in time.
   */
  async runOnce(reason: string, stop: AbortSignal): Promise<PassOutcome> {
    const { config, provider } = this;
    const cf = managedRecords(config);
    const now = (): number => this.o.scheduler.now();
    const started = now();
    this.passStartedAt = started;
    const pass = this.passSignal(config, stop);
    // Before the read: a turn is timed even when the read fails.
    this.turns = trackTurns(this.turns, this.o.desired.verdicts(), started);
    try {
      const current = await provider.listRecords(cf.hostnames, pass.signal);
      const read = byName(cf.hostnames, current);
      this.lastRead = read;
      const verdicts = this.o.desired.verdicts();
      const at0 = now();
      this.turns = trackTurns(this.turns, verdicts, at0);
      const sb = this.decideStandby(cf, verdicts, at0);
      const p = plan({
        hostnames: cf.hostnames,
        ips: cf.ipAddresses,
        verdicts: presenceVerdicts(verdicts, sb),
        current,
        proxied: cf.proxied,
        ttl: cf.ttl,
      });
      this.reportHeld(p.held);
      const writer = this.o.desired.writer;
      const settleMs = writerSettleMs(writer?.recentDelays() ?? []);
      // A standby change is due because of another IP's turn (a primary went
      // down, or has been up long enough): the writer is elected on that turn.
      const standingOf =
        writer &&
        ((ip: string) => {
          const t = sb.triggers.get(ip);
          return t ? { ...writer.standing(t.ip, at0), since: t.at } : writer.standing(ip, at0);
        });
      const elected = electWriter(p.changes, standingOf, { now: at0, settleMs, graceMs: writerGraceMs(config) });
      // Keep-last again over what is written now: a removal the plan allowed
      // because of a create that waits (for another writer, or this one's
      // settle) waits with it, or the name would be empty in between (the
      // standby that replaces the last dead primaries, an IP back up while
      // the last other goes down).
      const safe = keepLastRecord(elected.writable, { current, ips: cf.ipAddresses, hostnames: cf.hostnames });
      const writable = safe.changes;
      const { settling } = elected;
      const others = [...elected.deferred, ...safe.held.map((h): Change => ({ op: 'delete', record: h.record }))];
      // A standby in DNS waiting for its failback: look again when it is due, not at the next interval.
      const standbyIn = cf.standby.standbyIps.some((ip) => cf.hostnames.some((h) => read.get(h)?.has(ip)));
      const failbackInMs = sb.failbackAt !== undefined && standbyIn ? Math.max(1, sb.failbackAt - at0) : undefined;
      const nextInMs = failbackInMs === undefined ? elected.nextInMs : Math.min(failbackInMs, elected.nextInMs ?? failbackInMs);
      if (settling.length > 0)
        this.o.logger.debug({ settling: settling.map(describeChange), settleMs }, 'this agent is the writer; waiting for votes still in flight');
      if (others.length > 0) this.o.logger.info({ deferred: others.map(describeChange) }, 'another agent is the writer for these changes; waiting for it');
      if (writable.length > 0) {
        let applied: Applied;
        try {
          applied = (await provider.apply(writable, pass.signal)) ?? APPLIED;
        } catch (err) {
          if (!stop.aborted) await this.reportAppliedAnyway(provider, writable, current, cf.hostnames, stop);
          throw err;
        }
        const at = now();
        for (const c of writable) {
          this.reportChange(c, at, applied.dryRun);
          const names = applied.listed ? read.get(c.record.name) : undefined;
          if (c.op === 'create') names?.add(c.record.content);
          else names?.delete(c.record.content);
        }
      }
      this.lastReconcile = { at: now(), ok: true, changes: writable.map(describeChange) };
      this.o.events.reconcile?.({ ok: true, durationMs: now() - started, changes: writable.length, consecutiveFailures: 0, at: now() });
      if (this.failures > 0) this.o.logger.info({ after: this.failures }, 'DNS reconcile recovered');
      this.failures = 0;
      this.o.logger.debug({ reason, records: current.length, changes: writable.length, held: p.held.length, ms: now() - started }, 'reconciled');
      return { ok: true, nextInMs };
    } catch (error) {
      return { ok: false, error };
    } finally {
      pass.done();
    }
  }

  /** The standby policy for this pass (src/dns/standby.ts), remembered for status and logged when it turns. */
  private decideStandby(cf: ManagedRecords, verdicts: ReadonlyMap<string, Verdict>, at: number): StandbyDecision {
    const { standbyIps, minActive, failbackDelayMs } = cf.standby;
    const sb = decideStandby({ now: at, primaryIps: cf.primaryIps, standbyIps, minActive, failbackDelayMs, verdicts, turns: this.turns });
    const prev = this.standby;
    this.lastStandby = sb;
    this.standby = standbyIps.length === 0 ? undefined : { minActive, failover: sb.failover, failbackAt: sb.failbackAt, presence: sb.presence };
    if (this.standby && prev?.failover !== sb.failover && (prev !== undefined || sb.failover)) {
      this.o.events.standby?.({ failover: sb.failover, standbyIps, minActive, at });
      if (sb.failover)
        this.o.logger.warn({ standby: standbyIps, minActive }, `fewer than ${minActive} primary IP(s) can be up: failing over to the standby IPs that are up`);
      else
        this.o.logger.info(
          { standby: standbyIps, failbackDelay: failbackDelayMs / 1000 },
          'enough primaries are up again: standbys leave once they have stayed up for failback_delay',
        );
    }
    return sb;
  }

  reportFailure({ error, failures, retryInMs }: FailureReport): void {
    const now = this.o.scheduler.now();
    this.failures = failures;
    const e = error instanceof DnsError ? error : undefined;
    const message = error instanceof Error ? error.message : String(error);
    this.lastReconcile = { at: now, ok: false, changes: [], error: message };
    const fields = { kind: e?.kind, status: e?.status, failures, retryInMs, err: e ? undefined : error };
    this.o.events.reconcile?.({ ok: false, durationMs: now - this.passStartedAt, changes: 0, consecutiveFailures: failures, error: message, at: now });
    if (e?.kind === 'auth') this.o.logger.error(fields, `DNS API refused our credentials: ${e.message}; still probing, will retry`);
    else this.o.logger.error(fields, `DNS reconcile failed: ${message}`);
  }

  /**
   * A signal for one pass: aborted by stop, or, once the pass has run for
   * the smaller of reconcile_interval and 60 s, with a timeout DnsError (an
   * API that keeps a pass busy must not hold failover back).
   */
  private passSignal(config: Config, stop: AbortSignal): { signal: AbortSignal; done: () => void } {
    const limitMs = Math.min(config.reconcileIntervalMs, 60_000);
    const controller = new AbortController();
    const onStop = (): void => controller.abort(stop.reason);
    if (stop.aborted) onStop();
    else stop.addEventListener('abort', onStop, { once: true });
    const timer = this.o.scheduler.setTimer(() => {
      controller.abort(
        new DnsError(
          'timeout',
          `the DNS reconcile pass did not finish within ${limitMs / 1000} s (the smaller of reconcile_interval and 60 s); it will be retried`,
        ),
      );
    }, limitMs);
    return {
      signal: controller.signal,
      done: () => {
        this.o.scheduler.clearTimer(timer);
        stop.removeEventListener('abort', onStop);
      },
    };
  }

  /** For a standby's change: why (for the watchers); nothing for a primary's. */
  private standbyReason(c: Change): { standby?: StandbyChangeReason } {
    const ip = c.record.content;
    if (!managedRecords(this.config).standby.standbyIps.includes(ip)) return {};
    if (c.op === 'create') return { standby: 'failover' };
    return { standby: this.lastStandby?.triggers.get(ip)?.ip === ip ? 'standby-down' : 'failback' };
  }

  /** Logs, notifies and remembers one change that happened (or, in dry-run, would have). */
  private reportChange(c: Change, at: number, dryRun: boolean): void {
    const summary = describeChange(c);
    const said = dryRun ? `would ${summary}` : summary;
    this.o.logger.info({ action: c.op, type: c.record.type, hostname: c.record.name, ip: c.record.content, dryRun }, said);
    this.lastActions.set(c.record.content, { summary: said, at });
    const standby = this.standbyReason(c);
    this.o.events.dnsChange?.({ op: c.op, type: c.record.type, hostname: c.record.name, ip: c.record.content, dryRun, summary, at, ...standby });
  }

  /**
   * After a failed apply, part of it may have happened (one call at a time:
   * a create went through before a delete failed; or a batch was applied but
   * its answer was lost). The next pass would find nothing to do, so report
   * it now: re-read, and report each planned change the fresh read shows done.
   */
  private async reportAppliedAnyway(
    provider: DnsProvider,
    planned: readonly Change[],
    before: readonly DnsRecord[],
    hostnames: readonly string[],
    stop: AbortSignal,
  ): Promise<void> {
    const pass = this.passSignal(this.config, stop);
    let after: DnsRecord[];
    try {
      after = await provider.listRecords(hostnames, pass.signal);
    } catch (err) {
      if (!stop.aborted)
        this.o.logger.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'cannot re-read DNS after a failed apply: changes it made anyway, if any, go unreported',
        );
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
    this.o.logger.warn({ done: done.map(describeChange), planned: planned.length }, 'the failed apply made some changes anyway');
    const at = this.o.scheduler.now();
    for (const c of done) this.reportChange(c, at, false);
  }

  private reportHeld(held: readonly HeldRemoval[]): void {
    const lines = held.map((h) => `${h.record.type} ${h.record.name} ${h.record.content}`).sort();
    const key = lines.join('|');
    this.held = lines;
    if (key === this.lastHeldKey) return;
    this.lastHeldKey = key;
    const records = held
      .map((h) => ({ type: h.record.type, hostname: h.record.name, ip: h.record.content }))
      .sort((a, b) => `${a.type} ${a.hostname} ${a.ip}`.localeCompare(`${b.type} ${b.hostname} ${b.ip}`));
    this.o.events.heldRemovals?.({ held: records, at: this.o.scheduler.now() });
    if (lines.length === 0) {
      this.o.logger.info('no removal is held back any more');
      return;
    }
    const names = [...new Set(held.map((h) => `${recordTypeOf(h.record.content)} ${h.record.name}`))];
    this.o.logger.error(
      { held: lines, names },
      `every configured IP of ${names.join(', ')} looks down: keeping the last records (never removing the last record of a hostname)`,
    );
  }
}

/** hostname → the IPs its records point at. */
function byName(hostnames: readonly string[], records: readonly DnsRecord[]): Map<string, Set<string>> {
  const read = new Map<string, Set<string>>(hostnames.map((h) => [h, new Set<string>()]));
  for (const r of records) read.get(r.name)?.add(r.content);
  return read;
}
