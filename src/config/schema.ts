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
  /** TCP port for `type = "tcp"` probes (`port`; original `ports = [...]` uses its first entry). */
  readonly port: number;
  /** Slack webhook (`slack_addr`), kept for the operations issue. */
  readonly slackAddr: string | undefined;
  /** Full reconcile period in ms (`reconcile_interval`, seconds, default 60). */
  readonly reconcileIntervalMs: number;
  /** DNS provider (`dns_provider`, overridden by `--dns-provider`). */
  readonly dnsProvider: 'cloudflare';
  readonly members: MembersConfig;
  readonly cloudflare: CloudflareConfig;
  /** HTTP listener for /status, /metrics, /healthz (`status_addr`, default 127.0.0.1:9470, not 9100 which node_exporter owns; "" disables). */
  readonly statusAddr: string | undefined;
  /** URLs that get a JSON POST for every DNS change, verdict change and self-check change (`webhooks`). */
  readonly webhooks: readonly string[];
  /** Addresses this agent should always reach (`canaries`); while they all fail, its down votes abstain. */
  readonly canaries: readonly string[];
  /** The share rule applies from this many configured IPs (`freeze_min_targets`, default 4). */
  readonly freezeMinTargets: number;
  /** Above this share of IPs down at once, this agent's down votes abstain (`freeze_share`, default 0.5). */
  readonly freezeShare: number;
  /** `[Route53]` is accepted and kept for compatibility; no provider uses it yet. */
  readonly route53: Readonly<Record<string, unknown>> | undefined;
}

export type ProbeType = 'ip' | 'tcp';

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
  /** TTL of records goavail creates (`dns_ttl`, 1 = automatic). */
  readonly dnsTtl: number;
  /**
   * The zone's id (`zone_id`, 32 hex digits, lower case), when the zone name
   * alone is ambiguous (a pending and an active zone of one name): then no
   * lookup by name. Absent: looked up from dns_domain.
   */
  readonly zoneId?: string | undefined;
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
  minPeersAgree: 0,
  keyFileName: 'goavail.key',
  statusAddr: '127.0.0.1:9470',
  freezeMinTargets: 4,
  freezeShare: 0.5,
} as const;
