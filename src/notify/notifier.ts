import type { AgentEvents, CertExpiryEvent, ClusterVerdictEvent, DnsChangeEvent, HeldRecord, HeldRemovalsEvent, SelfCheckEvent } from '../events.js';
import { DEFAULTS, type Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import { DELIVERY_DEFAULTS, Target, type DeliveryCounters, type DeliveryOptions, type Job, type TargetKind } from './delivery.js';
import { discordRequest, opsgenieRequest, pagerdutyRequest, teamsRequest, telegramRequest, type AlertEvent, type ChannelRequest } from './channels.js';
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

/** The alert channels beside Slack and webhooks (config keys in the README). */
export interface AlertChannels {
  /** PagerDuty Events API v2: the integration's routing key, and the enqueue URL. */
  readonly pagerduty?: { readonly routingKey: string; readonly url: string };
  /** Opsgenie Alert API: an API integration key, and the API base URL. */
  readonly opsgenie?: { readonly apiKey: string; readonly url: string };
  /** A Microsoft Teams workflow webhook URL. */
  readonly teams?: string;
  /** A Discord channel webhook URL. */
  readonly discord?: string;
  /** Telegram Bot API: the bot token, the chat id, and the API base URL. */
  readonly telegram?: { readonly botToken: string; readonly chatId: string; readonly apiUrl: string };
}

/** One receiver to have: what it is, where, its extra headers, and what it is sent for an event. */
interface Wanted {
  readonly kind: TargetKind;
  readonly url: string;
  readonly headers?: Record<string, string>;
  /** Tells two receivers at one URL apart (a routing key is not in the URL); never logged. */
  readonly secret?: string;
  readonly render: (e: AlertEvent) => ChannelRequest | undefined;
}

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
  /** PagerDuty, Opsgenie, Teams, Discord, Telegram. */
  alerts?: AlertChannels;
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
  private targets: Array<{ target: Target; render: Wanted['render'] }> = [];
  /** The removals keep-last holds back now, by dedup text. */
  private held = new Map<string, HeldRecord>();
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
    this.setReceivers(opts);
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

  /**
   * A record newly held back is an incident (every IP of its name looks
   * down); one no longer held while its IP is up again resolves it. One
   * that leaves the set because it was removed is reported by dnsChange.
   */
  heldRemovals(e: HeldRemovalsEvent): void {
    this.safely('heldRemovals', () => {
      const key = (r: HeldRecord): string => `${r.type} ${r.hostname} ${r.ip}`;
      const next = new Map(e.held.map((r) => [key(r), r]));
      const agent = this.opts.agentId();
      const at = new Date(e.at).toISOString();
      const events: AlertEvent[] = [];
      for (const [k, r] of next) if (!this.held.has(k)) events.push({ kind: 'held', record: r, agent, at });
      for (const [k, r] of this.held) {
        if (!next.has(k) && this.verdicts.get(r.ip)?.verdict === 'up') events.push({ kind: 'released', record: r, agent, at });
      }
      this.held = next;
      for (const ev of events) this.send(ev, 'held_removal');
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
  update(config: NotifyConfig): void {
    this.setReceivers({ slackAddr: config.slackAddr, webhooks: config.webhooks, alerts: alertChannels(config) });
  }

  private setReceivers(next: { slackAddr?: string; webhooks: readonly string[]; alerts?: AlertChannels }): void {
    if (this.closed) return;
    const wanted: Wanted[] = [];
    const slack = slackUrl(next.slackAddr);
    if (slack !== undefined) {
      if (isHttpUrl(slack))
        wanted.push({ kind: 'slack', url: slack, render: (e) => (e.kind === 'notification' ? { path: '', body: slackPayload(e.payload.text) } : undefined) });
      else this.logger.warn('slack_addr does not make a valid http(s) URL; Slack notifications are off');
    }
    next.webhooks.forEach((url, i) => {
      if (isHttpUrl(url)) wanted.push({ kind: 'webhook', url, render: (e) => (e.kind === 'notification' ? { path: '', body: e.payload } : undefined) });
      else this.logger.warn({ index: i }, 'webhook is not a valid http(s) URL; skipped');
    });
    wanted.push(...alertTargets(next.alerts ?? {}));
    const keyOf = (t: Pick<Wanted, 'kind' | 'url' | 'secret'>): string => `${t.kind} ${t.url} ${t.secret ?? ''}`;
    const old = new Map(this.targets.map((t) => [keyOf(t.target), t.target]));
    const targets: Notifier['targets'] = [];
    const seen = new Set<string>();
    for (const w of wanted) {
      const key = keyOf(w);
      if (seen.has(key)) continue;
      seen.add(key);
      const deps = { logger: this.logger, fetch: this.fetchFn, counters: this.counters, options: this.delivery, now: this.now, random: this.opts.random };
      targets.push({ target: old.get(key) ?? new Target(w.kind, w.url, deps, w.headers, w.secret), render: w.render });
      old.delete(key);
    }
    for (const gone of old.values()) gone.close();
    this.targets = targets;
    const kinds = (k: TargetKind) => targets.filter((t) => t.target.kind === k);
    this.logger.info(
      {
        slack: kinds('slack').length > 0,
        webhooks: kinds('webhook').map((t) => t.target.origin),
        alerts: targets.map((t) => t.target.kind).filter((k) => k !== 'slack' && k !== 'webhook'),
      },
      targets.length > 0 ? 'notifications on' : 'notifications off (no slack_addr, no webhooks, no alert channels)',
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
      await Promise.race([Promise.all(this.targets.map((t) => t.target.whenIdle())), deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Stops every delivery loop, request and retry; later events are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.targets) t.target.close();
    this.targets = [];
  }

  stats(): NotifierStats {
    return { ...this.counters, queued: this.targets.reduce((n, t) => n + t.target.pending, 0) };
  }

  // ---- internals -------------------------------------------------------------

  private emit(payload: WebhookPayload): void {
    this.send({ kind: 'notification', payload }, payload.type);
  }

  /** Each receiver gets its own rendering of the event, or nothing. */
  private send(e: AlertEvent, type: Job['type']): void {
    for (const { target, render } of this.targets) {
      const r = render(e);
      if (r !== undefined) target.push({ type, body: JSON.stringify(r.body), ...(r.path ? { path: r.path } : {}) });
    }
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

/** The receivers of the alert channels that are configured. */
function alertTargets(a: AlertChannels): Wanted[] {
  const out: Wanted[] = [];
  if (a.pagerduty) {
    const { routingKey } = a.pagerduty;
    out.push({ kind: 'pagerduty', url: a.pagerduty.url, secret: routingKey, render: (e) => pagerdutyRequest(routingKey, e) });
  }
  if (a.opsgenie)
    out.push({
      kind: 'opsgenie',
      url: a.opsgenie.url,
      secret: a.opsgenie.apiKey,
      headers: { authorization: `GenieKey ${a.opsgenie.apiKey}` },
      render: opsgenieRequest,
    });
  if (a.teams) out.push({ kind: 'teams', url: a.teams, render: teamsRequest });
  if (a.discord) out.push({ kind: 'discord', url: a.discord, render: discordRequest });
  if (a.telegram) {
    const { chatId } = a.telegram;
    out.push({ kind: 'telegram', url: `${a.telegram.apiUrl.replace(/\/+$/, '')}/bot${a.telegram.botToken}`, render: (e) => telegramRequest(chatId, e) });
  }
  return out;
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
export function createNotifier(config: NotifyConfig, deps: Omit<NotifierOptions, 'slackAddr' | 'webhooks' | 'alerts'>): Notifier {
  return new Notifier({ ...deps, slackAddr: config.slackAddr, webhooks: config.webhooks, alerts: alertChannels(config) });
}

/** The part of the config the notifier follows (alert keys left out: those channels are off). */
export type NotifyConfig = Pick<Config, 'webhooks'> &
  Partial<Pick<Config, 'slackAddr'>> &
  Partial<
    Pick<
      Config,
      | 'pagerdutyRoutingKey'
      | 'pagerdutyUrl'
      | 'opsgenieApiKey'
      | 'opsgenieUrl'
      | 'teamsWebhook'
      | 'discordWebhook'
      | 'telegramBotToken'
      | 'telegramChatId'
      | 'telegramApiUrl'
    >
  >;

/** The alert channels a config turns on. */
function alertChannels(c: NotifyConfig): AlertChannels {
  return {
    ...(c.pagerdutyRoutingKey !== undefined ? { pagerduty: { routingKey: c.pagerdutyRoutingKey, url: c.pagerdutyUrl ?? DEFAULTS.pagerdutyUrl } } : {}),
    ...(c.opsgenieApiKey !== undefined ? { opsgenie: { apiKey: c.opsgenieApiKey, url: c.opsgenieUrl ?? DEFAULTS.opsgenieUrl } } : {}),
    ...(c.teamsWebhook !== undefined ? { teams: c.teamsWebhook } : {}),
    ...(c.discordWebhook !== undefined ? { discord: c.discordWebhook } : {}),
    ...(c.telegramBotToken !== undefined && c.telegramChatId !== undefined
      ? { telegram: { botToken: c.telegramBotToken, chatId: c.telegramChatId, apiUrl: c.telegramApiUrl ?? DEFAULTS.telegramApiUrl } }
      : {}),
  };
}
