import type { CertExpiryEvent, ClusterVerdictEvent, DnsChangeEvent, SelfCheckEvent } from '../events.js';

/**
 * What goavail tells people and other programs, as pure functions: the one
 * human line (Slack, and `text` in every webhook body) and the versioned
 * JSON body a webhook receives. No I/O and no clock here, so a case table
 * pins every line.
 */

/** Bumped when a field of the webhook body changes meaning or goes away (adding one does not). */
const PAYLOAD_VERSION = 1;

const SLACK_HOOKS_BASE = 'https://hooks.slack.com/services/';

export type NotificationType = 'dns_change' | 'cluster_verdict' | 'self_check' | 'cert_expiry';

/**
 * The JSON body POSTed to every webhook. The event's own fields are spread
 * in, with two renames: `at` becomes an ISO 8601 string, and a DNS change's
 * record type (`A`/`AAAA`) is `recordType`, because `type` names the
 * notification.
 */
export type WebhookPayload =
  | (PayloadBase & { readonly type: 'dns_change' } & DnsChangeFields)
  | (PayloadBase & { readonly type: 'cluster_verdict' } & Omit<ClusterVerdictEvent, 'at'>)
  | (PayloadBase & { readonly type: 'self_check' } & Omit<SelfCheckEvent, 'at'>)
  | (PayloadBase & { readonly type: 'cert_expiry' } & Omit<CertExpiryEvent, 'at' | 'expiresAt'> & { readonly expiresAt: string });

interface PayloadBase {
  readonly version: typeof PAYLOAD_VERSION;
  /** The agent that saw or did it. */
  readonly agent: string;
  /** When it happened, ISO 8601 (UTC). */
  readonly at: string;
  /** True: the agent runs in dry-run and changes no DNS record. */
  readonly dryRun: boolean;
  /** One human line, the same text Slack gets. */
  readonly text: string;
}

interface DnsChangeFields {
  readonly op: DnsChangeEvent['op'];
  readonly recordType: DnsChangeEvent['type'];
  readonly hostname: string;
  readonly ip: string;
  /** `remove A www.example.com 203.0.113.7` */
  readonly summary: string;
  /** The agents whose agreement made the verdict behind this change, when this agent saw that verdict. */
  readonly agreed?: readonly string[];
  /** For a standby IP's record: why it came or went (failover, failback, standby-down); absent for a primary. */
  readonly standby?: DnsChangeEvent['standby'];
}

/** The cluster verdict this agent last saw for an IP; it explains a DNS change that follows. */
export interface VerdictContext {
  readonly verdict: ClusterVerdictEvent['to'];
  readonly agreed: readonly string[];
}

/**
 * The Slack incoming-webhook URL for `slack_addr`.
 *
 * | slack_addr                                    | URL                                              |
 * |-----------------------------------------------|--------------------------------------------------|
 * | `T000/B000/XXXX` (original goavail form)      | `https://hooks.slack.com/services/T000/B000/XXXX` |
 * | `/T000/B000/XXXX`                             | same (leading slashes dropped)                   |
 * | `hooks.slack.com/services/T000/B000/XXXX`     | `https://` prepended                             |
 * | `https://…` or `http://…` (any host)          | unchanged                                        |
 * | empty or blanks                               | undefined: no Slack                              |
 */
export function slackUrl(addr: string | undefined): string | undefined {
  const a = addr?.trim() ?? '';
  if (a === '') return undefined;
  if (/^https?:\/\//i.test(a)) return a;
  if (/^hooks\.slack\.com\//i.test(a)) return `https://${a}`;
  const path = a.replace(/^\/+/, '').replace(/^services\//, '');
  return path === '' ? undefined : `${SLACK_HOOKS_BASE}${path}`;
}

/** Where a URL points, without the path and query that carry the secret: safe to log. */
export function originOf(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
}

const ICON = {
  remove: ':rotating_light:',
  add: ':white_check_mark:',
  down: ':red_circle:',
  up: ':large_green_circle:',
  unknown: ':grey_question:',
  sick: ':warning:',
  healthy: ':white_check_mark:',
} as const;

function agreedBy(agreed: readonly string[]): string {
  return agreed.length > 0 ? `agreed by ${agreed.join(', ')}` : '';
}

/**
 * `:rotating_light: goavail a: removed A www.example.com 203.0.113.7 (203.0.113.7 down, agreed by a, b)`;
 * in dry-run `would remove`. The parenthesis appears when this agent saw
 * the cluster verdict behind the change.
 */
export function dnsChangeText(agent: string, e: DnsChangeEvent, ctx?: VerdictContext): string {
  const remove = e.op === 'delete';
  const verb = e.dryRun ? (remove ? 'would remove' : 'would add') : remove ? 'removed' : 'added';
  const expected = remove ? 'down' : 'up';
  let why = '';
  if (e.standby) why = ` (${STANDBY_WHY[e.standby]})`;
  else if (ctx && ctx.verdict === expected) {
    const by = agreedBy(ctx.agreed);
    why = ` (${e.ip} ${expected}${by ? `, ${by}` : ''})`;
  }
  return `${remove ? ICON.remove : ICON.add} goavail ${agent}: ${verb} ${e.type} ${e.hostname} ${e.ip}${why}`;
}

const STANDBY_WHY: Readonly<Record<NonNullable<DnsChangeEvent['standby']>, string>> = {
  failover: 'standby: failing over, too few primaries up',
  failback: 'standby: failback, the primaries have stayed up',
  'standby-down': 'standby: it is down',
};

/** `:red_circle: goavail a: cluster verdict 203.0.113.7 is down (was up), agreed by a, b` */
export function clusterVerdictText(agent: string, e: ClusterVerdictEvent): string {
  const by = agreedBy(e.agreed);
  return `${ICON[e.to]} goavail ${agent}: cluster verdict ${e.ip} is ${e.to} (was ${e.from})${by ? `, ${by}` : ''}`;
}

/** `:warning: goavail a: self-check canaries-failing (was healthy): <detail>; its down votes now abstain` */
export function selfCheckText(agent: string, e: SelfCheckEvent): string {
  if (e.to === 'healthy') {
    return `${ICON.healthy} goavail ${agent}: self-check healthy again (was ${e.from}): ${e.detail}; its down votes count again`;
  }
  return `${ICON.sick} goavail ${agent}: self-check ${e.to} (was ${e.from}): ${e.detail}; its down votes now abstain`;
}

/** `:warning: goavail a: the certificate of 203.0.113.7 for www.example.com expires in 3 days (2026-12-05T00:00:00.000Z), below cert_min_days = 7` */
export function certExpiryText(agent: string, e: CertExpiryEvent): string {
  const when = e.daysLeft < 0 ? `expired ${-e.daysLeft} day${e.daysLeft === -1 ? '' : 's'} ago` : `expires in ${e.daysLeft} day${e.daysLeft === 1 ? '' : 's'}`;
  return `${ICON.sick} goavail ${agent}: the certificate of ${e.ip} for ${e.host} ${when} (${iso(e.expiresAt)}), below cert_min_days = ${e.minDays}`;
}

export function certExpiryPayload(agent: string, dryRun: boolean, e: CertExpiryEvent): WebhookPayload {
  const { at, expiresAt, ...fields } = e;
  return { version: PAYLOAD_VERSION, type: 'cert_expiry', agent, ...fields, expiresAt: iso(expiresAt), at: iso(at), dryRun, text: certExpiryText(agent, e) };
}

function iso(at: number): string {
  const d = new Date(at);
  return Number.isNaN(d.getTime()) ? new Date(0).toISOString() : d.toISOString();
}

export function dnsChangePayload(agent: string, e: DnsChangeEvent, ctx?: VerdictContext): WebhookPayload {
  const agreed = ctx && ctx.verdict === (e.op === 'delete' ? 'down' : 'up') ? { agreed: [...ctx.agreed] } : {};
  return {
    version: PAYLOAD_VERSION,
    type: 'dns_change',
    agent,
    at: iso(e.at),
    op: e.op,
    recordType: e.type,
    hostname: e.hostname,
    ip: e.ip,
    dryRun: e.dryRun,
    summary: e.summary,
    ...agreed,
    ...(e.standby ? { standby: e.standby } : {}),
    text: dnsChangeText(agent, e, ctx),
  };
}

export function clusterVerdictPayload(agent: string, dryRun: boolean, e: ClusterVerdictEvent): WebhookPayload {
  const { at, ...fields } = e;
  return {
    version: PAYLOAD_VERSION,
    type: 'cluster_verdict',
    agent,
    ...fields,
    agreed: [...e.agreed],
    at: iso(at),
    dryRun,
    text: clusterVerdictText(agent, e),
  };
}

export function selfCheckPayload(agent: string, dryRun: boolean, e: SelfCheckEvent): WebhookPayload {
  const { at, ...fields } = e;
  return { version: PAYLOAD_VERSION, type: 'self_check', agent, ...fields, at: iso(at), dryRun, text: selfCheckText(agent, e) };
}

/** What Slack's incoming webhook takes. */
export function slackPayload(text: string): { text: string } {
  return { text };
}
