import type { HeldRecord } from '../events.js';
import type { WebhookPayload } from './message.js';

/**
 * What each alert channel is sent, as pure functions of a notification: the
 * request body (and, for the incident tools, the path and the action).
 *
 * | channel    | gets                                                 | request                                           |
 * |------------|------------------------------------------------------|---------------------------------------------------|
 * | pagerduty  | real DNS removals and held removals: trigger; restores: resolve | Events API v2 `enqueue`, dedup key per hostname + IP |
 * | opsgenie   | the same: create an alert; restores: close it         | Alert API `POST /v2/alerts`, `…/{alias}/close`    |
 * | teams      | every notification Slack gets                        | workflow webhook, an Adaptive Card                |
 * | discord    | every notification Slack gets                        | webhook `{content}`, mentions disabled            |
 * | telegram   | every notification Slack gets                        | Bot API `sendMessage`                              |
 *
 * Why the incident tools get less: they page a person. A verdict change
 * that DNS does not follow, a self-check change or a dry-run "would
 * remove" is a chat message, not an incident; a removal (the failover
 * happened: one IP is out) and a held removal (every IP of the name looks
 * down: nothing left to fail over to) are. One dedup key per hostname + IP
 * means the restore resolves the very incident the removal opened.
 */

/** A notification an alert channel may page on, besides the ones every channel gets. */
export type AlertEvent =
  | { readonly kind: 'notification'; readonly payload: WebhookPayload }
  /** A record keep-last started to hold back (newly in the held set). */
  | { readonly kind: 'held'; readonly record: HeldRecord; readonly agent: string; readonly at: string }
  /** A held record that is no longer held while its IP's cluster verdict is up again. */
  | { readonly kind: 'released'; readonly record: HeldRecord; readonly agent: string; readonly at: string };

/** One request: a path below the channel's base URL ('' = the base itself) and a JSON body. */
export interface ChannelRequest {
  readonly path: string;
  readonly body: unknown;
}

/** The key that ties an incident's trigger and resolve: one per hostname + IP. */
export function dedupKey(hostname: string, ip: string): string {
  return `goavail ${hostname} ${ip}`;
}

/** The icons of the Slack text, as Unicode for channels that do not read Slack's `:shortcodes:`. */
const UNICODE: Readonly<Record<string, string>> = {
  ':rotating_light:': '🚨',
  ':white_check_mark:': '✅',
  ':red_circle:': '🔴',
  ':large_green_circle:': '🟢',
  ':grey_question:': '❔',
  ':warning:': '⚠️',
};

/** The human line with its leading Slack shortcode turned into the emoji. */
export function plainText(text: string): string {
  const m = /^(:[a-z_]+:) /.exec(text);
  const icon = m ? UNICODE[m[1] as string] : undefined;
  return m && icon !== undefined ? `${icon} ${text.slice(m[0].length)}` : text;
}

function heldText(agent: string, r: HeldRecord, released: boolean): string {
  return released
    ? `✅ goavail ${agent}: ${r.type} ${r.hostname} ${r.ip} is no longer held: its IP is up again`
    : `🚨 goavail ${agent}: every configured IP of ${r.hostname} looks down; keeping ${r.type} ${r.hostname} ${r.ip} (never removing the last record)`;
}

/** The line a chat channel shows for an event; undefined: chat channels skip it. */
function chatText(e: AlertEvent): string | undefined {
  if (e.kind === 'notification') return plainText(e.payload.text);
  return heldText(e.agent, e.record, e.kind === 'released');
}

/** Incident actions: what to open and what to close, per dedup key. */
type Incident =
  | {
      readonly action: 'trigger';
      readonly key: string;
      readonly summary: string;
      readonly severity: 'critical' | 'warning';
      readonly record: HeldRecord;
      readonly agent: string;
      readonly at: string;
    }
  | { readonly action: 'resolve'; readonly key: string; readonly summary: string; readonly record: HeldRecord; readonly agent: string; readonly at: string };

/**
 * | event                         | dry-run | incident                              |
 * |-------------------------------|---------|---------------------------------------|
 * | dns_change delete             | no      | trigger, warning (the failover done)   |
 * | dns_change create             | no      | resolve                               |
 * | dns_change (either)           | yes     | none                                  |
 * | held (keep-last kept it)      | any     | trigger, critical (nothing to fail to) |
 * | released, IP up again         | any     | resolve                               |
 * | cluster_verdict, self_check   | any     | none                                  |
 */
function incident(e: AlertEvent): Incident | undefined {
  if (e.kind === 'held') {
    return {
      action: 'trigger',
      key: dedupKey(e.record.hostname, e.record.ip),
      summary: heldText(e.agent, e.record, false),
      severity: 'critical',
      record: e.record,
      agent: e.agent,
      at: e.at,
    };
  }
  if (e.kind === 'released') {
    return {
      action: 'resolve',
      key: dedupKey(e.record.hostname, e.record.ip),
      summary: heldText(e.agent, e.record, true),
      record: e.record,
      agent: e.agent,
      at: e.at,
    };
  }
  const p = e.payload;
  // A standby's record comes and goes with failover: the primaries' changes carry the incident.
  if (p.type !== 'dns_change' || p.dryRun || p.standby) return undefined;
  const record: HeldRecord = { type: p.recordType, hostname: p.hostname, ip: p.ip };
  const base = { key: dedupKey(p.hostname, p.ip), summary: plainText(p.text), record, agent: p.agent, at: p.at };
  return p.op === 'delete' ? { action: 'trigger', severity: 'warning', ...base } : { action: 'resolve', ...base };
}

/** At most `n` characters (a channel's limit), with an ellipsis when cut. */
function cap(text: string, n: number): string {
  return text.length <= n ? text : `${text.slice(0, n - 1)}…`;
}

/** PagerDuty Events API v2 (`https://events.pagerduty.com/v2/enqueue`). */
export function pagerdutyRequest(routingKey: string, e: AlertEvent): ChannelRequest | undefined {
  const i = incident(e);
  if (i === undefined) return undefined;
  if (i.action === 'resolve') return { path: '', body: { routing_key: routingKey, event_action: 'resolve', dedup_key: i.key } };
  return {
    path: '',
    body: {
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key: i.key,
      payload: {
        summary: cap(i.summary, 1024),
        source: i.agent,
        severity: i.severity,
        timestamp: i.at,
        component: i.record.ip,
        group: i.record.hostname,
        class: 'dns-failover',
        custom_details: { recordType: i.record.type, hostname: i.record.hostname, ip: i.record.ip },
      },
    },
  };
}

/** Opsgenie Alert API (base `https://api.opsgenie.com`, or `https://api.eu.opsgenie.com`). */
export function opsgenieRequest(e: AlertEvent): ChannelRequest | undefined {
  const i = incident(e);
  if (i === undefined) return undefined;
  if (i.action === 'resolve') {
    return { path: `/v2/alerts/${encodeURIComponent(i.key)}/close?identifierType=alias`, body: { source: i.agent, note: cap(i.summary, 25_000) } };
  }
  return {
    path: '/v2/alerts',
    body: {
      message: cap(i.summary, 130),
      alias: i.key,
      description: i.summary,
      source: i.agent,
      entity: i.record.ip,
      priority: i.severity === 'critical' ? 'P1' : 'P3',
      tags: ['goavail', i.record.hostname],
      details: { recordType: i.record.type, hostname: i.record.hostname, ip: i.record.ip },
    },
  };
}

/** A Microsoft Teams workflow webhook ("When a Teams webhook request is received"): one Adaptive Card. */
export function teamsRequest(e: AlertEvent): ChannelRequest | undefined {
  const text = chatText(e);
  if (text === undefined) return undefined;
  return {
    path: '',
    body: {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [{ type: 'TextBlock', text, wrap: true }],
          },
        },
      ],
    },
  };
}

/** A Discord channel webhook; mentions are never parsed (an IP or a reason cannot ping anyone). */
export function discordRequest(e: AlertEvent): ChannelRequest | undefined {
  const text = chatText(e);
  if (text === undefined) return undefined;
  return { path: '', body: { content: cap(text, 2000), allowed_mentions: { parse: [] } } };
}

/** Telegram Bot API `sendMessage` (the base URL holds `/bot<token>`). */
export function telegramRequest(chatId: string, e: AlertEvent): ChannelRequest | undefined {
  const text = chatText(e);
  if (text === undefined) return undefined;
  return { path: '/sendMessage', body: { chat_id: chatId, text: cap(text, 4096), disable_web_page_preview: true } };
}
