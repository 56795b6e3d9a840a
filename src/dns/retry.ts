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
  /** Backoff base: attempt n waits up to base × 2^(n-1) (default 500 ms). */
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

export const RETRY_DEFAULTS = {
  attempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 8000,
  maxRetryAfterMs: 30_000,
} as const;

export interface WithRetryOptions extends RetryOptions {
  signal?: AbortSignal;
  /** Called before each wait; `attempt` is the 1-based attempt that just failed. */
  onRetry?: (err: DnsError, delayMs: number, attempt: number) => void;
}

/**
 * The wait before the next attempt, after `attempt` (1-based) failed with `err`.
 * The one backoff formula: reads retried in place use it, and so does the
 * agent between reconcile passes (base 1 s, capped at reconcile_interval).
 *
 * | error carries Retry-After | wait                                          |
 * |---------------------------|-----------------------------------------------|
 * | yes                       | min(retryAfter, maxRetryAfterMs)              |
 * | no                        | random() × min(maxDelayMs, base × 2^(n-1))    |
 *
 * The second row is "full jitter": agents that failed together do not come
 * back together.
 */
export function retryDelayMs(err: Pick<DnsError, 'retryAfterSeconds'>, attempt: number, opts: RetryOptions = {}): number {
  const maxRetryAfterMs = opts.maxRetryAfterMs ?? RETRY_DEFAULTS.maxRetryAfterMs;
  if (err.retryAfterSeconds !== undefined && Number.isFinite(err.retryAfterSeconds) && err.retryAfterSeconds >= 0) {
    return Math.min(Math.ceil(err.retryAfterSeconds * 1000), maxRetryAfterMs);
  }
  const base = opts.baseDelayMs ?? RETRY_DEFAULTS.baseDelayMs;
  const max = opts.maxDelayMs ?? RETRY_DEFAULTS.maxDelayMs;
  const ceiling = Math.min(max, base * 2 ** Math.max(0, attempt - 1));
  const random = opts.random ?? Math.random;
  return Math.floor(random() * ceiling);
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
      if (!(err instanceof DnsError) || !err.retryable || attempt >= attempts) throw err;
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
