import { retryDelayMs } from '../dns/retry.js';
import { DnsError } from '../dns/types.js';
import type { Scheduler, TimerHandle } from '../model.js';

/** How one pass ended: ok (with the soonest time a deferred change may be written), or failed. */
export type PassOutcome = { readonly ok: true; readonly nextInMs?: number } | { readonly ok: false; readonly error: unknown };

/** What the loop tells the pass about a failure it just had. */
export interface FailureReport {
  readonly error: unknown;
  /** Consecutive failed passes, this one included. */
  readonly failures: number;
  /** When the next pass runs (ms from now). */
  readonly retryInMs: number;
}

export interface Reconciler {
  /** One pass; never rejects (a failure is an outcome). */
  runOnce(reason: string, signal: AbortSignal): Promise<PassOutcome>;
  /** Logs and counts a failed pass once the loop knows its backoff. */
  reportFailure(report: FailureReport): void;
}

export interface LoopOptions {
  readonly scheduler: Scheduler;
  /** Aborted at stop: a pass in flight ends, and no pass starts. */
  readonly signal: AbortSignal;
  /** The timer pass's period (reconcile_interval; read each time: a reload may change it). */
  readonly intervalMs: () => number;
  /** A number in [0, 1): the backoff jitter. */
  readonly random: () => number;
}

/**
 * When reconcile passes run:
 *
 * | event                                 | pass                                          |
 * |---------------------------------------|-----------------------------------------------|
 * | request, idle, no backoff             | now                                           |
 * | request while a pass runs             | once, right after it (coalesced)              |
 * | request during a backoff              | when the backoff ends                         |
 * | pass ok                               | timer: interval, or sooner for a deferred write |
 * | pass failed (auth)                    | timer: interval; a request may try at once    |
 * | pass failed (other)                   | backoff (Retry-After first), nothing before it |
 *
 * A later pass reads and plans afresh, so it covers whatever changed while
 * it waited; a failed apply is never resent as it was.
 */
export class ReconcileLoop {
  private timer: TimerHandle | undefined;
  private running: Promise<void> | undefined;
  private pending = false;
  private failureCount = 0;
  /** After a failed pass, no pass starts before this (backoff or the API's Retry-After). */
  private retryAt = 0;

  constructor(
    private readonly reconciler: Reconciler,
    private readonly o: LoopOptions,
  ) {}

  /** Consecutive failed passes (0 after a success). */
  get failures(): number {
    return this.failureCount;
  }

  /** Runs a pass now, or right after the one in progress, or when a failed pass's backoff ends. */
  request(reason: string): void {
    if (this.o.signal.aborted) return;
    if (this.running) {
      this.pending = true;
      return;
    }
    const waitMs = this.retryAt - this.o.scheduler.now();
    if (waitMs > 0) {
      this.schedule(waitMs);
      return;
    }
    this.running = this.pass(reason).finally(() => {
      this.running = undefined;
      if (this.pending) {
        this.pending = false;
        this.request('pending');
      }
    });
  }

  /** The next timer pass in `delayMs` (replacing the one set). */
  schedule(delayMs: number): void {
    this.o.scheduler.clearTimer(this.timer);
    if (this.o.signal.aborted) return;
    this.timer = this.o.scheduler.setTimer(() => this.request('timer'), delayMs);
  }

  /** Clears the timer and waits for the pass in flight (the caller aborts the signal first). */
  async stop(): Promise<void> {
    this.o.scheduler.clearTimer(this.timer);
    await this.running;
  }

  private async pass(reason: string): Promise<void> {
    const interval = this.o.intervalMs();
    const outcome = await this.reconciler.runOnce(reason, this.o.signal);
    if (this.o.signal.aborted) return;
    if (outcome.ok) {
      this.failureCount = 0;
      this.retryAt = 0;
      this.schedule(Math.min(interval, outcome.nextInMs ?? interval));
      return;
    }
    this.failureCount += 1;
    const { nextInMs, retryAt } = backoff(outcome.error, this.failureCount, interval, this.o.random, this.o.scheduler.now());
    this.retryAt = retryAt;
    this.reconciler.reportFailure({ error: outcome.error, failures: this.failureCount, retryInMs: nextInMs });
    this.schedule(nextInMs);
  }
}

/**
 * The wait after a failed pass. Credentials do not heal in seconds: those
 * wait a whole interval, but a verdict change may still try at once.
 * Everything else backs off (Retry-After first), and nothing tries before
 * the backoff ends.
 */
export function backoff(err: unknown, failures: number, intervalMs: number, random: () => number, now: number): { nextInMs: number; retryAt: number } {
  const e = err instanceof DnsError ? err : undefined;
  const ms = retryDelayMs(e ?? { retryAfterSeconds: undefined }, failures, { baseDelayMs: 1000, maxDelayMs: intervalMs, random });
  return e?.kind === 'auth' ? { nextInMs: intervalMs, retryAt: 0 } : { nextInMs: ms, retryAt: now + ms };
}
