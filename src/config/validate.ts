/**
 * Pure validation: the parsed TOML document in, a typed `Config` (or every
 * problem found, each naming its dotted key) out.
 *
 * Why one pass that collects everything instead of throwing at the first
 * problem: an operator fixing a config file wants the whole list at once, and
 * SIGHUP reload must be able to refuse a bad file without side effects. No
 * I/O here: `file` is only used to resolve `key_file` and fill `Config.file`.
 *
 * The file keeps the original goavail key names (snake_case, capitalised
 * table names). smol-toml tables have a null prototype, so every lookup goes
 * through `Object.hasOwn`/`Object.keys`, never `in` or `.hasOwnProperty`.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { checkDnsName } from '../net/dnsname.js';
import { checkPeerAddress, splitHostPort } from '../net/hostport.js';
import { parseTargetIp } from '../net/ip.js';
import { truncate } from '../net/text.js';
import {
  DEFAULTS,
  type CloudflareConfig,
  type Config,
  type ConfigIssue,
  type MembersConfig,
  type ProbeType,
} from './schema.js';

export type ValidateResult =
  | { ok: true; config: Config; warnings: ConfigIssue[] }
  | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

/** Keys each table understands; anything else is warned about. */
const TOP_KEYS = [
  'failure_threshold', 'recovery_threshold', 'interval', 'timeout', 'reconcile_interval',
  'type', 'port', 'ports', 'slack_addr', 'dns_provider', 'Members', 'Cloudflare', 'Route53',
  'status_addr', 'webhooks', 'canaries', 'freeze_min_targets', 'freeze_share',
] as const;
const MEMBERS_KEYS = ['peers', 'local_addr', 'members_port', 'min_peers_agree', 'crypto_key', 'key_file'] as const;
const CLOUDFLARE_KEYS = ['dns_proxied', 'dns_domain', 'hostnames', 'ip_addresses', 'dns_ttl', 'zone_id'] as const;
/** Tables whose own keys are checked; `Route53` is kept as-is. */
const TABLE_KEYS: Readonly<Record<string, readonly string[]>> = {
  '': TOP_KEYS,
  Members: MEMBERS_KEYS,
  Cloudflare: CLOUDFLARE_KEYS,
};
const SUPPORTED_PROVIDERS = ['cloudflare'] as const;
const NOT_YET_PROVIDERS: Readonly<Record<string, string>> = { route53: 'Route53' };
const MIN_KEY_LENGTH = 16;
const MAX_PORT = 65535;

type Table = Record<string, unknown>;

interface Out {
  readonly errors: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

export function validate(raw: unknown, file: string): ValidateResult {
  const out: Out = { errors: [], warnings: [] };
  const absFile = resolve(file);
  if (!isTable(raw)) {
    out.errors.push({ key: '(root)', message: `the document must be a TOML table, got ${describe(raw)}` });
    return { ok: false, errors: out.errors, warnings: out.warnings };
  }
  warnUnknownKeys(out, raw, '');

  // ---- probing ---------------------------------------------------------
  const failureThreshold = readInt(out, raw, 'failure_threshold', '', { min: 1 });
  const recoveryThreshold = readInt(out, raw, 'recovery_threshold', '', { min: 1 });
  const interval = readSeconds(out, raw, 'interval', '', { greaterThan: 0 });
  const reconcileInterval = readSeconds(out, raw, 'reconcile_interval', '', { atLeast: 1 });
  const intervalSeconds = interval === undefined ? DEFAULTS.intervalSeconds : interval;
  const intervalMs = intervalSeconds === null ? null : toMs(out, 'interval', intervalSeconds);
  const timeout = readSeconds(out, raw, 'timeout', '', { greaterThan: 0 });
  let timeoutMs: number | null;
  if (timeout === null) {
    timeoutMs = null;
  } else if (timeout === undefined) {
    timeoutMs = intervalSeconds === null
      ? null
      : Math.round(Math.min(DEFAULTS.maxDefaultTimeoutSeconds, intervalSeconds / 2) * 1000);
  } else {
    timeoutMs = toMs(out, 'timeout', timeout);
    if (intervalSeconds !== null && intervalMs !== null && timeoutMs !== null
      && (timeout >= intervalSeconds || timeoutMs >= intervalMs)) {
      out.errors.push({
        key: 'timeout',
        message: `must be less than interval (${intervalSeconds} s) so a probe ends before the next round starts, got ${timeout}`,
      });
      timeoutMs = null;
    }
  }
  const probeType = readEnum<ProbeType>(out, raw, 'type', '', ['ip', 'tcp']);
  const port = readPort(out, raw);
  const slackAddr = readString(out, raw, 'slack_addr', '', { secret: true });
  const dnsProvider = readProvider(out, raw);

  // ---- operations ------------------------------------------------------
  const statusAddr = readString(out, raw, 'status_addr', '');
  if (typeof statusAddr === 'string' && statusAddr !== '') {
    const hp = splitHostPort(statusAddr, { allowPortZero: true });
    if (typeof hp === 'string') out.errors.push({ key: 'status_addr', message: `must be "host:port" (or "" to disable the listener): ${hp}` });
  }
  const webhooks = readWebhooks(out, raw);
  const canaries = readIpList(out, raw, 'canaries');
  const freezeMinTargets = readInt(out, raw, 'freeze_min_targets', '', { min: 1 });
  const freezeShare = readShare(out, raw, 'freeze_share');

  // ---- tables ----------------------------------------------------------
  const members = readMembers(out, raw, absFile);
  const route53 = readTable(out, raw, 'Route53', '');
  let cloudflare: CloudflareConfig | null | undefined;
  const cfTable = readTable(out, raw, 'Cloudflare', '');
  if (cfTable === undefined) {
    if (dnsProvider === 'cloudflare') {
      out.errors.push({
        key: 'Cloudflare',
        message: `the [Cloudflare] table is required when dns_provider is "cloudflare"${typoHint(raw, 'Cloudflare', TOP_KEYS)}`,
      });
    }
    cloudflare = undefined;
  } else if (cfTable === null) {
    cloudflare = null;
  } else {
    warnUnknownKeys(out, cfTable, 'Cloudflare');
    cloudflare = readCloudflare(out, cfTable);
  }

  if (out.errors.length > 0) return { ok: false, errors: out.errors, warnings: out.warnings };

  // Every `null` (invalid) produced an error above, so from here on values are
  // either valid or absent (undefined → default).
  const failure = failureThreshold ?? DEFAULTS.failureThreshold;
  const config: Config = {
    file: absFile,
    failureThreshold: failure,
    recoveryThreshold: recoveryThreshold ?? failure,
    intervalMs: intervalMs as number,
    timeoutMs: timeoutMs as number,
    probeType: probeType ?? 'ip',
    port: port ?? DEFAULTS.port,
    slackAddr: slackAddr === '' || slackAddr === null ? undefined : slackAddr,
    reconcileIntervalMs: Math.round((reconcileInterval ?? DEFAULTS.reconcileIntervalSeconds) * 1000),
    dnsProvider: dnsProvider as 'cloudflare',
    members: members as MembersConfig,
    cloudflare: cloudflare as CloudflareConfig,
    route53: route53 ? plainCopy(route53) as Record<string, unknown> : undefined,
    statusAddr: statusAddr === '' ? undefined : statusAddr ?? DEFAULTS.statusAddr,
    webhooks: webhooks ?? [],
    canaries: canaries ?? [],
    freezeMinTargets: freezeMinTargets ?? DEFAULTS.freezeMinTargets,
    freezeShare: freezeShare ?? DEFAULTS.freezeShare,
  };
  const managed = new Set(config.cloudflare.ipAddresses);
  for (const [i, c] of config.canaries.entries()) {
    if (managed.has(c)) {
      return { ok: false, errors: [{ key: `canaries[${i}]`, message: `${c} is also in Cloudflare.ip_addresses: a canary must be an address this agent should always reach, not a managed one` }], warnings: out.warnings };
    }
  }
  return { ok: true, config, warnings: out.warnings };
}

// ===========================================================================
// Sections
// ===========================================================================

function readPort(out: Out, raw: Table): number | undefined | null {
  const port = readInt(out, raw, 'port', '', { min: 1, max: MAX_PORT });
  const ports = get(raw, 'ports');
  if (ports === undefined) return port;
  if (port !== undefined) {
    out.warnings.push({ key: 'ports', message: 'is deprecated and ignored because `port` is set; remove it' });
    return port;
  }
  if (!Array.isArray(ports) || ports.length === 0) {
    out.errors.push({ key: 'ports', message: `(deprecated) must be a non-empty list of ports, got ${describe(ports)}; use \`port = 80\` instead` });
    return null;
  }
  const first = readIntValue(out, ports[0], 'ports[0]', { min: 1, max: MAX_PORT });
  if (first === null) return null;
  const extra = ports.length > 1 ? ` (entries after the first, ${show(ports.slice(1))}, were never used)` : '';
  out.warnings.push({ key: 'ports', message: `is deprecated: use \`port = ${first}\`${extra}` });
  return first;
}

function readProvider(out: Out, raw: Table): 'cloudflare' | undefined | null {
  const value = get(raw, 'dns_provider');
  if (value === undefined) return 'cloudflare';
  if (typeof value !== 'string') {
    out.errors.push({ key: 'dns_provider', message: `must be a string, one of ${quoteList(SUPPORTED_PROVIDERS)}; got ${describe(value)}` });
    return null;
  }
  if ((SUPPORTED_PROVIDERS as readonly string[]).includes(value)) return value as 'cloudflare';
  const later = NOT_YET_PROVIDERS[value.toLowerCase()];
  if (later !== undefined) {
    out.errors.push({ key: 'dns_provider', message: `the ${later} provider is not implemented yet (supported: ${quoteList(SUPPORTED_PROVIDERS)}), got ${show(value)}` });
  } else {
    out.errors.push({ key: 'dns_provider', message: `unsupported DNS provider ${show(value)}; supported: ${quoteList(SUPPORTED_PROVIDERS)}` });
  }
  return null;
}

function readMembers(out: Out, raw: Table, absFile: string): MembersConfig | null {
  const table = readTable(out, raw, 'Members', '');
  if (table === null) return null;
  const t: Table = table ?? Object.create(null) as Table;
  if (table) warnUnknownKeys(out, t, 'Members');
  const P = 'Members';

  // peers
  let peers: string[] | null = [];
  const peersRaw = get(t, 'peers');
  if (peersRaw !== undefined) {
    if (!Array.isArray(peersRaw)) {
      out.errors.push({ key: `${P}.peers`, message: `must be a list of "host:port" strings or multiaddrs, got ${describe(peersRaw)}` });
      peers = null;
    } else {
      const seen = new Map<string, number>();
      const list: string[] = [];
      let ok = true;
      for (const [i, p] of peersRaw.entries()) {
        const key = `${P}.peers[${i}]`;
        if (typeof p !== 'string') {
          out.errors.push({ key, message: `must be a "host:port" string or a multiaddr, got ${describe(p)}` });
          ok = false;
          continue;
        }
        const reason = checkPeerAddress(p);
        if (reason) {
          out.errors.push({ key, message: `${reason}, got ${show(p)}` });
          ok = false;
          continue;
        }
        const prev = seen.get(p);
        if (prev !== undefined) {
          out.warnings.push({ key, message: `${show(p)} is already listed as peers[${prev}]; the duplicate is ignored` });
          continue;
        }
        seen.set(p, i);
        list.push(p);
      }
      peers = ok ? list : null;
    }
  }

  // local_addr
  let localAddr: string | undefined | null = readString(out, t, 'local_addr', P);
  if (typeof localAddr === 'string') {
    const hp = splitHostPort(localAddr, { allowPortZero: true });
    if (typeof hp === 'string') {
      out.errors.push({ key: `${P}.local_addr`, message: `${hp}, got ${show(localAddr)}` });
      localAddr = null;
    }
  }

  const membersPort = readInt(out, t, 'members_port', P, { min: 1, max: MAX_PORT });

  // min_peers_agree
  const minPeersAgree = readInt(out, t, 'min_peers_agree', P, { min: 0 });
  if (typeof minPeersAgree === 'number' && peers !== null && minPeersAgree > peers.length) {
    const n = peers.length;
    out.errors.push({
      key: `${P}.min_peers_agree`,
      message: `${minPeersAgree} can never be reached: only ${n} peer${n === 1 ? ' is' : 's are'} listed in Members.peers`,
    });
  }

  // crypto_key: a string, or a list (first seals, all open)
  const cryptoKeys = readCryptoKeys(out, t, P);
  if (cryptoKeys !== null && cryptoKeys.length === 0 && peers !== null && peers.length > 0) {
    // The gossip layer supports an open network (unsealed payloads); allowed,
    // but never silently.
    out.warnings.push({
      key: `${P}.crypto_key`,
      message: 'is not set although Members.peers is: observations travel unsealed and unauthenticated, so anyone who can reach this agent can vote',
    });
  }

  // key_file: relative to the config file's directory
  const keyFileRaw = readString(out, t, 'key_file', P);
  let keyFile: string | null;
  const base = dirname(absFile);
  if (keyFileRaw === null) {
    keyFile = null;
  } else if (keyFileRaw === undefined) {
    keyFile = resolve(base, DEFAULTS.keyFileName);
  } else if (keyFileRaw.trim() === '') {
    out.errors.push({ key: `${P}.key_file`, message: `must be a file path, got ${show(keyFileRaw)}` });
    keyFile = null;
  } else {
    keyFile = isAbsolute(keyFileRaw) ? resolve(keyFileRaw) : resolve(base, keyFileRaw);
  }

  if (peers === null || localAddr === null || membersPort === null || minPeersAgree === null
    || cryptoKeys === null || keyFile === null) return null;
  return {
    peers,
    localAddr,
    membersPort,
    minPeersAgree: minPeersAgree ?? DEFAULTS.minPeersAgree,
    cryptoKeys,
    keyFile,
  };
}

function readCryptoKeys(out: Out, t: Table, P: string): string[] | null {
  const key = `${P}.crypto_key`;
  const value = get(t, 'crypto_key');
  if (value === undefined) return [];
  // Never echo the value: it is a secret.
  const shortWarning = (k: string): void => {
    out.warnings.push({ key: k, message: `is shorter than ${MIN_KEY_LENGTH} characters; use a long random secret (e.g. \`openssl rand -base64 32\`)` });
  };
  if (typeof value === 'string') {
    if (value === '') {
      out.errors.push({ key, message: 'must not be empty' });
      return null;
    }
    if ([...value].length < MIN_KEY_LENGTH) shortWarning(key);
    return [value];
  }
  if (!Array.isArray(value)) {
    out.errors.push({ key, message: `must be a string or a list of strings, got ${kindOf(value)}` });
    return null;
  }
  if (value.length === 0) {
    out.errors.push({ key, message: 'must not be an empty list: give at least one key (the first one seals, every one opens)' });
    return null;
  }
  const keys: string[] = [];
  let ok = true;
  for (const [i, k] of value.entries()) {
    const ik = `${key}[${i}]`;
    if (typeof k !== 'string') {
      out.errors.push({ key: ik, message: `must be a string, got ${kindOf(k)}` });
      ok = false;
    } else if (k === '') {
      out.errors.push({ key: ik, message: 'must not be empty' });
      ok = false;
    } else {
      if ([...k].length < MIN_KEY_LENGTH) shortWarning(ik);
      const prev = keys.indexOf(k);
      if (prev >= 0) out.warnings.push({ key: ik, message: `is the same key as crypto_key[${prev}]` });
      keys.push(k);
    }
  }
  return ok ? keys : null;
}

function readCloudflare(out: Out, t: Table): CloudflareConfig | null {
  const P = 'Cloudflare';
  const dnsProxied = readBool(out, t, 'dns_proxied', P);

  // dns_domain
  let dnsDomain: string | null;
  const domainRaw = readString(out, t, 'dns_domain', P);
  if (domainRaw === undefined) {
    out.errors.push({ key: `${P}.dns_domain`, message: `is required (the Cloudflare zone, e.g. "example.com")${typoHint(t, 'dns_domain', CLOUDFLARE_KEYS)}` });
    dnsDomain = null;
  } else if (domainRaw === null) {
    dnsDomain = null;
  } else {
    const name = domainRaw.toLowerCase().replace(/\.$/, '');
    const reason = name === '@' ? 'must be the zone name itself, "@" only makes sense in hostnames' : checkDnsName(name);
    if (reason) {
      out.errors.push({ key: `${P}.dns_domain`, message: `is not a valid domain name: ${reason}; got ${show(domainRaw)}` });
      dnsDomain = null;
    } else {
      dnsDomain = name;
    }
  }

  const hostnames = readHostnames(out, t, P, dnsDomain);
  const ipAddresses = readIpAddresses(out, t, P);

  // dns_ttl: 1 = automatic, or 30..86400
  let dnsTtl = readInt(out, t, 'dns_ttl', P, {});
  if (typeof dnsTtl === 'number' && dnsTtl !== 1 && (dnsTtl < 30 || dnsTtl > 86400)) {
    out.errors.push({ key: `${P}.dns_ttl`, message: `must be 1 (automatic) or between 30 and 86400 seconds, got ${dnsTtl}` });
    dnsTtl = null;
  }
  if (dnsProxied === true && typeof dnsTtl === 'number' && dnsTtl !== 1) {
    out.warnings.push({ key: `${P}.dns_ttl`, message: `is ignored by Cloudflare for proxied records (dns_proxied = true): they always use automatic TTL` });
  }

  // zone_id: Cloudflare zone ids are 32 hex digits
  let zoneId = readString(out, t, 'zone_id', P);
  if (typeof zoneId === 'string') {
    if (/^[0-9a-f]{32}$/i.test(zoneId.trim())) {
      zoneId = zoneId.trim().toLowerCase();
    } else {
      out.errors.push({ key: `${P}.zone_id`, message: `must be a Cloudflare zone id, 32 hexadecimal digits (the dashboard shows it as "Zone ID" on the zone's overview); got ${show(zoneId)}` });
      zoneId = null;
    }
  }

  if (dnsProxied === null || dnsDomain === null || hostnames === null || ipAddresses === null || dnsTtl === null || zoneId === null) return null;
  return {
    dnsProxied: dnsProxied ?? false,
    dnsDomain,
    hostnames,
    ipAddresses,
    dnsTtl: dnsTtl ?? DEFAULTS.dnsTtl,
    ...(zoneId !== undefined ? { zoneId } : {}),
  };
}

function readHostnames(out: Out, t: Table, P: string, domain: string | null): string[] | null {
  const key = `${P}.hostnames`;
  const value = get(t, 'hostnames');
  if (value === undefined) {
    out.errors.push({ key, message: `is required: the names whose records goavail manages, e.g. ["www"] or ["@"]${typoHint(t, 'hostnames', CLOUDFLARE_KEYS)}` });
    return null;
  }
  if (!Array.isArray(value)) {
    out.errors.push({ key, message: `must be a list of names, got ${describe(value)}` });
    return null;
  }
  if (value.length === 0) {
    out.errors.push({ key, message: 'must not be empty: list at least one name (use "@" for the zone apex)' });
    return null;
  }
  let ok = true;
  const fqdns: string[] = [];
  const seen = new Map<string, number>();
  for (const [i, h] of value.entries()) {
    const ik = `${key}[${i}]`;
    if (typeof h !== 'string') {
      out.errors.push({ key: ik, message: `must be a string, got ${describe(h)}` });
      ok = false;
      continue;
    }
    const r = resolveHostname(h, domain);
    if (typeof r !== 'object') {
      out.errors.push({ key: ik, message: `${r}; got ${show(h)}` });
      ok = false;
      continue;
    }
    if (r.fqdn === undefined) continue; // domain invalid: syntax checked, nothing more to do
    const prev = seen.get(r.fqdn);
    if (prev !== undefined) {
      out.errors.push({ key: ik, message: `duplicate: ${show(h)} is ${r.fqdn}, already listed as hostnames[${prev}]` });
      ok = false;
      continue;
    }
    seen.set(r.fqdn, i);
    fqdns.push(r.fqdn);
  }
  return ok && domain !== null ? fqdns : null;
}

/**
 * Turns one `hostnames` entry into a fully qualified name.
 *
 * | entry              | dns_domain  | result                                 |
 * |--------------------|-------------|----------------------------------------|
 * | "@"                | example.com | example.com (the zone apex)            |
 * | "www"              | example.com | www.example.com (relative)             |
 * | "www.example.com"  | example.com | www.example.com (already ends with it) |
 * | "www.example.com." | example.com | www.example.com (fully qualified)      |
 * | "www.example.org." | example.com | error: in another zone                 |
 * | "*"                | example.com | error: no wildcards                    |
 */
function resolveHostname(entry: string, domain: string | null): { fqdn: string | undefined } | string {
  if (entry === '@') return { fqdn: domain ?? undefined };
  const lower = entry.toLowerCase();
  if (lower.endsWith('.')) {
    const name = lower.slice(0, -1);
    const reason = checkDnsName(name);
    if (reason) return `is not a valid DNS name: ${reason}`;
    if (domain === null) return { fqdn: undefined };
    if (name !== domain && !name.endsWith(`.${domain}`)) {
      return `the fully qualified name is outside dns_domain "${domain}" (it would belong to another zone)`;
    }
    return { fqdn: name };
  }
  const reason = checkDnsName(lower);
  if (reason) return `is not a valid DNS name: ${reason}`;
  if (domain === null) return { fqdn: undefined };
  if (lower === domain || lower.endsWith(`.${domain}`)) return { fqdn: lower };
  const fqdn = `${lower}.${domain}`;
  if (fqdn.length > 253) return `is too long: ${fqdn.length} characters once dns_domain is appended (at most 253)`;
  return { fqdn };
}

function readIpAddresses(out: Out, t: Table, P: string): string[] | null {
  const key = `${P}.ip_addresses`;
  const value = get(t, 'ip_addresses');
  if (value === undefined) {
    out.errors.push({ key, message: `is required: the addresses to probe and publish${typoHint(t, 'ip_addresses', CLOUDFLARE_KEYS)}` });
    return null;
  }
  if (!Array.isArray(value)) {
    out.errors.push({ key, message: `must be a list of IP addresses, got ${describe(value)}` });
    return null;
  }
  if (value.length === 0) {
    out.errors.push({ key, message: 'must not be empty: list at least one IP address' });
    return null;
  }
  let ok = true;
  const ips: string[] = [];
  const seen = new Map<string, number>();
  for (const [i, v] of value.entries()) {
    const ik = `${key}[${i}]`;
    if (typeof v !== 'string') {
      out.errors.push({ key: ik, message: `must be a string holding an IPv4 or IPv6 address, got ${describe(v)}` });
      ok = false;
      continue;
    }
    const ip = parseTargetIp(v);
    if (typeof ip !== 'object') {
      out.errors.push({ key: ik, message: `${ip}, got ${show(v)}` });
      ok = false;
      continue;
    }
    const prev = seen.get(ip.ip);
    if (prev !== undefined) {
      out.errors.push({ key: ik, message: `duplicate: ${show(v)} is the same address as ip_addresses[${prev}] (${ip.ip})` });
      ok = false;
      continue;
    }
    seen.set(ip.ip, i);
    ips.push(ip.ip);
  }
  return ok ? ips : null;
}

/** `webhooks = ["https://...", ...]`: http(s) URLs. */
function readWebhooks(out: Out, t: Table): string[] | undefined | null {
  const value = get(t, 'webhooks');
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    out.errors.push({ key: 'webhooks', message: `must be a list of http(s) URLs, got ${describe(value)}` });
    return null;
  }
  let ok = true;
  const urls: string[] = [];
  for (const [i, v] of value.entries()) {
    let url: URL | undefined;
    try {
      url = typeof v === 'string' ? new URL(v) : undefined;
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      out.errors.push({ key: `webhooks[${i}]`, message: `must be an http:// or https:// URL, got ${typeof v === 'string' ? 'an invalid URL' : describe(v)}` });
      ok = false;
      continue;
    }
    urls.push(url.toString());
  }
  return ok ? urls : null;
}

/** A list of IP addresses (possibly empty), normalised, no duplicates. */
function readIpList(out: Out, t: Table, name: string): string[] | undefined | null {
  const value = get(t, name);
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    out.errors.push({ key: name, message: `must be a list of IP addresses, got ${describe(value)}` });
    return null;
  }
  let ok = true;
  const ips: string[] = [];
  for (const [i, v] of value.entries()) {
    const ip = typeof v === 'string' ? parseTargetIp(v) : 'must be a string holding an IPv4 or IPv6 address';
    if (typeof ip !== 'object') {
      out.errors.push({ key: `${name}[${i}]`, message: `${ip}, got ${describe(v)}` });
      ok = false;
    } else if (ips.includes(ip.ip)) {
      out.errors.push({ key: `${name}[${i}]`, message: `duplicate: ${ip.ip} is listed twice` });
      ok = false;
    } else {
      ips.push(ip.ip);
    }
  }
  return ok ? ips : null;
}

/** A share: a number greater than 0 and at most 1. */
function readShare(out: Out, t: Table, name: string): number | undefined | null {
  const value = get(t, name);
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    out.errors.push({ key: name, message: `must be a number greater than 0 and at most 1 (a share of the configured IPs), got ${describe(value)}` });
    return null;
  }
  return value;
}

// ===========================================================================
// Generic readers. Each returns undefined when the key is absent, null when
// it is present but invalid (an error was recorded), the value otherwise.
// ===========================================================================

function readInt(out: Out, t: Table, name: string, prefix: string, range: { min?: number; max?: number }): number | undefined | null {
  const value = get(t, name);
  if (value === undefined) return undefined;
  return readIntValue(out, value, join(prefix, name), range);
}

function readIntValue(out: Out, value: unknown, key: string, range: { min?: number; max?: number }): number | null {
  const { min, max } = range;
  const want = min !== undefined && max !== undefined ? `an integer between ${min} and ${max}`
    : min !== undefined ? `an integer ≥ ${min}` : 'an integer';
  if (typeof value === 'bigint' || (typeof value === 'number' && Number.isInteger(value))) {
    const n = Number(value);
    if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
      out.errors.push({ key, message: `must be ${want}, got ${String(value)}` });
      return null;
    }
    return n;
  }
  out.errors.push({ key, message: `must be ${want}, got ${describe(value)}` });
  return null;
}

/** A duration in seconds (integer or fraction). */
function readSeconds(out: Out, t: Table, name: string, prefix: string, range: { greaterThan?: number; atLeast?: number }): number | undefined | null {
  const value = get(t, name);
  if (value === undefined) return undefined;
  const key = join(prefix, name);
  const want = range.greaterThan !== undefined ? `a number of seconds greater than ${range.greaterThan}`
    : `a number of seconds ≥ ${range.atLeast ?? 0}`;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    out.errors.push({ key, message: `must be ${want}, got ${describe(value)}` });
    return null;
  }
  if ((range.greaterThan !== undefined && !(value > range.greaterThan))
    || (range.atLeast !== undefined && value < range.atLeast)) {
    out.errors.push({ key, message: `must be ${want}, got ${show(value)}` });
    return null;
  }
  return value;
}

function toMs(out: Out, key: string, seconds: number): number | null {
  const ms = Math.round(seconds * 1000);
  if (ms < 1) {
    out.errors.push({ key, message: `must be at least 0.001 seconds (1 ms), got ${show(seconds)}` });
    return null;
  }
  return ms;
}

function readString(out: Out, t: Table, name: string, prefix: string, opts: { secret?: boolean } = {}): string | undefined | null {
  const value = get(t, name);
  if (value === undefined) return undefined;
  if (typeof value === 'string') return value;
  out.errors.push({ key: join(prefix, name), message: `must be a string, got ${opts.secret ? kindOf(value) : describe(value)}` });
  return null;
}

function readBool(out: Out, t: Table, name: string, prefix: string): boolean | undefined | null {
  const value = get(t, name);
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  out.errors.push({ key: join(prefix, name), message: `must be a boolean (true or false, without quotes), got ${describe(value)}` });
  return null;
}

function readEnum<T extends string>(out: Out, t: Table, name: string, prefix: string, allowed: readonly T[]): T | undefined | null {
  const value = get(t, name);
  if (value === undefined) return undefined;
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  out.errors.push({ key: join(prefix, name), message: `must be ${quoteList(allowed, 'or')}, got ${describe(value)}` });
  return null;
}

function readTable(out: Out, t: Table, name: string, prefix: string): Table | undefined | null {
  const value = get(t, name);
  if (value === undefined) return undefined;
  if (isTable(value)) return value;
  const key = join(prefix, name);
  if (Array.isArray(value) && value.length > 0 && value.every(isTable)) {
    out.errors.push({ key, message: `must be a single [${name}] table, got an array of tables ([[${name}]])` });
  } else {
    out.errors.push({ key, message: `must be a table (a [${name}] section), got ${describe(value)}` });
  }
  return null;
}

// ===========================================================================
// Unknown keys
// ===========================================================================

function warnUnknownKeys(out: Out, t: Table, tableName: string): void {
  const known = TABLE_KEYS[tableName] ?? [];
  for (const k of Object.keys(t)) {
    if (known.includes(k)) continue;
    const key = join(tableName, k);
    const what = isTable(t[k]) ? 'unknown table, ignored' : 'unknown key, ignored';
    const home = homeOf(k, tableName);
    if (home !== undefined) {
      const where = home === '' ? 'a top-level key: move it above the first [table] header'
        : `a key of the [${home}] table: move it under [${home}]`;
      out.warnings.push({ key, message: `${what}; \`${k}\` is ${where}` });
      continue;
    }
    const near = suggest(k, known);
    const hint = near.length === 0 ? ''
      : `; did you mean ${near.map((n) => `\`${n}\``).join(' or ')}?${near.some((n) => n.toLowerCase() === k.toLowerCase()) ? ' (names are case-sensitive)' : ''}`;
    out.warnings.push({ key, message: `${what}${hint}` });
  }
}

/** The table (other than `current`) that knows key `k`, '' for top level. */
function homeOf(k: string, current: string): string | undefined {
  for (const [table, keys] of Object.entries(TABLE_KEYS)) {
    if (table !== current && keys.includes(k)) return table;
  }
  return undefined;
}

/** The known keys nearest to `k` within edit distance 2 (case-insensitive). */
export function suggest(k: string, known: readonly string[]): string[] {
  let best = 3;
  let found: string[] = [];
  for (const cand of known) {
    const d = editDistance(k.toLowerCase(), cand.toLowerCase());
    if (d < best) { best = d; found = [cand]; } else if (d === best) found.push(cand);
  }
  return found;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** For a missing required key: point at a present unknown key that looks like a typo of it. */
function typoHint(t: Table, wanted: string, known: readonly string[]): string {
  const typos = Object.keys(t).filter((k) => !known.includes(k) && suggest(k, [wanted]).length > 0);
  return typos.length === 0 ? '' : ` (found ${typos.map((k) => `\`${k}\``).join(', ')}: a typo? names are case-sensitive)`;
}

// ===========================================================================
// Small helpers
// ===========================================================================

function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

function get(t: Table, k: string): unknown {
  return Object.hasOwn(t, k) ? t[k] : undefined;
}

function join(prefix: string, key: string): string {
  const k = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return prefix === '' ? k : `${prefix}.${k}`;
}

/** The kind of a TOML value, without its content (for secrets). */
function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'bigint') return 'an integer';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a float';
  if (typeof v === 'boolean') return 'a boolean';
  if (v instanceof Date) return 'a date/time';
  if (Array.isArray(v)) return 'a list';
  if (isTable(v)) return 'a table';
  return typeof v;
}

/** Kind and value, e.g. `a string "2s"`, `a float 2.5`, `a table`. */
function describe(v: unknown): string {
  if (isTable(v) || v === undefined) return kindOf(v);
  return `${kindOf(v)} ${show(v)}`;
}

/** A TOML-like rendering of a value, truncated. */
function show(v: unknown): string {
  return truncate(render(v), 60);
}

function render(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(render).join(', ')}]`;
  if (isTable(v)) return '{…}';
  return String(v);
}

function quoteList(items: readonly string[], last = 'or'): string {
  const q = items.map((i) => `"${i}"`);
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} ${last} ${q[q.length - 1]}`;
}

/** Deep copy turning null-prototype tables into plain objects. */
function plainCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainCopy);
  if (isTable(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: plainCopy(v[k]), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}
