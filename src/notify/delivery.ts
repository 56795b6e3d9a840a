import { backoffMs, parseRetryAfter } from '../backoff.js';
import type { Logger } from '../log.js';
import { originOf, type NotificationType } from './message.js';

/**
 * Delivery of notifications to one receiver (a webhook or Slack).
 *
 * Why a queue per receiver: the agent calls its hooks inline, in the middle
 * of failover, so a hook may only enqueue. Each receiver then drains its own
 * queue in order, one request at a time, so a receiver that hangs or fails
 * holds back nobody but itself, and its messages still arrive in the order
 * things happened.
 *
 * | response                         | what happens                                  |
 * |----------------------------------|-----------------------------------------------|
 * | 2xx                              | delivered                                     |
 * | 429, 5xx, network error, timeout | retried after backoff (Retry-After if given)  |
 * | any other status (4xx, 3xx)      | failed at once: a retry cannot help           |
 * | attempts exhausted               | failed                                        |
 * | queue full                       | the oldest queued message is dropped          |
 */
export interface DeliveryOptions {
  /** Total attempts per message, the first one included. */
  readonly attempts: number;
  /** Backoff base: the wait after attempt n lies in [½, 1) × min(maxDelayMs, base × 2^(n-1)) (src/backoff.ts). */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
  /** Upper bound of a server-requested Retry-After wait. */
  readonly maxRetryAfterMs: number;
  /** Per-request timeout, response body included. */
  readonly timeoutMs: number;
  /** Messages waiting per receiver (the one in flight not counted). */
  readonly maxQueue: number;
}

export const DELIVERY_DEFAULTS: DeliveryOptions = Object.freeze({
  attempts: 5,
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  maxRetryAfterMs: 60_000,
  timeoutMs: 5000,
  maxQueue: 100,
});

/** Shared by every receiver of one notifier; read by `stats()`. */
export interface DeliveryCounters {
  /** Messages a receiver accepted (2xx). */
  delivered: number;
  /** Messages given up on: a status a retry cannot fix, or attempts exhausted. */
  failed: number;
  /** Messages discarded undelivered: queue overflow, receiver removed by a reload, or close(). */
  dropped: number;
  /** Extra attempts made after a retryable failure. */
  retries: number;
}

export type TargetKind = 'webhook' | 'slack' | 'pagerduty' | 'opsgenie' | 'teams' | 'discord' | 'telegram';

/** One message, already serialised for its receiver. */
export interface Job {
  readonly type: NotificationType | 'held_removal';
  readonly body: string;
  /** Appended to the receiver's URL (Opsgenie's close, Telegram's method); default none. */
  readonly path?: string;
}

export type StatusClass = 'ok' | 'retry' | 'fail';

/** What a status code means for delivery (see the table above). */
export function classifyStatus(status: number): StatusClass {
  if (status >= 200 && status < 300) return 'ok';
  if (status === 429 || (status >= 500 && status < 600)) return 'retry';
  return 'fail';
}

// The one backoff formula and Retry-After parser (src/backoff.ts).
export { backoffMs, parseRetryAfter } from '../backoff.js';

type Attempt =
  | { readonly result: 'ok'; readonly status: number }
  | { readonly result: 'retry' | 'fail'; readonly status?: number; readonly retryAfterMs?: number; readonly reason: string };

export interface TargetDeps {
  readonly logger: Logger;
  readonly fetch: typeof fetch;
  readonly counters: DeliveryCounters;
  readonly options: DeliveryOptions;
  readonly now: () => number;
  readonly random?: () => number;
}

/** One receiver: its queue, its delivery loop, its in-flight request. */
export class Target {
  /** Safe to log: scheme, host and port only. The path and query carry the secret. */
  readonly origin: string;
  private readonly queue: Job[] = [];
  private inFlight: Job | undefined;
  private running = false;
  private closed = false;
  /** Aborts the request in flight and the backoff wait, on close(). */
  private readonly stop = new AbortController();
  private idleWaiters: Array<() => void> = [];
  private droppedSinceWarn = 0;
  /** The URL fetched: `url` without user:password, which fetch refuses; those go in `authorization`. */
  private readonly endpoint: string;
  private readonly headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'goavail-notify/1' };

  constructor(
    readonly kind: TargetKind,
    readonly url: string,
    private readonly deps: TargetDeps,
    /** Extra request headers (an API key); never logged. */
    headers: Readonly<Record<string, string>> = {},
    /** What tells two receivers at one URL apart (a routing key); never logged. */
    readonly secret?: string,
  ) {
    this.origin = originOf(url);
    this.endpoint = url;
    Object.assign(this.headers, headers);
    try {
      const u = new URL(url);
      if (u.username || u.password) {
        const user = decodeURIComponent(u.username);
        const pass = decodeURIComponent(u.password);
        this.headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
        u.username = '';
        u.password = '';
        this.endpoint = u.href;
      }
    } catch {
      // fetch reports the bad URL on the first attempt; the notifier checks URLs before building targets.
    }
  }

  /** Messages queued or in flight. */
  get pending(): number {
    return this.queue.length + (this.inFlight ? 1 : 0);
  }

  /** Enqueues and returns at once; the delivery loop starts after the caller's synchronous work. */
  push(job: Job): void {
    if (this.closed) return;
    const { options, counters, logger } = this.deps;
    this.queue.push(job);
    while (this.queue.length > Math.max(1, options.maxQueue)) {
      this.queue.shift();
      counters.dropped += 1;
      this.droppedSinceWarn += 1;
      if (this.droppedSinceWarn === 1) {
        logger.warn({ target: this.origin, kind: this.kind, maxQueue: options.maxQueue }, 'notification queue full: dropping the oldest messages');
      }
    }
    if (!this.running) {
      this.running = true;
      queueMicrotask(() => void this.pump());
    }
  }

  /** Resolves once nothing is queued or in flight (or the target is closed). */
  whenIdle(): Promise<void> {
    if (!this.running || this.closed) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Aborts the request in flight and any backoff wait; what is left counts as dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.deps.counters.dropped += this.pending;
    this.queue.length = 0;
    this.inFlight = undefined;
    this.stop.abort(new Error('notifier closed'));
    this.settleIdle();
  }

  private settleIdle(): void {
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private async pump(): Promise<void> {
    try {
      for (let job = this.queue.shift(); job && !this.closed; job = this.queue.shift()) {
        this.inFlight = job;
        await this.deliver(job);
        this.inFlight = undefined;
      }
    } catch (err) {
      // deliver() handles its own failures; this is a bug guard, never a crash.
      this.deps.logger.error(
        { target: this.origin, kind: this.kind, err: errorText(err, [this.url, this.endpoint], this.origin) },
        'notification delivery loop failed',
      );
      this.inFlight = undefined;
    } finally {
      this.running = false;
      if (this.droppedSinceWarn > 1) {
        this.deps.logger.warn(
          { target: this.origin, kind: this.kind, dropped: this.droppedSinceWarn },
          'notification queue drained; messages were dropped while it was full',
        );
      }
      this.droppedSinceWarn = 0;
      // A push() between the last shift() and here found `running` true and did not start a loop.
      if (this.queue.length > 0 && !this.closed) {
        this.running = true;
        queueMicrotask(() => void this.pump());
      } else {
        this.settleIdle();
      }
    }
  }

  private async deliver(job: Job): Promise<void> {
    const { options, counters, logger } = this.deps;
    const attempts = Math.max(1, Math.floor(options.attempts));
    for (let attempt = 1; ; attempt++) {
      const a = await this.attempt(job);
      if (this.closed) return; // counted as dropped by close()
      const fields = { target: this.origin, kind: this.kind, event: job.type, attempt };
      if (a.result === 'ok') {
        counters.delivered += 1;
        if (attempt > 1) logger.info({ ...fields, status: a.status }, 'notification delivered after retrying');
        return;
      }
      if (a.result === 'fail' || attempt >= attempts) {
        counters.failed += 1;
        logger.warn(
          { ...fields, status: a.status, reason: a.reason, retryable: a.result === 'retry' },
          a.result === 'fail' ? 'notification rejected; not retrying' : 'notification failed; giving up after the last attempt',
        );
        return;
      }
      const delayMs = backoffMs(attempt, a.retryAfterMs, options, this.deps.random ?? Math.random);
      counters.retries += 1;
      logger.warn({ ...fields, status: a.status, reason: a.reason, retryInMs: delayMs }, 'notification delivery failed; retrying');
      await this.sleep(delayMs);
      if (this.closed) return;
    }
  }

  private async attempt(job: Job): Promise<Attempt> {
    const { options } = this.deps;
    const signal = AbortSignal.any([this.stop.signal, AbortSignal.timeout(options.timeoutMs)]);
    try {
      const res = await this.deps.fetch(job.path ? `${this.endpoint.replace(/\/+$/, '')}${job.path}` : this.endpoint, {
        method: 'POST',
        headers: this.headers,
        body: job.body,
        signal,
        // A redirected POST turns into a GET elsewhere: report it rather than follow it.
        redirect: 'manual',
      });
      const cls = classifyStatus(res.status);
      if (cls === 'ok') {
        await res.body?.cancel().catch(() => undefined);
        return { result: 'ok', status: res.status };
      }
      const snippet = await readSnippet(res);
      return {
        result: cls,
        status: res.status,
        retryAfterMs: parseRetryAfter(res.headers.get('retry-after'), this.deps.now()),
        reason: `HTTP ${res.status}${snippet ? `: ${snippet}` : ''}`,
      };
    } catch (err) {
      const timedOut = err instanceof Error && err.name === 'TimeoutError';
      return { result: 'retry', reason: timedOut ? `no answer within ${options.timeoutMs} ms` : errorText(err, [this.url, this.endpoint], this.origin) };
    }
  }

  /** A backoff wait that close() cuts short; its timer never holds the process open. */
  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const signal = this.stop.signal;
      if (signal.aborted) {
        resolve();
        return;
      }
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      timer.unref();
      signal.addEventListener('abort', done, { once: true });
    });
  }
}

/** The first 200 characters of an error response, on one line (Slack says why: `invalid_token`, `no_service`). */
async function readSnippet(res: Response): Promise<string> {
  try {
    const text = await res.text();
    return text.replace(/\s+/g, ' ').trim().slice(0, 200);
  } catch {
    return '';
  }
}

/** An error as one line, with the secret URL replaced by its origin should the message quote it. */
export function errorText(err: unknown, urls: readonly string[], origin: string): string {
  const secrets = new Set<string>();
  for (const url of urls) {
    if (!url) continue;
    secrets.add(url);
    try {
      secrets.add(new URL(url).href);
    } catch {
      // not a URL: only the text as given
    }
  }
  let text: string;
  if (err instanceof Error) {
    const cause = (err as Error & { cause?: unknown }).cause;
    const c = cause instanceof Error ? ((cause as Error & { code?: string }).code ?? cause.message) : undefined;
    text = c ? `${err.message} (${c})` : err.message;
  } else {
    text = String(err);
  }
  // Longest first, so a URL is not half-replaced through a shorter spelling of it.
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) text = text.split(secret).join(origin);
  return text;
}
