/**
 * Backoff and Retry-After: the one home of both, for every retry loop in
 * goavail (DNS reads in src/dns/retry.ts, the agent's reconcile passes,
 * notification delivery in src/notify/delivery.ts).
 *
 * Pure: `random` and `now` are passed in, nothing here waits or reads a clock.
 *
 * ## The wait after a failure
 *
 * | server asked for a wait (Retry-After) | wait                                                       |
 * |---------------------------------------|------------------------------------------------------------|
 * | yes                                   | min(retryAfterMs, maxRetryAfterMs)                         |
 * | no                                    | c/2 + random() × c/2, with c = min(maxDelayMs, base × 2^(n-1)) |
 *
 * n is the 1-based attempt that just failed. The jitter rule is "equal
 * jitter": the random half keeps agents that failed together from coming
 * back together, the fixed half keeps the waits growing and never lets a
 * retry hit a failing server at once (full jitter can draw a wait of 0).
 *
 * ## Reading Retry-After
 *
 * | header value                    | wait                                |
 * |---------------------------------|-------------------------------------|
 * | `120`                           | 120 s                               |
 * | `1.5`                           | 1.5 s (see below)                   |
 * | `Wed, 01 May 2024 12:00:30 GMT` | until then; 0 if already past       |
 * | `-3`, `soon`, `` , absent       | none: the backoff row applies       |
 *
 * "1.5": HTTP (RFC 9110 §10.2.3) defines delta-seconds as whole digits, so
 * strictly it is unreadable. It is read as 1.5 s anyway: the server's intent
 * is plain, the Cloudflare SDK reads it the same way (parseFloat), and the
 * alternative — falling back to a backoff that may be far shorter than the
 * wait the server asked for — is the one thing a 429 asks a client not to do.
 * A date is only tried on text with a letter in it: `Date.parse("-3")` is a
 * valid date (the year -3) in V8, and that must not read as "retry now".
 */
export interface BackoffOptions {
  /** Attempt n waits up to base × 2^(n-1). */
  readonly baseDelayMs: number;
  /** Upper bound of one backoff wait. */
  readonly maxDelayMs: number;
  /** Upper bound of a server-requested Retry-After wait. */
  readonly maxRetryAfterMs: number;
}

/**
 * The wait in ms after attempt `attempt` (1-based) failed; `retryAfterMs`
 * is what the server asked for (undefined: nothing, or nothing readable).
 * `random` returns a number in [0, 1).
 */
export function backoffMs(attempt: number, retryAfterMs: number | undefined, opts: BackoffOptions, random: () => number): number {
  if (retryAfterMs !== undefined && Number.isFinite(retryAfterMs) && retryAfterMs >= 0) {
    return Math.min(Math.ceil(retryAfterMs), opts.maxRetryAfterMs);
  }
  const ceiling = Math.min(opts.maxDelayMs, opts.baseDelayMs * 2 ** Math.max(0, attempt - 1));
  return Math.floor(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * A `Retry-After` header value in ms (see the table above), rounded up to a
 * whole ms. Undefined when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null | undefined, now: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (/^\d+(\.\d+)?$/.test(v)) return Math.ceil(Number(v) * 1000);
  if (!/[a-z]/i.test(v)) return undefined;
  const date = Date.parse(v);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * A `Retry-After-Ms` header value (not HTTP, but sent by some APIs and read
 * by the Cloudflare SDK): a non-negative number of ms, else undefined.
 */
export function parseRetryAfterMs(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined) return undefined;
  const v = value.trim();
  if (!/^\d+(\.\d+)?$/.test(v)) return undefined;
  return Math.ceil(Number(v));
}
