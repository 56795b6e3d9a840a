/**
 * Every key of a goavail TOML file, once: the table it lives in, how its
 * value is read (kind and range, with the message for each way it can be
 * wrong), its default, whether it is a secret, and the `Config` field it
 * fills. `validate.ts` walks this table to read a file and to warn about
 * unknown keys; `print.ts` walks it to print the effective config.
 *
 * Rules that involve more than one key are small named functions attached
 * to the field read last (`check`), so they run in file order and their
 * messages come out where the operator expects them.
 *
 * A reader gets a value that is present; it returns the value, or null
 * after recording an error. Absent keys are the engine's business
 * (`required`, else the default).
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import { checkDnsName } from '../net/dnsname.js';
import { checkPeerAddress, splitHostPort } from '../net/hostport.js';
import { parseTargetIp } from '../net/ip.js';
import { DEFAULTS, type CloudflareConfig, type Config, type ConfigIssue, type MembersConfig, type ProbeType } from './schema.js';
import { describe, kindOf, quoteList, show } from './text.js';

/** The tables whose keys are checked ('' is the top level). */
export type TableName = '' | 'Members' | 'Cloudflare';

/** A `Config` field, dotted for the nested tables. */
export type Target =
  Exclude<keyof Config, 'file' | 'members' | 'cloudflare' | 'route53'> | `members.${keyof MembersConfig}` | `cloudflare.${keyof CloudflareConfig}`;

export interface Out {
  readonly errors: ConfigIssue[];
  readonly warnings: ConfigIssue[];
}

export interface FieldContext {
  readonly out: Out;
  /** The dotted key of the field being read, as messages name it. */
  readonly key: string;
  /** Absolute path of the config file (relative paths in it resolve against its directory). */
  readonly file: string;
  /** What an earlier field read: undefined when absent, null when invalid. */
  value<U>(field: Field<U>): U | undefined | null;
  /** The dotted key of another field, for messages that name it. */
  keyOf(field: Field<unknown>): string;
}

export interface Field<T> {
  /** The TOML key. */
  readonly key: string;
  readonly table: TableName;
  /** Reads a present value; null after recording an error; undefined: treat as absent. */
  read(value: unknown, c: FieldContext): T | null | undefined;
  /** Absent is an error with this message (a typo hint is appended when one fits). */
  readonly required?: string;
  /** Never echoed in an error, masked when printed. */
  readonly secret?: boolean;
  /** A cross-field rule, run after this field is read (present or not); returns the value to keep. */
  check?(value: T | undefined | null, c: FieldContext): T | undefined | null;
  /** The `Config` field this key fills; none for keys folded into another (the deprecated `ports`). */
  readonly target?: Target;
  /** The default when absent. */
  readonly default?: unknown;
  /** The `Config` value from what was read (default: the value, else `default`). */
  toConfig?(value: T | undefined, c: FieldContext): unknown;
  /** Leave the `Config` field out (rather than undefined) when there is no value. */
  readonly omitUnset?: boolean;
  /** How the `Config` value is printed (default: as is; secrets masked). */
  print?(value: unknown): unknown;
}

/** Identity for type inference: `field({...})` checks `read`, `check` and `toConfig` against one T. */
function field<T>(f: Field<T>): Field<T> {
  return f;
}

export const MAX_PORT = 65535;
const MIN_KEY_LENGTH = 16;
const SUPPORTED_PROVIDERS = ['cloudflare'] as const;
const NOT_YET_PROVIDERS: Readonly<Record<string, string>> = { route53: 'Route53' };
/** How printed secrets look: nothing of the secret, not even its length. */
export const MASK = '********';

// ===========================================================================
// Readers: kind and range
// ===========================================================================

type IntRange = { readonly min?: number; readonly max?: number };

function integer(range: IntRange): (value: unknown, c: FieldContext) => number | null {
  return (value, c) => intValue(c.out, value, c.key, range);
}

function intValue(out: Out, value: unknown, key: string, range: IntRange): number | null {
  const { min, max } = range;
  const want = min !== undefined && max !== undefined ? `an integer between ${min} and ${max}` : min !== undefined ? `an integer ≥ ${min}` : 'an integer';
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

type SecondsRange = { readonly greaterThan?: number; readonly atLeast?: number };

/** A number of seconds (integer or fraction). */
function seconds(range: SecondsRange): (value: unknown, c: FieldContext) => number | null {
  return (value, c) => {
    const want = range.greaterThan !== undefined ? `a number of seconds greater than ${range.greaterThan}` : `a number of seconds ≥ ${range.atLeast ?? 0}`;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      c.out.errors.push({ key: c.key, message: `must be ${want}, got ${describe(value)}` });
      return null;
    }
    if ((range.greaterThan !== undefined && !(value > range.greaterThan)) || (range.atLeast !== undefined && value < range.atLeast)) {
      c.out.errors.push({ key: c.key, message: `must be ${want}, got ${show(value)}` });
      return null;
    }
    return value;
  };
}

/** A probe duration: seconds as written, and whole milliseconds (at least 1). */
interface Duration {
  readonly seconds: number;
  readonly ms: number;
}

function duration(range: SecondsRange): (value: unknown, c: FieldContext) => Duration | null {
  const read = seconds(range);
  return (value, c) => {
    const s = read(value, c);
    if (s === null) return null;
    const ms = Math.round(s * 1000);
    if (ms < 1) {
      c.out.errors.push({ key: c.key, message: `must be at least 0.001 seconds (1 ms), got ${show(s)}` });
      return null;
    }
    return { seconds: s, ms };
  };
}

function string(secret = false): (value: unknown, c: FieldContext) => string | null {
  return (value, c) => {
    if (typeof value === 'string') return value;
    c.out.errors.push({ key: c.key, message: `must be a string, got ${secret ? kindOf(value) : describe(value)}` });
    return null;
  };
}

function boolean(value: unknown, c: FieldContext): boolean | null {
  if (typeof value === 'boolean') return value;
  c.out.errors.push({ key: c.key, message: `must be a boolean (true or false, without quotes), got ${describe(value)}` });
  return null;
}

function oneOf<T extends string>(allowed: readonly T[]): (value: unknown, c: FieldContext) => T | null {
  return (value, c) => {
    if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
    c.out.errors.push({ key: c.key, message: `must be ${quoteList(allowed, 'or')}, got ${describe(value)}` });
    return null;
  };
}

/** A share: a number greater than 0 and at most 1. */
function share(value: unknown, c: FieldContext): number | null {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > 1) {
    c.out.errors.push({ key: c.key, message: `must be a number greater than 0 and at most 1 (a share of the configured IPs), got ${describe(value)}` });
    return null;
  }
  return value;
}

/** `host:port`, port 0 allowed (a listen address); the string as written. */
function listenAddress(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  const hp = splitHostPort(s, { allowPortZero: true });
  if (typeof hp === 'string') {
    c.out.errors.push({ key: c.key, message: `${hp}, got ${show(s)}` });
    return null;
  }
  return s;
}

// ===========================================================================
// Readers: one key each
// ===========================================================================

function provider(value: unknown, c: FieldContext): 'cloudflare' | null {
  if (typeof value !== 'string') {
    c.out.errors.push({ key: c.key, message: `must be a string, one of ${quoteList(SUPPORTED_PROVIDERS)}; got ${describe(value)}` });
    return null;
  }
  if ((SUPPORTED_PROVIDERS as readonly string[]).includes(value)) return value as 'cloudflare';
  const later = NOT_YET_PROVIDERS[value.toLowerCase()];
  if (later !== undefined) {
    c.out.errors.push({
      key: c.key,
      message: `the ${later} provider is not implemented yet (supported: ${quoteList(SUPPORTED_PROVIDERS)}), got ${show(value)}`,
    });
  } else {
    c.out.errors.push({ key: c.key, message: `unsupported DNS provider ${show(value)}; supported: ${quoteList(SUPPORTED_PROVIDERS)}` });
  }
  return null;
}

/** `status_addr`: `host:port`, or "" to disable the listener. */
function statusAddress(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (typeof s === 'string' && s !== '') {
    const hp = splitHostPort(s, { allowPortZero: true });
    if (typeof hp === 'string') c.out.errors.push({ key: c.key, message: `must be "host:port" (or "" to disable the listener): ${hp}` });
  }
  return s;
}

/** `webhooks = ["https://...", ...]`: http(s) URLs. */
function webhookList(value: unknown, c: FieldContext): string[] | null {
  if (!Array.isArray(value)) {
    c.out.errors.push({ key: c.key, message: `must be a list of http(s) URLs, got ${describe(value)}` });
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
      c.out.errors.push({
        key: `${c.key}[${i}]`,
        message: `must be an http:// or https:// URL, got ${typeof v === 'string' ? 'an invalid URL' : describe(v)}`,
      });
      ok = false;
      continue;
    }
    urls.push(url.toString());
  }
  return ok ? urls : null;
}

/** A list of IP addresses (possibly empty), normalised, no duplicates. */
function ipList(value: unknown, c: FieldContext): string[] | null {
  if (!Array.isArray(value)) {
    c.out.errors.push({ key: c.key, message: `must be a list of IP addresses, got ${describe(value)}` });
    return null;
  }
  let ok = true;
  const ips: string[] = [];
  for (const [i, v] of value.entries()) {
    const ip = typeof v === 'string' ? parseTargetIp(v) : 'must be a string holding an IPv4 or IPv6 address';
    if (typeof ip !== 'object') {
      c.out.errors.push({ key: `${c.key}[${i}]`, message: `${ip}, got ${describe(v)}` });
      ok = false;
    } else if (ips.includes(ip.ip)) {
      c.out.errors.push({ key: `${c.key}[${i}]`, message: `duplicate: ${ip.ip} is listed twice` });
      ok = false;
    } else {
      ips.push(ip.ip);
    }
  }
  return ok ? ips : null;
}

/** Peers: `host:port` or multiaddrs; a repeated entry is dropped with a warning. */
function peerList(value: unknown, c: FieldContext): string[] | null {
  if (!Array.isArray(value)) {
    c.out.errors.push({ key: c.key, message: `must be a list of "host:port" strings or multiaddrs, got ${describe(value)}` });
    return null;
  }
  const seen = new Map<string, number>();
  const list: string[] = [];
  let ok = true;
  for (const [i, p] of value.entries()) {
    const key = `${c.key}[${i}]`;
    if (typeof p !== 'string') {
      c.out.errors.push({ key, message: `must be a "host:port" string or a multiaddr, got ${describe(p)}` });
      ok = false;
      continue;
    }
    const reason = checkPeerAddress(p);
    if (reason) {
      c.out.errors.push({ key, message: `${reason}, got ${show(p)}` });
      ok = false;
      continue;
    }
    const prev = seen.get(p);
    if (prev !== undefined) {
      c.out.warnings.push({ key, message: `${show(p)} is already listed as peers[${prev}]; the duplicate is ignored` });
      continue;
    }
    seen.set(p, i);
    list.push(p);
  }
  return ok ? list : null;
}

/** `crypto_key`: a string, or a list (the first seals, all open). Never echoed: it is a secret. */
function cryptoKeys(value: unknown, c: FieldContext): string[] | null {
  const shortWarning = (k: string): void => {
    c.out.warnings.push({ key: k, message: `is shorter than ${MIN_KEY_LENGTH} characters; use a long random secret (e.g. \`openssl rand -base64 32\`)` });
  };
  if (typeof value === 'string') {
    if (value === '') {
      c.out.errors.push({ key: c.key, message: 'must not be empty' });
      return null;
    }
    if ([...value].length < MIN_KEY_LENGTH) shortWarning(c.key);
    return [value];
  }
  if (!Array.isArray(value)) {
    c.out.errors.push({ key: c.key, message: `must be a string or a list of strings, got ${kindOf(value)}` });
    return null;
  }
  if (value.length === 0) {
    c.out.errors.push({ key: c.key, message: 'must not be an empty list: give at least one key (the first one seals, every one opens)' });
    return null;
  }
  const keys: string[] = [];
  let ok = true;
  for (const [i, k] of value.entries()) {
    const ik = `${c.key}[${i}]`;
    if (typeof k !== 'string') {
      c.out.errors.push({ key: ik, message: `must be a string, got ${kindOf(k)}` });
      ok = false;
    } else if (k === '') {
      c.out.errors.push({ key: ik, message: 'must not be empty' });
      ok = false;
    } else {
      if ([...k].length < MIN_KEY_LENGTH) shortWarning(ik);
      const prev = keys.indexOf(k);
      if (prev >= 0) c.out.warnings.push({ key: ik, message: `is the same key as crypto_key[${prev}]` });
      keys.push(k);
    }
  }
  return ok ? keys : null;
}

/** `key_file`: a path, relative to the config file's directory. */
function keyFilePath(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  if (s.trim() === '') {
    c.out.errors.push({ key: c.key, message: `must be a file path, got ${show(s)}` });
    return null;
  }
  return isAbsolute(s) ? resolve(s) : resolve(dirname(c.file), s);
}

/** `dns_domain`: the zone, lower case, no trailing dot. */
function zoneName(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  const name = s.toLowerCase().replace(/\.$/, '');
  const reason = name === '@' ? 'must be the zone name itself, "@" only makes sense in hostnames' : checkDnsName(name);
  if (reason) {
    c.out.errors.push({ key: c.key, message: `is not a valid domain name: ${reason}; got ${show(s)}` });
    return null;
  }
  return name;
}

/** `hostnames`: fully qualified, within dns_domain, no duplicates. */
function hostnameList(value: unknown, c: FieldContext): string[] | null {
  const domain = c.value(dnsDomain) ?? null;
  if (!Array.isArray(value)) {
    c.out.errors.push({ key: c.key, message: `must be a list of names, got ${describe(value)}` });
    return null;
  }
  if (value.length === 0) {
    c.out.errors.push({ key: c.key, message: 'must not be empty: list at least one name (use "@" for the zone apex)' });
    return null;
  }
  let ok = true;
  const fqdns: string[] = [];
  const seen = new Map<string, number>();
  for (const [i, h] of value.entries()) {
    const ik = `${c.key}[${i}]`;
    if (typeof h !== 'string') {
      c.out.errors.push({ key: ik, message: `must be a string, got ${describe(h)}` });
      ok = false;
      continue;
    }
    const r = resolveHostname(h, domain);
    if (typeof r !== 'object') {
      c.out.errors.push({ key: ik, message: `${r}; got ${show(h)}` });
      ok = false;
      continue;
    }
    if (r.fqdn === undefined) continue; // domain invalid: syntax checked, nothing more to do
    const prev = seen.get(r.fqdn);
    if (prev !== undefined) {
      c.out.errors.push({ key: ik, message: `duplicate: ${show(h)} is ${r.fqdn}, already listed as hostnames[${prev}]` });
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

/** `ip_addresses`: at least one, normalised, no duplicates. */
function managedIpList(value: unknown, c: FieldContext): string[] | null {
  if (!Array.isArray(value)) {
    c.out.errors.push({ key: c.key, message: `must be a list of IP addresses, got ${describe(value)}` });
    return null;
  }
  if (value.length === 0) {
    c.out.errors.push({ key: c.key, message: 'must not be empty: list at least one IP address' });
    return null;
  }
  let ok = true;
  const ips: string[] = [];
  const seen = new Map<string, number>();
  for (const [i, v] of value.entries()) {
    const ik = `${c.key}[${i}]`;
    if (typeof v !== 'string') {
      c.out.errors.push({ key: ik, message: `must be a string holding an IPv4 or IPv6 address, got ${describe(v)}` });
      ok = false;
      continue;
    }
    const ip = parseTargetIp(v);
    if (typeof ip !== 'object') {
      c.out.errors.push({ key: ik, message: `${ip}, got ${show(v)}` });
      ok = false;
      continue;
    }
    const prev = seen.get(ip.ip);
    if (prev !== undefined) {
      c.out.errors.push({ key: ik, message: `duplicate: ${show(v)} is the same address as ip_addresses[${prev}] (${ip.ip})` });
      ok = false;
      continue;
    }
    seen.set(ip.ip, i);
    ips.push(ip.ip);
  }
  return ok ? ips : null;
}

/** `dns_ttl`: 1 = automatic, or 30..86400. */
function recordTtl(value: unknown, c: FieldContext): number | null {
  const ttl = integer({})(value, c);
  if (ttl !== null && ttl !== 1 && (ttl < 30 || ttl > 86400)) {
    c.out.errors.push({ key: c.key, message: `must be 1 (automatic) or between 30 and 86400 seconds, got ${ttl}` });
    return null;
  }
  return ttl;
}

/** `zone_id`: Cloudflare zone ids are 32 hex digits; kept lower case. */
function zoneId(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  if (/^[0-9a-f]{32}$/i.test(s.trim())) return s.trim().toLowerCase();
  c.out.errors.push({
    key: c.key,
    message: `must be a Cloudflare zone id, 32 hexadecimal digits (the dashboard shows it as "Zone ID" on the zone's overview); got ${show(s)}`,
  });
  return null;
}

// ===========================================================================
// Cross-field rules
// ===========================================================================

/** A probe must end before the next round starts. */
function timeoutBelowInterval(timeout: Duration | undefined | null, c: FieldContext): Duration | undefined | null {
  if (!timeout) return timeout;
  const iv = c.value(interval);
  const intervalSeconds = iv === undefined ? DEFAULTS.intervalSeconds : iv?.seconds;
  const intervalMs = iv === undefined ? Math.round(DEFAULTS.intervalSeconds * 1000) : iv?.ms;
  if (intervalSeconds === undefined || intervalMs === undefined) return timeout;
  if (timeout.seconds >= intervalSeconds || timeout.ms >= intervalMs) {
    c.out.errors.push({
      key: c.key,
      message: `must be less than interval (${intervalSeconds} s) so a probe ends before the next round starts, got ${timeout.seconds}`,
    });
    return null;
  }
  return timeout;
}

/** The deprecated `ports = [...]` list: its first entry, unless `port` is set. */
function deprecatedPorts(value: unknown, c: FieldContext): number | null | undefined {
  if (c.value(port) !== undefined) {
    c.out.warnings.push({ key: c.key, message: `is deprecated and ignored because \`${port.key}\` is set; remove it` });
    return undefined;
  }
  if (!Array.isArray(value) || value.length === 0) {
    c.out.errors.push({ key: c.key, message: `(deprecated) must be a non-empty list of ports, got ${describe(value)}; use \`${port.key} = 80\` instead` });
    return null;
  }
  const first = intValue(c.out, value[0], `${c.key}[0]`, { min: 1, max: MAX_PORT });
  if (first === null) return null;
  const extra = value.length > 1 ? ` (entries after the first, ${show(value.slice(1))}, were never used)` : '';
  c.out.warnings.push({ key: c.key, message: `is deprecated: use \`${port.key} = ${first}\`${extra}` });
  return first;
}

/** Peers dial this agent at local_addr: with peers and no listen address there is no cluster. */
function localAddrWithPeers(addr: string | undefined | null, c: FieldContext): string | undefined | null {
  const list = c.value(peers);
  if (addr === undefined && list && list.length > 0) {
    c.out.errors.push({ key: c.key, message: `required when ${c.keyOf(peers)} is set (the address this agent listens on for its peers, host:port)` });
    return null;
  }
  return addr;
}

/** min_peers_agree cannot ask for more agreeing peers than are listed. */
function minPeersReachable(min: number | undefined | null, c: FieldContext): number | undefined | null {
  const list = c.value(peers);
  if (typeof min === 'number' && list !== null) {
    const n = (list ?? []).length;
    if (min > n) {
      c.out.errors.push({
        key: c.key,
        message: `${min} can never be reached: only ${n} peer${n === 1 ? ' is' : 's are'} listed in ${c.keyOf(peers)}`,
      });
    }
  }
  return min;
}

/** The gossip layer supports an open network (unsealed payloads): allowed, but never silently. */
function openNetworkWarning(keys: string[] | undefined | null, c: FieldContext): string[] | undefined | null {
  const list = c.value(peers);
  if (keys !== null && (keys ?? []).length === 0 && list !== null && (list ?? []).length > 0) {
    c.out.warnings.push({
      key: c.key,
      message: `is not set although ${c.keyOf(peers)} is: observations travel unsealed and unauthenticated, so anyone who can reach this agent can vote`,
    });
  }
  return keys;
}

/** Cloudflare ignores the TTL of proxied records. */
function ttlIgnoredWhenProxied(ttl: number | undefined | null, c: FieldContext): number | undefined | null {
  if (c.value(dnsProxied) === true && typeof ttl === 'number' && ttl !== 1) {
    c.out.warnings.push({ key: c.key, message: `is ignored by Cloudflare for proxied records (${dnsProxied.key} = true): they always use automatic TTL` });
  }
  return ttl;
}

/** A canary is an address this agent should always reach, so it cannot be one it manages. */
export function canariesNotManaged(config: Config): ConfigIssue | undefined {
  const managed = new Set(config.cloudflare.ipAddresses);
  for (const [i, ip] of config.canaries.entries()) {
    if (managed.has(ip)) {
      return {
        key: `${canaries.key}[${i}]`,
        message: `${ip} is also in Cloudflare.${ipAddresses.key}: a canary must be an address this agent should always reach, not a managed one`,
      };
    }
  }
  return undefined;
}

// ===========================================================================
// The fields, in the order they are read (and printed)
// ===========================================================================

const seconds1000 = (ms: unknown): number => (ms as number) / 1000;

// ---- top level: probing --------------------------------------------------
const failureThreshold = field({
  key: 'failure_threshold',
  table: '',
  read: integer({ min: 1 }),
  target: 'failureThreshold',
  default: DEFAULTS.failureThreshold,
});
const recoveryThreshold = field({
  key: 'recovery_threshold',
  table: '',
  read: integer({ min: 1 }),
  target: 'recoveryThreshold',
  toConfig: (v, c) => v ?? c.value(failureThreshold) ?? DEFAULTS.failureThreshold,
});
const interval = field({
  key: 'interval',
  table: '',
  read: duration({ greaterThan: 0 }),
  target: 'intervalMs',
  toConfig: (v) => v?.ms ?? Math.round(DEFAULTS.intervalSeconds * 1000),
  print: seconds1000,
});
const reconcileInterval = field({
  key: 'reconcile_interval',
  table: '',
  read: seconds({ atLeast: 1 }),
  target: 'reconcileIntervalMs',
  toConfig: (v) => Math.round((v ?? DEFAULTS.reconcileIntervalSeconds) * 1000),
  print: seconds1000,
});
const timeout = field({
  key: 'timeout',
  table: '',
  read: duration({ greaterThan: 0 }),
  check: timeoutBelowInterval,
  target: 'timeoutMs',
  // Default: min(1 s, interval / 2).
  toConfig: (v, c) => v?.ms ?? defaultTimeoutMs(c),
  print: seconds1000,
});
/** `suspect_after` must leave room before the timeout: a probe suspect only at its timeout is just a miss. */
function suspectBelowTimeout(v: Duration | undefined | null, c: FieldContext): Duration | undefined | null {
  if (!v) return v;
  const t = c.value(timeout);
  if (t === null) return v;
  const timeoutMs = t?.ms ?? defaultTimeoutMs(c);
  if (v.ms >= timeoutMs) {
    c.out.errors.push({
      key: c.key,
      message: `must be less than timeout (${timeoutMs / 1000} s): an IP is suspect while its reply is overdue but not yet a miss, got ${v.seconds}`,
    });
    return null;
  }
  return v;
}

/** `recheck_interval`: 0 (off), or a positive duration below interval. */
function recheckBelowInterval(v: number | undefined | null, c: FieldContext): number | undefined | null {
  if (v === undefined || v === null || v === 0) return v;
  const iv = c.value(interval);
  if (iv === null) return v;
  const intervalMs = iv?.ms ?? Math.round(DEFAULTS.intervalSeconds * 1000);
  const ms = Math.round(v * 1000);
  if (ms < 1) {
    c.out.errors.push({ key: c.key, message: `must be 0 (rechecks off) or at least 0.001 seconds (1 ms), got ${show(v)}` });
    return null;
  }
  if (ms >= intervalMs) {
    c.out.errors.push({ key: c.key, message: `must be less than interval (${intervalMs / 1000} s): rechecks come between rounds, got ${show(v)}` });
    return null;
  }
  return v;
}

function defaultTimeoutMs(c: FieldContext): number {
  return Math.round(Math.min(DEFAULTS.maxDefaultTimeoutSeconds, (c.value(interval)?.seconds ?? DEFAULTS.intervalSeconds) / 2) * 1000);
}

const suspectAfter = field({
  key: 'suspect_after',
  table: '',
  read: duration({ greaterThan: 0 }),
  check: suspectBelowTimeout,
  target: 'suspectAfterMs',
  // Default: min(0.1 s, timeout / 2).
  toConfig: (v, c) =>
    v?.ms ?? Math.max(1, Math.round(Math.min(DEFAULTS.maxDefaultSuspectAfterSeconds * 1000, (c.value(timeout)?.ms ?? defaultTimeoutMs(c)) / 2))),
  print: seconds1000,
});
const recheckInterval = field({
  key: 'recheck_interval',
  table: '',
  read: seconds({ atLeast: 0 }),
  check: recheckBelowInterval,
  target: 'recheckIntervalMs',
  // Default: min(0.2 s, interval / 4).
  toConfig: (v, c) =>
    v !== undefined
      ? Math.round(v * 1000)
      : Math.max(1, Math.round(Math.min(DEFAULTS.maxDefaultRecheckIntervalSeconds * 1000, (c.value(interval)?.ms ?? DEFAULTS.intervalSeconds * 1000) / 4))),
  print: seconds1000,
});
const maxRecheckRate = field({ key: 'max_recheck_rate', table: '', read: integer({ min: 1 }), target: 'maxRecheckRate', default: DEFAULTS.maxRecheckRate });
const probeType = field<ProbeType>({ key: 'type', table: '', read: oneOf<ProbeType>(['ip', 'tcp']), target: 'probeType', default: 'ip' });
const port: Field<number> = field({
  key: 'port',
  table: '',
  read: integer({ min: 1, max: MAX_PORT }),
  target: 'port',
  toConfig: (v, c) => v ?? c.value(ports) ?? DEFAULTS.port,
});
const ports: Field<number> = field({ key: 'ports', table: '', read: deprecatedPorts });
const slackAddr = field({
  key: 'slack_addr',
  table: '',
  read: string(true),
  secret: true,
  target: 'slackAddr',
  toConfig: (v) => (v === '' ? undefined : v),
});
const dnsProvider = field({ key: 'dns_provider', table: '', read: provider, target: 'dnsProvider', default: 'cloudflare' });

// ---- top level: operations -----------------------------------------------
const statusAddr = field({
  key: 'status_addr',
  table: '',
  read: statusAddress,
  target: 'statusAddr',
  toConfig: (v) => (v === '' ? undefined : (v ?? DEFAULTS.statusAddr)),
  print: (v) => v ?? '',
});
const webhooks = field({
  key: 'webhooks',
  table: '',
  read: webhookList,
  target: 'webhooks',
  default: [],
  // Webhook URLs often carry a token in their path: show only where they go.
  print: (v) => (v as string[]).map((u) => `${new URL(u).origin}/${MASK}`),
});
const canaries = field({ key: 'canaries', table: '', read: ipList, target: 'canaries', default: [] });
const freezeMinTargets = field({
  key: 'freeze_min_targets',
  table: '',
  read: integer({ min: 1 }),
  target: 'freezeMinTargets',
  default: DEFAULTS.freezeMinTargets,
});
const freezeShare = field({ key: 'freeze_share', table: '', read: share, target: 'freezeShare', default: DEFAULTS.freezeShare });

// ---- [Members] -----------------------------------------------------------
const peers = field({ key: 'peers', table: 'Members', read: peerList, target: 'members.peers', default: [] });
const localAddr = field({ key: 'local_addr', table: 'Members', read: listenAddress, check: localAddrWithPeers, target: 'members.localAddr' });
const membersPort = field({ key: 'members_port', table: 'Members', read: integer({ min: 1, max: MAX_PORT }), target: 'members.membersPort' });
const minPeersAgree = field({
  key: 'min_peers_agree',
  table: 'Members',
  read: integer({ min: 0 }),
  check: minPeersReachable,
  target: 'members.minPeersAgree',
  default: DEFAULTS.minPeersAgree,
});
const cryptoKey = field({
  key: 'crypto_key',
  table: 'Members',
  read: cryptoKeys,
  secret: true,
  check: openNetworkWarning,
  target: 'members.cryptoKeys',
  default: [],
});
const keyFile = field({
  key: 'key_file',
  table: 'Members',
  read: keyFilePath,
  target: 'members.keyFile',
  toConfig: (v, c) => v ?? resolve(dirname(c.file), DEFAULTS.keyFileName),
});

// ---- [Cloudflare] --------------------------------------------------------
const dnsProxied = field({ key: 'dns_proxied', table: 'Cloudflare', read: boolean, target: 'cloudflare.dnsProxied', default: false });
const dnsDomain: Field<string> = field({
  key: 'dns_domain',
  table: 'Cloudflare',
  read: zoneName,
  target: 'cloudflare.dnsDomain',
  required: 'is required (the Cloudflare zone, e.g. "example.com")',
});
const hostnames = field({
  key: 'hostnames',
  table: 'Cloudflare',
  read: hostnameList,
  target: 'cloudflare.hostnames',
  required: 'is required: the names whose records goavail manages, e.g. ["www"] or ["@"]',
});
const ipAddresses = field({
  key: 'ip_addresses',
  table: 'Cloudflare',
  read: managedIpList,
  target: 'cloudflare.ipAddresses',
  required: 'is required: the addresses to probe and publish',
});
const dnsTtl = field({
  key: 'dns_ttl',
  table: 'Cloudflare',
  read: recordTtl,
  check: ttlIgnoredWhenProxied,
  target: 'cloudflare.dnsTtl',
  default: DEFAULTS.dnsTtl,
});
const cloudflareZoneId = field({ key: 'zone_id', table: 'Cloudflare', read: zoneId, target: 'cloudflare.zoneId', omitUnset: true });

export interface TableSpec {
  readonly name: TableName | 'Route53';
  /** The keys of the table, in the order they are read and printed; none: free-form, kept as is. */
  readonly fields?: readonly Field<unknown>[];
  /** Why the table may not be absent, given the top-level values; undefined when it may. */
  required?(c: FieldContext): string | undefined;
}

/** The [Cloudflare] table is needed by the Cloudflare provider (the only one). */
function cloudflareForProvider(c: FieldContext): string | undefined {
  const p = c.value(dnsProvider);
  return p === undefined || p === 'cloudflare' ? `the [Cloudflare] table is required when ${dnsProvider.key} is "cloudflare"` : undefined;
}

/** Every table, in the order it is read; '' (top level) first. */
export const TABLES: readonly TableSpec[] = [
  {
    name: '',
    fields: [
      failureThreshold,
      recoveryThreshold,
      interval,
      reconcileInterval,
      timeout,
      suspectAfter,
      recheckInterval,
      maxRecheckRate,
      probeType,
      port,
      ports,
      slackAddr,
      dnsProvider,
      statusAddr,
      webhooks,
      canaries,
      freezeMinTargets,
      freezeShare,
    ],
  },
  { name: 'Members', fields: [peers, localAddr, membersPort, minPeersAgree, cryptoKey, keyFile] },
  // Accepted for compatibility with the original and kept; no provider uses it yet.
  { name: 'Route53' },
  { name: 'Cloudflare', fields: [dnsProxied, dnsDomain, hostnames, ipAddresses, dnsTtl, cloudflareZoneId], required: cloudflareForProvider },
];

/** The keys a checked table understands (for the top level: its keys and the table names). */
export function knownKeys(table: TableName): string[] {
  const spec = TABLES.find((t) => t.name === table);
  const keys = (spec?.fields ?? []).map((f) => f.key);
  return table === '' ? [...keys, ...TABLES.filter((t) => t.name !== '').map((t) => t.name)] : keys;
}
