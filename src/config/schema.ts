import type { ProbeType } from '../model.js';
import type { StatusRange } from '../probe/http-check.js';

/**
 * The validated, typed configuration the agent runs on.
 *
 * Why a separate type from the TOML: the file keeps the original goavail
 * key names (`failure_threshold`, `[Members]`, `[Cloudflare]`...) so existing
 * goavail.toml files load unchanged, while the code works in milliseconds
 * and camelCase with every default filled in. `validate()` is the only way
 * to obtain one, so holding a `Config` means it is valid.
 */
export interface Config {
  /** Absolute path of the file this config was read from. */
  readonly file: string;
  /** Consecutive misses that turn an IP down (`failure_threshold`). */
  readonly failureThreshold: number;
  /** Consecutive successes that turn an IP up (`recovery_threshold`, default failure_threshold). */
  readonly recoveryThreshold: number;
  /** Probe round period in ms (`interval`, seconds in the file; fractions allowed). */
  readonly intervalMs: number;
  /** Per-probe timeout in ms (`timeout`, seconds; must be below interval). */
  readonly timeoutMs: number;
  /**
   * How overdue a reply may be before its IP is suspect and rechecked (`suspect_after`, seconds;
   * the floor: an IP with a slower recent RTT waits a few RTTs). Below `timeoutMs`.
   */
  readonly suspectAfterMs: number;
  /** Time between rapid rechecks of a suspect IP (`recheck_interval`, seconds); 0 turns rechecks, suspicion and suspect gossip off. */
  readonly recheckIntervalMs: number;
  /** Global cap on rechecks per second, all IPs together (`max_recheck_rate`). */
  readonly maxRecheckRate: number;
  /** Probe kind (`type`, overridden by `--type`). */
  readonly probeType: ProbeType;
  /** TCP port for `type = "tcp"`, `"http"` and `"https"` probes (`port`; original `ports = [...]` uses its first entry; default 80, 443 for https). */
  readonly port: number;
  /** Slack webhook (`slack_addr`), kept for the operations issue. */
  readonly slackAddr: string | undefined;
  /** Full reconcile period in ms (`reconcile_interval`, seconds, default 60). */
  readonly reconcileIntervalMs: number;
  /** DNS provider (`dns_provider`, overridden by `--dns-provider`). */
  readonly dnsProvider: DnsProviderName;
  readonly members: MembersConfig;
  /** The [Cloudflare] table, read and checked when the provider is cloudflare; undefined otherwise. */
  readonly cloudflare: CloudflareConfig | undefined;
  /** The [Route53] table, read and checked when the provider is route53; undefined otherwise. */
  readonly aws: Route53Config | undefined;
  /** The `[HTTP]` table, defaults filled in: what an `http`/`https` probe asks and expects. Present only for those two types. */
  readonly http?: HttpConfig;
  /** HTTP listener for /status, /metrics, /healthz (`status_addr`, default 127.0.0.1:9470, not 9100 which node_exporter owns; "" disables). */
  readonly statusAddr: string | undefined;
  /** Whether the file sets `status_addr`: only the default address may be skipped when it is taken. */
  readonly statusAddrExplicit: boolean;
  /** URLs that get a JSON POST for every DNS change, verdict change and self-check change (`webhooks`). */
  readonly webhooks: readonly string[];
  /** PagerDuty Events API v2 routing key (`pagerduty_routing_key`); removals and held removals page, restores resolve. */
  readonly pagerdutyRoutingKey: string | undefined;
  /** `pagerduty_url`: the enqueue endpoint. */
  readonly pagerdutyUrl: string;
  /** Opsgenie API integration key (`opsgenie_api_key`). */
  readonly opsgenieApiKey: string | undefined;
  /** `opsgenie_url`: the API base (EU accounts: https://api.eu.opsgenie.com). */
  readonly opsgenieUrl: string;
  /** Microsoft Teams workflow webhook URL (`teams_webhook`). */
  readonly teamsWebhook: string | undefined;
  /** Discord channel webhook URL (`discord_webhook`). */
  readonly discordWebhook: string | undefined;
  /** Telegram bot token and chat (`telegram_bot_token`, `telegram_chat_id`), both or neither. */
  readonly telegramBotToken: string | undefined;
  readonly telegramChatId: string | undefined;
  /** `telegram_api_url`: the Bot API base. */
  readonly telegramApiUrl: string;
  /** `audit_file`: where every DNS write is appended as a signed, chained JSON line (absolute path); none by default. */
  readonly auditFile: string | undefined;
  /**
   * The control endpoint's bearer token file (`control_token_file`, absolute path; default
   * `goavail.control-token` beside the key file): created with mode 0600 on first start, read by the CLI.
   */
  readonly controlTokenFile: string;
  /** Addresses this agent should always reach (`canaries`); while they all fail, its down votes abstain. */
  readonly canaries: readonly string[];
  /** The share rule applies from this many configured IPs (`freeze_min_targets`, default 4). */
  readonly freezeMinTargets: number;
  /** Above this share of IPs down at once, this agent's down votes abstain (`freeze_share`, default 0.5). */
  readonly freezeShare: number;
  /** The `[Route53]` table as written, kept when another provider is chosen (not checked then). */
  readonly route53: Readonly<Record<string, unknown>> | undefined;
  /** `[[maintenance]]`: planned windows during which IPs are drained; empty when there are none. */
  readonly maintenance: readonly MaintenanceWindow[];
}

/** A day of a weekly maintenance window, as written in `weekdays`. */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/**
 * One `[[maintenance]]` table: the IPs it drains, and when.
 *
 * Why windows live in the config rather than in a drain command: planned
 * work is known in advance and is the same on every agent, so each agent
 * computes the same drains from the same file (src/drain/maintenance.ts),
 * with no gossip and no operator awake at 02:00.
 *
 * | keys given                    | the window is open                                                  |
 * |-------------------------------|---------------------------------------------------------------------|
 * | start, duration               | once: [start, start + duration)                                     |
 * | weekdays, at, duration        | every listed weekday at `at` in `timezone`, for duration            |
 * | weekdays, at, duration, start | the same, counting only openings at or after start                  |
 */
export interface MaintenanceWindow {
  /** Managed IPs (of the chosen provider's `ip_addresses`) drained while the window is open, normalised. */
  readonly ips: readonly string[];
  /** One-off: when it opens (ms since the epoch). Weekly: openings before it do not count; undefined: none are skipped. */
  readonly start: number | undefined;
  /** How long each opening lasts (ms of elapsed time: a DST change within a window does not stretch it). */
  readonly durationMs: number;
  /** Why (`reason`, at most 200 characters); undefined: `maintenance window <n>`, n counting the tables from 1. */
  readonly reason: string | undefined;
  /** The weekly recurrence (`weekdays`, `at`, `timezone`); undefined for a one-off window. */
  readonly weekly: WeeklyRecurrence | undefined;
}

/** `at` as written: minutes after midnight → "HH:MM". */
export function atText(minutes: number): string {
  return `${String(Math.floor(minutes / 60)).padStart(2, '0')}:${String(minutes % 60).padStart(2, '0')}`;
}

export interface WeeklyRecurrence {
  /** The days it opens on (local days in `timezone`), in week order mon..sun. */
  readonly weekdays: readonly Weekday[];
  /** The local time it opens at, minutes after midnight (`at = "02:00"` → 120). */
  readonly atMinutes: number;
  /** IANA time zone name (`timezone`, default "UTC"). */
  readonly timezone: string;
}

export type DnsProviderName = 'cloudflare' | 'route53';

/** The original's `[Route53]` table, checked. */
export interface Route53Config {
  /** Hosted zone name (`aws_domain`), lower case, no trailing dot. */
  readonly domain: string;
  /** Fully qualified names (lower case, no trailing dot) derived from `hostnames`. */
  readonly hostnames: readonly string[];
  /** The IPs to probe and whose values are managed, normalised, no duplicates. */
  readonly ipAddresses: readonly string[];
  /** {@link StandbyConfig.standbyIps} (`standby_ips`). */
  readonly standbyIps: readonly string[];
  /** {@link StandbyConfig.minActive} (`min_active`). */
  readonly minActive: number;
  /** {@link StandbyConfig.failbackDelayMs} (`failback_delay`, seconds in the file). */
  readonly failbackDelayMs: number;
  /** TTL of record sets goavail creates (`ttl`, seconds, default 60: what Route 53 recommends for failover records). */
  readonly ttl: number;
  /** Hosted zone id without the "/hostedzone/" prefix (`aws_zoneid`); absent: looked up from `domain`. */
  readonly zoneId?: string | undefined;
  /** SDK region (`aws_region`); absent: the SDK's own (AWS_REGION, profile), else us-east-1. */
  readonly region?: string | undefined;
}

/**
 * Standby IPs (`standby_ips`, `min_active`, `failback_delay` in either
 * provider's table): probed, gossiped and voted on like the primaries, but
 * published only while too few primaries are up (src/dns/standby.ts).
 */
export interface StandbyConfig {
  /** Normalised, no duplicates, none of them a primary; empty: no standby. */
  readonly standbyIps: readonly string[];
  /** Standbys come in while fewer primaries than this are up (default 1, at most the number of primaries). */
  readonly minActive: number;
  /** Primaries must have stayed up this long (ms) before the standbys leave again (default 60 s). */
  readonly failbackDelayMs: number;
}

/**
 * What every stage after the config needs, whichever provider is chosen:
 * the names and IPs goavail manages, and how records it creates look.
 * `ipAddresses` holds every IP that is probed, gossiped and voted on: the
 * primaries, then the standbys; `primaryIps` and `standby` say which is which.
 */
export interface ManagedRecords {
  readonly domain: string;
  readonly hostnames: readonly string[];
  /** Primaries then standbys: every IP goavail probes and whose records it manages. */
  readonly ipAddresses: readonly string[];
  /** The `ip_addresses` of the table: published whenever up. */
  readonly primaryIps: readonly string[];
  readonly standby: StandbyConfig;
  readonly ttl: number;
  /** Cloudflare's proxy flag; always false for Route 53. */
  readonly proxied: boolean;
}

/** The managed records of the chosen provider's table (validate() guarantees it is there). */
export function managedRecords(config: Pick<Config, 'dnsProvider' | 'cloudflare' | 'aws'>): ManagedRecords {
  const t = config.dnsProvider === 'route53' ? config.aws : config.cloudflare;
  if (!t) return nothingManaged();
  const standby: StandbyConfig = { standbyIps: t.standbyIps, minActive: t.minActive, failbackDelayMs: t.failbackDelayMs };
  const ips = { ipAddresses: [...t.ipAddresses, ...t.standbyIps], primaryIps: t.ipAddresses, standby };
  if (config.dnsProvider === 'route53') {
    const a = config.aws!;
    return { domain: a.domain, hostnames: a.hostnames, ...ips, ttl: a.ttl, proxied: false };
  }
  const cf = config.cloudflare!;
  return { domain: cf.dnsDomain, hostnames: cf.hostnames, ...ips, ttl: cf.dnsTtl, proxied: cf.dnsProxied };
}

function nothingManaged(): ManagedRecords {
  const standby = { standbyIps: [], minActive: DEFAULTS.minActive, failbackDelayMs: DEFAULTS.failbackDelaySeconds * 1000 };
  return { domain: '', hostnames: [], ipAddresses: [], primaryIps: [], standby, ttl: 1, proxied: false };
}

export type { ProbeType } from '../model.js';

export interface MembersConfig {
  /** Other agents, `host:port` or a full multiaddr. Empty: single node. */
  readonly peers: readonly string[];
  /** Where this agent listens for peers, `host:port`. */
  readonly localAddr: string | undefined;
  /** Accepted for compatibility with the original; unused. */
  readonly membersPort: number | undefined;
  /** Other agents that must agree before DNS changes (0 = single-node behaviour). */
  readonly minPeersAgree: number;
  /** Shared secrets; the first seals, every one opens (`crypto_key`, string or list). */
  readonly cryptoKeys: readonly string[];
  /** Persistent libp2p identity (`key_file`, default `goavail.key` beside the config file). */
  readonly keyFile: string;
}

export interface CloudflareConfig {
  readonly dnsProxied: boolean;
  /** Zone name, lower case, no trailing dot. */
  readonly dnsDomain: string;
  /** Fully qualified names (lower case, no trailing dot) derived from `hostnames`. */
  readonly hostnames: readonly string[];
  /** The IPs to probe and whose records are managed, normalised, no duplicates. */
  readonly ipAddresses: readonly string[];
  /** {@link StandbyConfig.standbyIps} (`standby_ips`). */
  readonly standbyIps: readonly string[];
  /** {@link StandbyConfig.minActive} (`min_active`). */
  readonly minActive: number;
  /** {@link StandbyConfig.failbackDelayMs} (`failback_delay`, seconds in the file). */
  readonly failbackDelayMs: number;
  /** TTL of records goavail creates (`dns_ttl`, 1 = automatic). */
  readonly dnsTtl: number;
  /**
   * The zone's id (`zone_id`, 32 hex digits, lower case), when the zone name
   * alone is ambiguous (a pending and an active zone of one name): then no
   * lookup by name. Absent: looked up from dns_domain.
   */
  readonly zoneId?: string | undefined;
}

/**
 * What an HTTP(S) probe sends and what counts as up. Why a table of its own:
 * the same keys serve both schemes, and a file with `type = "ip"` must not
 * carry them by mistake (validation refuses `[HTTP]` keys for ip and tcp).
 */
export interface HttpConfig {
  /** Request path, with its query (`path`, default "/"). */
  readonly path: string;
  readonly method: 'GET' | 'HEAD';
  /** The Host header and the TLS SNI name (`host`; default the first hostname, fully qualified). */
  readonly host: string;
  /** Status codes that count as up (`expect_status`, default 200-399). */
  readonly expectStatus: readonly StatusRange[];
  /** Text that must appear in the first 64 KiB of the body (`expect_body`); undefined: any body. */
  readonly expectBody: string | undefined;
  /** Extra request headers (`headers`); their values are secrets (masked when printed, never logged). */
  readonly headers: Readonly<Record<string, string>>;
  /** https: the chain must verify and the certificate must match `host` (`tls_verify`, default true). */
  readonly tlsVerify: boolean;
  /** https: an extra CA bundle, absolute path (`ca_file`). */
  readonly caFile: string | undefined;
  /** The PEM text of `ca_file`, read by loadConfig (validation does no I/O): undefined until then. */
  readonly caPem?: string | undefined;
  /** https: a certificate that expires within this many days raises a warning (`cert_min_days`, default 7). */
  readonly certMinDays: number;
}

/** One problem found in a config file; `key` is the dotted TOML path. */
export interface ConfigIssue {
  readonly key: string;
  readonly message: string;
}

export const DEFAULTS = {
  failureThreshold: 3,
  intervalSeconds: 2,
  /** timeout defaults to min(1 s, interval / 2). */
  maxDefaultTimeoutSeconds: 1,
  /** suspect_after defaults to min(0.1 s, timeout / 2). */
  maxDefaultSuspectAfterSeconds: 0.1,
  /** recheck_interval defaults to min(0.2 s, interval / 4). */
  maxDefaultRecheckIntervalSeconds: 0.2,
  maxRecheckRate: 200,
  port: 80,
  reconcileIntervalSeconds: 60,
  dnsTtl: 1,
  /** Route 53 recommends 60 s for failover records. */
  route53Ttl: 60,
  minPeersAgree: 0,
  keyFileName: 'goavail.key',
  controlTokenFileName: 'goavail.control-token',
  statusAddr: '127.0.0.1:9470',
  pagerdutyUrl: 'https://events.pagerduty.com/v2/enqueue',
  opsgenieUrl: 'https://api.opsgenie.com',
  telegramApiUrl: 'https://api.telegram.org',
  freezeMinTargets: 4,
  freezeShare: 0.5,
  minActive: 1,
  failbackDelaySeconds: 60,
  httpsPort: 443,
  httpPath: '/',
  httpMethod: 'GET',
  httpExpectStatus: '200-399',
  certMinDays: 7,
  maintenanceTimezone: 'UTC',
  /** Longest opening of a weekly window: a week (a longer one would overlap its own next opening). */
  maxWeeklyMaintenanceSeconds: 7 * 24 * 3600,
  /** Longest `reason` of a window, as a drain's. */
  maxMaintenanceReasonChars: 200,
} as const;
