import { backoffMs } from '../backoff.js';
import { DnsError } from './types.js';

/**
 * How hard to retry one DNS API request.
 *
 * Why our own loop rather than the SDK's: the SDK obeys Retry-After with no
 * upper bound (a 429 saying "wait an hour" would stall the reconcile loop for
 * an hour) and cannot be told which failures are worth a second try. Here
 * only a `DnsError` that says it is `retryable` is retried, Retry-After is
 * capped, and the wait can be cut short by an AbortSignal.
 */
export interface RetryOptions {
  /** Total attempts, the first one included (default 4). */
  attempts?: number;
  /** Backoff base: attempt n waits between ½ and 1 × base × 2^(n-1) (default 500 ms; src/backoff.ts). */
  baseDelayMs?: number;
  /** Upper bound of one backoff wait (default 8000 ms). */
  maxDelayMs?: number;
  /** Upper bound of a server-requested Retry-After wait (default 30000 ms). */
  maxRetryAfterMs?: number;
  /** Injected for tests; must reject with `signal.reason` when aborted. */
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  /** Injected for tests; a number in [0, 1). */
  random?: () => number;
}

const RETRY_DEFAULTS = {
  attempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8000,
  maxRetryAfterMs: 30_000,
} as const;

export interface WithRetryOptions extends RetryOptions {
  signal?: AbortSignal;
  /** Called before each wait; `attempt` is the 1-based attempt that just failed. */
  onRetry?: (err: DnsError, delayMs: number, attempt: number) => void;
  /** Which retryable errors are retried here (default all); the others go up at once. */
  retryIf?: (err: DnsError) => boolean;
}

/**
 * The wait before the next attempt, after `attempt` (1-based) failed with `err`:
 * the one backoff formula of src/backoff.ts, with DNS defaults. Reads retried
 * in place use it, and so does the agent between reconcile passes (base 1 s,
 * capped at reconcile_interval).
 *
 * | error carries Retry-After | wait                                                       |
 * |---------------------------|------------------------------------------------------------|
 * | yes                       | min(retryAfter, maxRetryAfterMs)                           |
 * | no                        | c/2 + random() × c/2, c = min(maxDelayMs, base × 2^(n-1))  |
 */
export function retryDelayMs(err: Pick<DnsError, 'retryAfterSeconds'>, attempt: number, opts: RetryOptions = {}): number {
  const s = err.retryAfterSeconds;
  return backoffMs(
    attempt,
    s === undefined ? undefined : s * 1000,
    {
      baseDelayMs: opts.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs,
      maxDelayMs: opts.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs,
      maxRetryAfterMs: opts.maxRetryAfterMs ?? RETRY_DEFAULTS.maxRetryAfterMs,
    },
    opts.random ?? Math.random,
  );
}

/**
 * Runs `fn` until it succeeds, throws something not worth retrying, or the
 * attempts run out; the last error is rethrown unchanged. An abort rejects
 * with `signal.reason`, whether it happens during a wait or before an attempt.
 */
export async function withRetry<T>(fn: (attempt: number) => Promise<T>, opts: WithRetryOptions = {}): Promise<T> {
  const attempts = Math.max(1, Math.floor(opts.attempts ?? RETRY_DEFAULTS.attempts));
  const sleep = opts.sleep ?? abortableSleep;
  const { signal } = opts;
  for (let attempt = 1; ; attempt++) {
    signal?.throwIfAborted();
    try {
      return await fn(attempt);
    } catch (err) {
      if (signal?.aborted) throw signal.reason;
      if (!(err instanceof DnsError) || !err.retryable || attempt >= attempts || (opts.retryIf && !opts.retryIf(err))) throw err;
      const delayMs = retryDelayMs(err, attempt, opts);
      opts.onRetry?.(err, delayMs, attempt);
      await sleep(delayMs, signal);
    }
  }
}

/** setTimeout as a promise that rejects with `signal.reason` on abort. */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
