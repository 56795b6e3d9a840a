import type { Logger } from '../log.js';

/** A config read that did not finish in time; the running config stays. */
export class ReloadTimeoutError extends Error {
  override readonly name = 'ReloadTimeoutError';
}

/** A reload that was not started because an earlier read is still blocked. */
export class ReloadSkippedError extends Error {
  override readonly name = 'ReloadSkippedError';
}

/** The timers a reload uses; the globals unless a test passes its own. */
export interface ReloadTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface ReloaderOptions<T> {
  readonly logger: Logger;
  /** Reads and validates the new config: the part that can hang in the file system. */
  readonly read: () => Promise<T>;
  /** Swaps a config that was read in time into the running agent. */
  readonly apply: (next: T) => void;
  /** The reload failed, timed out or was skipped; the running config stays. */
  readonly failed: (err: unknown) => void;
  /** Give up waiting for `read` after this long (default {@link RELOAD_TIMEOUT_MS}). */
  readonly timeoutMs?: number;
  readonly timers?: ReloadTimers;
  readonly now?: () => number;
}

/** A SIGHUP's config read is given this long (5 s; a healthy read takes milliseconds). */
export const RELOAD_TIMEOUT_MS = 5_000;

export interface Reloader {
  /**
   * One reload. Resolves once it is over: applied, failed, timed out or
   * skipped. Never rejects. The caller runs one at a time (signals.ts
   * queues a SIGHUP that comes during one, once).
   */
  run(): Promise<void>;
  /** The agent is stopping: a read that finishes from now on is discarded. */
  close(): void;
}

/**
 * Runs SIGHUP reloads bounded in time, and never more than one file-system
 * read at a time.
 *
 * Why both: a config on a hung network file system (or any read that
 * never returns) blocks in the kernel, and Node cannot cancel it: the
 * request holds one of libuv's four threadpool threads until the kernel
 * lets go. A reload therefore gives up waiting after `timeoutMs` and keeps
 * the running config, but the abandoned read is still there; starting
 * another read on top of it would take a second thread, and a few SIGHUPs
 * would take all four (and with them DNS lookups and every other fs call).
 * So while an abandoned read is pending, a reload is skipped, not queued:
 *
 * | state when run() is called         | what happens                               |
 * |------------------------------------|--------------------------------------------|
 * | idle                               | read, then apply (or `failed` with why)    |
 * | an abandoned read is still pending | `failed(ReloadSkippedError)`, nothing read |
 * | the read exceeds `timeoutMs`       | `failed(ReloadTimeoutError)`; run() ends   |
 * | the abandoned read settles         | its result is discarded (logged); idle     |
 *
 * A reload that is merely slow is not skipped: run() does not resolve until
 * it ends or times out, and the caller waits for that.
 */
export function createReloader<T>(opts: ReloaderOptions<T>): Reloader {
  const timers = opts.timers ?? { setTimeout: (fn, ms) => setTimeout(fn, ms).unref(), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) };
  const timeoutMs = opts.timeoutMs ?? RELOAD_TIMEOUT_MS;
  const now = opts.now ?? Date.now;
  /** When the read still pending after its reload gave up began, if any. */
  let abandonedSince: number | undefined;
  let closed = false;

  const fail = (err: unknown): void => {
    if (!closed) opts.failed(err);
  };

  const run = async (): Promise<void> => {
    if (closed) return;
    if (abandonedSince !== undefined) {
      fail(
        new ReloadSkippedError(
          `not started: the config read of a reload ${Math.round((now() - abandonedSince) / 1000)} s ago is still blocked in the file system ` +
            '(each blocked read holds one of the four libuv file-system threads, so no second one is started); send SIGHUP again once the file can be read',
        ),
      );
      return;
    }
    const startedAt = now();
    const reading = opts.read();
    let timer: unknown;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = timers.setTimeout(() => resolve('timeout'), timeoutMs);
    });
    let outcome: { value: T } | 'timeout';
    try {
      outcome = await Promise.race([reading.then((value) => ({ value })), timedOut]);
    } catch (err) {
      fail(err);
      return;
    } finally {
      timers.clearTimeout(timer);
    }
    if (outcome === 'timeout') {
      abandonedSince = startedAt;
      reading
        .then(
          () => opts.logger.warn({ afterMs: now() - startedAt }, 'the abandoned config read finished; its result is discarded (send SIGHUP to reload)'),
          (err: unknown) => opts.logger.warn({ afterMs: now() - startedAt, err: errorText(err) }, 'the abandoned config read failed'),
        )
        .finally(() => (abandonedSince = undefined));
      fail(new ReloadTimeoutError(`reading the config file took longer than ${timeoutMs / 1000} s (a hung network file system?); gave up waiting`));
      return;
    }
    if (closed) return;
    try {
      opts.apply(outcome.value);
    } catch (err) {
      fail(err);
    }
  };

  return {
    run,
    close: () => {
      closed = true;
    },
  };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * `promise`, or a {@link ReloadTimeoutError} after `ms`: for the config read
 * at start-up and in check-config, which are not retried, so nothing needs
 * to track the read they abandon.
 */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ReloadTimeoutError(`${what} took longer than ${ms / 1000} s (a hung network file system?); gave up waiting`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
