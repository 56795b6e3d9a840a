/**
 * The effective configuration for humans (`goavail config`, startup logs).
 *
 * Why the TOML key names and not the `Config` field names: the operator
 * compares this output with the file they wrote. Defaults are filled in,
 * durations are back in seconds, hostnames are shown fully qualified, and
 * secrets are masked without revealing any part of them (not even a prefix
 * or their length).
 */
import type { Config } from './schema.js';

const MASK = '********';
/** Keys in the free-form [Route53] table whose values are masked. */
const SECRET_KEY = /secret|password|passwd|token|credential|(^|_)key($|_)|access_key/i;

export function printableConfig(config: Config): Record<string, unknown> {
  const m = config.members;
  const cf = config.cloudflare;
  const out: Record<string, unknown> = {
    failure_threshold: config.failureThreshold,
    recovery_threshold: config.recoveryThreshold,
    interval: config.intervalMs / 1000,
    timeout: config.timeoutMs / 1000,
    reconcile_interval: config.reconcileIntervalMs / 1000,
    type: config.probeType,
    port: config.port,
    dns_provider: config.dnsProvider,
    status_addr: config.statusAddr ?? '',
    // Webhook URLs often carry a token in their path: show only where they go.
    webhooks: config.webhooks.map((u) => `${new URL(u).origin}/${MASK}`),
    canaries: [...config.canaries],
    freeze_min_targets: config.freezeMinTargets,
    freeze_share: config.freezeShare,
  };
  // The Slack webhook path is a credential in itself.
  if (config.slackAddr !== undefined) out.slack_addr = MASK;
  const members: Record<string, unknown> = {
    peers: [...m.peers],
    min_peers_agree: m.minPeersAgree,
    crypto_key: m.cryptoKeys.map(() => MASK),
    key_file: m.keyFile,
  };
  if (m.localAddr !== undefined) members.local_addr = m.localAddr;
  if (m.membersPort !== undefined) members.members_port = m.membersPort;
  out.Members = members;
  out.Cloudflare = {
    dns_proxied: cf.dnsProxied,
    dns_domain: cf.dnsDomain,
    ...(cf.zoneId !== undefined ? { zone_id: cf.zoneId } : {}),
    hostnames: [...cf.hostnames],
    ip_addresses: [...cf.ipAddresses],
    dns_ttl: cf.dnsTtl,
  };
  if (config.route53 !== undefined) out.Route53 = maskTable(config.route53);
  return out;
}

function maskTable(t: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) {
    const value = SECRET_KEY.test(k) ? MASK
      : v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
        ? maskTable(v as Record<string, unknown>)
        : v;
    // defineProperty: a key named `__proto__` must stay a plain key.
    Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return o;
}
