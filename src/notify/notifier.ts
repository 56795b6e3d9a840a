import type { AgentEvents, CertExpiryEvent, ClusterVerdictEvent, DnsChangeEvent, SelfCheckEvent } from '../events.js';
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { DELIVERY_DEFAULTS, Target, type DeliveryCounters, type DeliveryOptions, type Job, type TargetKind } from './delivery.js';
import {
  certExpiryPayload,
  clusterVerdictPayload,
  dnsChangePayload,
  selfCheckPayload,
  slackPayload,
  slackUrl,
  type VerdictContext,
  type WebhookPayload,
} from './message.js';

/**
 * Tells people (Slack) and programs (webhooks) what goavail did and why:
 * every DNS change (or, in dry-run, every change it would have made),
 * every cluster verdict change, every self-check change.
 *
 * Why it is built this way: the agent calls these hooks inline during
 * failover, so a hook only serialises the message and enqueues it; each
 * receiver has its own queue and delivery loop (see `delivery.ts`), with a
 * per-request timeout, retries with backoff for 429/5xx/network errors,
 * and a bound on what waits. Receiver URLs embed secrets (a Slack webhook
 * URL is a credential), so logs name only their origin.
 */
export interface NotifierOptions {
  /** `slack_addr`: the part after `https://hooks.slack.com/services/`, or a full URL. */
  slackAddr?: string;
  /** http(s) URLs that get the JSON body of every notification. */
  webhooks: readonly string[];
  logger: Logger;
  /** This agent's name in messages; asked at each event (the peer id may be known only after start). */
  agentId: () => string;
  /** Whether the agent runs in dry-run; stamped on every webhook body. */
  dryRun: boolean;
  /** Injected for tests; default the global fetch. */
  fetch?: typeof fetch;
  /** Defaults: 5 attempts, backoff from 1 s doubling up to 30 s, Retry-After honoured up to 60 s. */
  retry?: { attempts?: number; baseDelayMs?: number; maxDelayMs?: number; maxRetryAfterMs?: number };
  /** Per-request timeout (default 5000 ms). */
  timeoutMs?: number;
  /** Messages waiting per receiver before the oldest is dropped (default 100). */
  maxQueue?: number;
  now?: () => number;
  /** Injected for tests: backoff jitter, a number in [0, 1). */
  random?: () => number;
}

export interface NotifierStats {
  readonly delivered: number;
  readonly failed: number;
  readonly dropped: number;
  readonly retries: number;
  /** Messages queued or in flight now, over every receiver. */
  readonly queued: number;
}

export class Notifier implements AgentEvents {
  private readonly logger: Logger;
  private readonly fetchFn: typeof fetch;
  private readonly now: () => number;
  private readonly delivery: DeliveryOptions;
  private readonly counters: DeliveryCounters = { delivered: 0, failed: 0, dropped: 0, retries: 0 };
  private targets: Target[] = [];
  /** The last cluster verdict per IP, to say why a DNS change happened. */
  private readonly verdicts = new Map<string, VerdictContext>();
  private closed = false;

  constructor(private readonly opts: NotifierOptions) {
    this.logger = opts.logger;
    this.fetchFn = opts.fetch ?? ((input, init) => fetch(input, init));
    this.now = opts.now ?? Date.now;
    const r = opts.retry ?? {};
    this.delivery = {
      attempts: r.attempts ?? DELIVERY_DEFAULTS.attempts,
      baseDelayMs: r.baseDelayMs ?? DELIVERY_DEFAULTS.baseDelayMs,
      maxDelayMs: r.maxDelayMs ?? DELIVERY_DEFAULTS.maxDelayMs,
      maxRetryAfterMs: r.maxRetryAfterMs ?? DELIVERY_DEFAULTS.maxRetryAfterMs,
      timeoutMs: opts.timeoutMs ?? DELIVERY_DEFAULTS.timeoutMs,
      maxQueue: opts.maxQueue ?? DELIVERY_DEFAULTS.maxQueue,
    };
    this.update(opts);
  }

  // ---- AgentEvents hooks: enqueue and return; never throw ------------------

  dnsChange(e: DnsChangeEvent): void {
    this.safely('dnsChange', () => {
      if (this.targets.length === 0) return;
      const agent = this.opts.agentId();
      this.emit(dnsChangePayload(agent, e, this.verdicts.get(e.ip)));
    });
  }

  clusterVerdict(e: ClusterVerdictEvent): void {
    this.safely('clusterVerdict', () => {
      if (e.to === 'unknown') this.verdicts.delete(e.ip);
      else this.verdicts.set(e.ip, { verdict: e.to, agreed: [...e.agreed] });
      if (this.targets.length === 0) return;
      this.emit(clusterVerdictPayload(this.opts.agentId(), this.opts.dryRun, e));
    });
  }

  selfCheck(e: SelfCheckEvent): void {
    this.safely('selfCheck', () => {
      if (this.targets.length === 0) return;
      this.emit(selfCheckPayload(this.opts.agentId(), this.opts.dryRun, e));
    });
  }

  certExpiry(e: CertExpiryEvent): void {
    this.safely('certExpiry', () => {
      if (this.targets.length === 0) return;
      this.emit(certExpiryPayload(this.opts.agentId(), this.opts.dryRun, e));
    });
  }

  // ---- control -------------------------------------------------------------

  /**
   * Replaces the receivers (config reload). A receiver whose URL stays keeps
   * its queue; one that goes is closed and what it still held counts as dropped.
   */
  update(next: { slackAddr?: string; webhooks: readonly string[] }): void {
    if (this.closed) return;
    const wanted: Array<{ kind: TargetKind; url: string }> = [];
    const slack = slackUrl(next.slackAddr);
    if (slack !== undefined) {
      if (isHttpUrl(slack)) wanted.push({ kind: 'slack', url: slack });
      else this.logger.warn('slack_addr does not make a valid http(s) URL; Slack notifications are off');
    }
    next.webhooks.forEach((url, i) => {
      if (isHttpUrl(url)) wanted.push({ kind: 'webhook', url });
      else this.logger.warn({ index: i }, 'webhook is not a valid http(s) URL; skipped');
    });
    const keyOf = (t: { kind: TargetKind; url: string }): string => `${t.kind} ${t.url}`;
    const old = new Map(this.targets.map((t) => [keyOf(t), t]));
    const targets: Target[] = [];
    const seen = new Set<string>();
    for (const w of wanted) {
      const key = keyOf(w);
      if (seen.has(key)) continue;
      seen.add(key);
      targets.push(
        old.get(key) ??
          new Target(w.kind, w.url, {
            logger: this.logger,
            fetch: this.fetchFn,
            counters: this.counters,
            options: this.delivery,
            now: this.now,
            random: this.opts.random,
          }),
      );
      old.delete(key);
    }
    for (const gone of old.values()) gone.close();
    this.targets = targets;
    this.logger.info(
      { slack: targets.some((t) => t.kind === 'slack'), webhooks: targets.filter((t) => t.kind === 'webhook').map((t) => t.origin) },
      targets.length > 0 ? 'notifications on' : 'notifications off (no slack_addr, no webhooks)',
    );
  }

  /** Waits until every receiver's queue is empty and nothing is in flight, or `deadlineMs` from now, whichever comes first. */
  async flush(deadlineMs: number): Promise<void> {
    if (this.closed) return;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => {
      // Not unref'd: a caller awaiting flush() at shutdown must get its answer.
      timer = setTimeout(resolve, Math.max(0, deadlineMs));
    });
    try {
      await Promise.race([Promise.all(this.targets.map((t) => t.whenIdle())), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops every delivery loop, request and retry; later events are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.targets) t.close();
    this.targets = [];
  }

  stats(): NotifierStats {
    return { ...this.counters, queued: this.targets.reduce((n, t) => n + t.pending, 0) };
  }

  // ---- internals -------------------------------------------------------------

  private emit(payload: WebhookPayload): void {
    const webhook: Job = { type: payload.type, body: JSON.stringify(payload) };
    const slack: Job = { type: payload.type, body: JSON.stringify(slackPayload(payload.text)) };
    for (const t of this.targets) t.push(t.kind === 'slack' ? slack : webhook);
  }

  private safely(hook: string, fn: () => void): void {
    if (this.closed) return;
    try {
      fn();
    } catch (err) {
      this.logger.error({ hook, err: err instanceof Error ? err.message : String(err) }, 'notification hook failed');
    }
  }
}

function isHttpUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * The notifier for a config: `createNotifier(config, { logger, agentId, dryRun })`,
 * passed to the agent as (one of) its `events`; on reload call
 * `notifier.update(nextConfig)`, at shutdown `await notifier.flush(ms)` then `close()`.
 * With neither slack_addr nor webhooks it is a cheap no-op that a reload can turn on.
 */
export function createNotifier(config: Pick<Config, 'slackAddr' | 'webhooks'>, deps: Omit<NotifierOptions, 'slackAddr' | 'webhooks'>): Notifier {
  return new Notifier({ ...deps, slackAddr: config.slackAddr, webhooks: config.webhooks });
}
