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
import { formatStatusRange, MAX_BODY_BYTES, parseStatusRange, type StatusRange } from '../probe/http-check.js';
import {
  atText,
  DEFAULTS,
  managedRecords,
  type CloudflareConfig,
  type Config,
  type ConfigIssue,
  type DnsProviderName,
  type HttpConfig,
  type MaintenanceWindow,
  type MembersConfig,
  type ProbeType,
  type Route53Config,
  type Weekday,
} from './schema.js';
import { describe, isTable, join, kindOf, quoteList, show } from './text.js';

/** The tables whose keys are checked ('' is the top level). */
export type TableName = '' | 'Members' | 'Cloudflare' | 'Route53' | 'HTTP' | 'maintenance';

/** A `Config` field, dotted for the nested tables. */
export type Target =
  | Exclude<keyof Config, 'file' | 'members' | 'cloudflare' | 'route53' | 'aws' | 'http' | 'maintenance'>
  | `members.${keyof MembersConfig}`
  | `cloudflare.${keyof CloudflareConfig}`
  | `aws.${keyof Route53Config}`
  | `http.${keyof HttpConfig}`;

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
  /** A `Config` field that says whether the key was given at all. */
  readonly givenTarget?: Target;
  /** Leave the `Config` field out (rather than undefined) when there is no value. */
  readonly omitUnset?: boolean;
  /** How the `Config` value is printed (default: as is; secrets masked). */
  print?(value: unknown): unknown;
}

/** Identity for type inference: `field({...})` checks `read`, `check` and `toConfig` against one T. */
function field<T>(f: Field<T>): Field<T> {
  return f;
}

const MAX_PORT = 65535;
const MIN_KEY_LENGTH = 16;
const SUPPORTED_PROVIDERS = ['cloudflare', 'route53'] as const;
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

function provider(value: unknown, c: FieldContext): DnsProviderName | null {
  if (typeof value !== 'string') {
    c.out.errors.push({ key: c.key, message: `must be a string, one of ${quoteList(SUPPORTED_PROVIDERS)}; got ${describe(value)}` });
    return null;
  }
  if ((SUPPORTED_PROVIDERS as readonly string[]).includes(value)) return value as DnsProviderName;
  const near = SUPPORTED_PROVIDERS.find((p) => p === value.toLowerCase().replace(/[-_ ]/g, ''));
  const hint = near === undefined ? '' : `; did you mean ${show(near)}? (provider names are lower case)`;
  c.out.errors.push({ key: c.key, message: `unsupported DNS provider ${show(value)}; supported: ${quoteList(SUPPORTED_PROVIDERS)}${hint}` });
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

/** One http(s) URL; `secret`: the path and query may carry a credential, so a bad value is never echoed. */
function httpUrl(secret: boolean): (value: unknown, c: FieldContext) => string | null {
  return (value, c) => {
    const s = string(secret)(value, c);
    if (s === null) return null;
    let url: URL | undefined;
    try {
      url = new URL(s.trim());
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      const got = url ? `a ${url.protocol} URL` : secret ? 'an invalid URL' : show(s);
      c.out.errors.push({ key: c.key, message: `must be an http:// or https:// URL, got ${got}` });
      return null;
    }
    return s.trim();
  };
}

/** A secret token: non-empty, no whitespace inside (a pasted line break is a mistake); never echoed. */
function token(value: unknown, c: FieldContext): string | null {
  const s = string(true)(value, c);
  if (s === null) return null;
  const t = s.trim();
  if (t === '' || /\s/.test(t)) {
    c.out.errors.push({
      key: c.key,
      message: t === '' ? 'must not be empty (leave the key out to turn this channel off)' : 'must not contain spaces or line breaks',
    });
    return null;
  }
  return t;
}

/** `telegram_chat_id`: a chat id (digits, maybe negative) or a public channel's `@name`. */
function telegramChat(value: unknown, c: FieldContext): string | null {
  const s = typeof value === 'number' && Number.isInteger(value) ? String(value) : string()(value, c);
  if (s === null) return null;
  if (/^-?\d{1,20}$/.test(s.trim()) || /^@[A-Za-z][A-Za-z0-9_]{3,31}$/.test(s.trim())) return s.trim();
  c.out.errors.push({ key: c.key, message: `must be a chat id (digits, negative for groups) or a channel's @username, got ${show(s)}` });
  return null;
}

/** The URL without its path: where a secret-bearing URL points, for printing. */
const originOnly = (v: unknown): unknown => (typeof v === 'string' ? `${new URL(v).origin}/${MASK}` : v);

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

/** `audit_file`: a path like `key_file`'s, or "" for none. */
function auditFilePath(value: unknown, c: FieldContext): string | null | undefined {
  const s = string()(value, c);
  if (s === null) return null;
  if (s.trim() === '') return undefined;
  return keyFilePath(s, c);
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

/** How `uniqueStrings` reads one list: its messages and the parse of one entry. */
interface UniqueListRules {
  /** "must be a list of …". */
  readonly list: string;
  /** The message for an empty list. */
  readonly empty: string;
  /** "must be a string …" for an entry of another type. */
  readonly item: string;
  /** One entry: its canonical form, `undefined` to skip it, or an error message. */
  readonly parse: (entry: string) => { readonly value: string | undefined } | { readonly error: string };
  /** The message for an entry whose canonical form came before, at `prev`. */
  readonly duplicate: (entry: string, value: string, prev: number) => string;
}

/** A non-empty list of strings, each parsed, none twice (by canonical form): errors name the entry's index. */
function uniqueStrings(value: unknown, c: FieldContext, rules: UniqueListRules): string[] | null {
  if (!Array.isArray(value)) {
    c.out.errors.push({ key: c.key, message: `must be a list of ${rules.list}, got ${describe(value)}` });
    return null;
  }
  if (value.length === 0) {
    c.out.errors.push({ key: c.key, message: rules.empty });
    return null;
  }
  let ok = true;
  const out: string[] = [];
  const seen = new Map<string, number>();
  for (const [i, entry] of value.entries()) {
    const ik = `${c.key}[${i}]`;
    const r = typeof entry === 'string' ? rules.parse(entry) : { error: `${rules.item}, got ${describe(entry)}` };
    if ('error' in r) {
      c.out.errors.push({ key: ik, message: r.error });
      ok = false;
      continue;
    }
    if (r.value === undefined) continue;
    const prev = seen.get(r.value);
    if (prev !== undefined) {
      c.out.errors.push({ key: ik, message: rules.duplicate(entry as string, r.value, prev) });
      ok = false;
      continue;
    }
    seen.set(r.value, i);
    out.push(r.value);
  }
  return ok ? out : null;
}

/** `hostnames` of a provider table, resolved against that table's zone field. */
function hostnameListIn(zone: () => Field<string>): (value: unknown, c: FieldContext) => string[] | null {
  return (value, c) => hostnameList(value, c, c.value(zone()) ?? null, zone().key);
}

/** `hostnames`: fully qualified, within the zone, no duplicates. */
function hostnameList(value: unknown, c: FieldContext, domain: string | null, domainKey: string): string[] | null {
  const fqdns = uniqueStrings(value, c, {
    list: 'names',
    empty: 'must not be empty: list at least one name (use "@" for the zone apex)',
    item: 'must be a string',
    parse: (h) => {
      const r = resolveHostname(h, domain, domainKey);
      // an fqdn of undefined: dns_domain is invalid, the syntax was checked, nothing more to do
      return typeof r === 'object' ? { value: r.fqdn } : { error: `${r}; got ${show(h)}` };
    },
    duplicate: (h, fqdn, prev) => `duplicate: ${show(h)} is ${fqdn}, already listed as hostnames[${prev}]`,
  });
  return domain !== null ? fqdns : null;
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
function resolveHostname(entry: string, domain: string | null, domainKey: string): { fqdn: string | undefined } | string {
  if (entry === '@') return { fqdn: domain ?? undefined };
  const lower = entry.toLowerCase();
  if (lower.endsWith('.')) {
    const name = lower.slice(0, -1);
    const reason = checkDnsName(name);
    if (reason) return `is not a valid DNS name: ${reason}`;
    if (domain === null) return { fqdn: undefined };
    if (name !== domain && !name.endsWith(`.${domain}`)) {
      return `the fully qualified name is outside ${domainKey} "${domain}" (it would belong to another zone)`;
    }
    return { fqdn: name };
  }
  const reason = checkDnsName(lower);
  if (reason) return `is not a valid DNS name: ${reason}`;
  if (domain === null) return { fqdn: undefined };
  if (lower === domain || lower.endsWith(`.${domain}`)) return { fqdn: lower };
  const fqdn = `${lower}.${domain}`;
  if (fqdn.length > 253) return `is too long: ${fqdn.length} characters once ${domainKey} is appended (at most 253)`;
  return { fqdn };
}

/** `ip_addresses`: at least one, normalised, no duplicates. */
function managedIpList(value: unknown, c: FieldContext): string[] | null {
  return uniqueStrings(value, c, {
    list: 'IP addresses',
    empty: 'must not be empty: list at least one IP address',
    item: 'must be a string holding an IPv4 or IPv6 address',
    parse: (v) => {
      const ip = parseTargetIp(v);
      return typeof ip === 'object' ? { value: ip.ip } : { error: `${ip}, got ${show(v)}` };
    },
    duplicate: (v, ip, prev) => `duplicate: ${show(v)} is the same address as ip_addresses[${prev}] (${ip})`,
  });
}

/** `standby_ips`: may be empty (no standby), normalised, no duplicates. */
function standbyIpList(value: unknown, c: FieldContext): string[] | null {
  if (Array.isArray(value) && value.length === 0) return [];
  return uniqueStrings(value, c, {
    list: 'IP addresses',
    empty: '',
    item: 'must be a string holding an IPv4 or IPv6 address',
    parse: (v) => {
      const ip = parseTargetIp(v);
      return typeof ip === 'object' ? { value: ip.ip } : { error: `${ip}, got ${show(v)}` };
    },
    duplicate: (v, ip, prev) => `duplicate: ${show(v)} is the same address as ${c.key}[${prev}] (${ip})`,
  });
}

/** An IP is a primary or a standby, never both: which rule would apply to its record? */
function standbyNotPrimary(primaries: () => Field<string[]>): (v: string[] | undefined | null, c: FieldContext) => string[] | undefined | null {
  return (standby, c) => {
    const primary = c.value(primaries());
    if (!standby || !primary) return standby;
    let ok = true;
    for (const [i, ip] of standby.entries()) {
      const at = primary.indexOf(ip);
      if (at < 0) continue;
      c.out.errors.push({
        key: `${c.key}[${i}]`,
        message: `${ip} is also ${c.keyOf(primaries())}[${at}]: an IP is either a primary or a standby, not both`,
      });
      ok = false;
    }
    return ok ? standby : null;
  };
}

/** `min_active` counts primaries: more than there are would keep the standbys in for good. */
function minActiveReachable(primaries: () => Field<string[]>): (v: number | undefined | null, c: FieldContext) => number | undefined | null {
  return (n, c) => {
    const primary = c.value(primaries());
    if (typeof n !== 'number' || !primary || n <= primary.length) return n;
    c.out.errors.push({
      key: c.key,
      message: `must be at most the number of ${c.keyOf(primaries())} (${primary.length}), got ${n}: the standbys would never leave`,
    });
    return null;
  };
}

/** `min_active` and `failback_delay` only steer standbys: set without `standby_ips` they do nothing. */
function onlyWithStandby<T>(standby: () => Field<string[]>): (v: T | undefined | null, c: FieldContext) => T | undefined | null {
  return (v, c) => {
    const s = c.value(standby());
    if (v !== undefined && v !== null && (s === undefined || (s !== null && s.length === 0))) {
      c.out.warnings.push({ key: c.key, message: `has no effect without ${c.keyOf(standby())}` });
    }
    return v;
  };
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
// Readers: the [HTTP] table
// ===========================================================================

/** `path`: absolute, printable ASCII without spaces (what an HTTP request line can carry). */
function httpPath(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  if (!/^\/[\x21-\x7e]*$/.test(s)) {
    c.out.errors.push({ key: c.key, message: `must start with "/" and hold no spaces or control characters (percent-encode them), got ${show(s)}` });
    return null;
  }
  return s;
}

/** `host`: a DNS name (the Host header and the SNI name), lower case, no trailing dot. */
function httpHost(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  const name = s.toLowerCase().replace(/\.$/, '');
  const reason = checkDnsName(name);
  if (reason) {
    c.out.errors.push({ key: c.key, message: `must be a DNS name (the Host header and the TLS SNI name): ${reason}; got ${show(s)}` });
    return null;
  }
  return name;
}

/** `expect_status = ["200", "2xx", "200-299"]`: a non-empty list; integers are accepted as codes. */
function statusList(value: unknown, c: FieldContext): StatusRange[] | null {
  if (!Array.isArray(value) || value.length === 0) {
    c.out.errors.push({ key: c.key, message: `must be a non-empty list of status codes or ranges, e.g. ["200", "2xx", "200-299"]; got ${describe(value)}` });
    return null;
  }
  let ok = true;
  const ranges: StatusRange[] = [];
  for (const [i, v] of value.entries()) {
    const ik = `${c.key}[${i}]`;
    const text = typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'bigint' ? String(v) : undefined;
    const r = text === undefined ? `must be a string such as "200", "2xx" or "200-299"` : parseStatusRange(text);
    if (typeof r === 'string') {
      c.out.errors.push({ key: ik, message: `${r}, got ${describe(v)}` });
      ok = false;
      continue;
    }
    ranges.push(r);
  }
  return ok ? ranges : null;
}

/** `expect_body`: non-empty, and short enough to fit in what a probe reads. */
function expectBody(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  if (s === '') {
    c.out.errors.push({ key: c.key, message: 'must not be empty (leave it out to accept any body)' });
    return null;
  }
  const bytes = Buffer.byteLength(s, 'utf8');
  if (bytes > MAX_BODY_BYTES) {
    c.out.errors.push({ key: c.key, message: `is ${bytes} bytes: it can never match, a probe reads at most the first ${MAX_BODY_BYTES} bytes of the body` });
    return null;
  }
  return s;
}

/** Header names a probe sets itself, or that would change how the answer is framed. */
const RESERVED_HEADERS: Readonly<Record<string, string>> = {
  host: 'set `host` in [HTTP] instead (it is also the TLS SNI name)',
  connection: 'every probe uses a fresh connection and closes it',
  'content-length': 'a probe sends no body',
  'transfer-encoding': 'a probe sends no body',
};

/** `headers = { "User-Agent" = "…", Authorization = "…" }`: names are tokens, values are secrets (never echoed). */
function headerTable(value: unknown, c: FieldContext): Record<string, string> | null {
  if (!isTable(value)) {
    c.out.errors.push({ key: c.key, message: `must be a table of header names to values, e.g. { "User-Agent" = "goavail" }; got ${kindOf(value)}` });
    return null;
  }
  let ok = true;
  const headers: Record<string, string> = {};
  const seen = new Set<string>();
  for (const name of Object.keys(value)) {
    const hk = join(c.key, name);
    const v = value[name];
    if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name)) {
      c.out.errors.push({ key: hk, message: "is not a valid header name (letters, digits and !#$%&'*+-.^_`|~ only)" });
      ok = false;
      continue;
    }
    const reserved = RESERVED_HEADERS[name.toLowerCase()];
    if (reserved !== undefined) {
      c.out.errors.push({ key: hk, message: `cannot be set here: ${reserved}` });
      ok = false;
      continue;
    }
    if (seen.has(name.toLowerCase())) {
      c.out.errors.push({ key: hk, message: 'is listed twice (header names are case-insensitive)' });
      ok = false;
      continue;
    }
    seen.add(name.toLowerCase());
    if (typeof v !== 'string') {
      c.out.errors.push({ key: hk, message: `must be a string, got ${kindOf(v)}` });
      ok = false;
      continue;
    }
    if (/[^\t\x20-\x7e\x80-\xff]/.test(v)) {
      c.out.errors.push({ key: hk, message: 'must not hold line breaks or other control characters' });
      ok = false;
      continue;
    }
    Object.defineProperty(headers, name, { value: v, enumerable: true, writable: true, configurable: true });
  }
  return ok ? headers : null;
}

/** `ca_file`: a path, relative to the config file's directory (loadConfig reads it). */
function caFilePath(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  if (s.trim() === '') {
    c.out.errors.push({ key: c.key, message: `must be the path of a PEM file of CA certificates, got ${show(s)}` });
    return null;
  }
  return isAbsolute(s) ? resolve(s) : resolve(dirname(c.file), s);
}

// ===========================================================================
// Readers: [[maintenance]] windows
// ===========================================================================

const WEEKDAYS: readonly Weekday[] = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DAY_SECONDS = 24 * 3600;

/** `maintenance[i].ips`: a non-empty list of the chosen provider's managed IPs, normalised, none twice. */
function maintenanceIps(value: unknown, c: FieldContext): string[] | null {
  const route53 = chosenProvider(c) === 'route53';
  const managed = route53 ? c.value(awsIpAddresses) : c.value(ipAddresses);
  const managedKey = c.keyOf(route53 ? awsIpAddresses : ipAddresses);
  return uniqueStrings(value, c, {
    list: 'managed IP addresses',
    empty: 'must not be empty: list the addresses this window drains',
    item: 'must be a string holding an IPv4 or IPv6 address',
    parse: (v) => {
      const ip = parseTargetIp(v);
      if (typeof ip !== 'object') return { error: `${ip}, got ${show(v)}` };
      // managed null or undefined: ip_addresses is wrong or missing, and said so already
      if (managed && !managed.includes(ip.ip)) return { error: `${ip.ip} is not one of the managed ip_addresses (${managedKey}): only those can be drained` };
      return { value: ip.ip };
    },
    duplicate: (v, ip, prev) => `duplicate: ${show(v)} is the same address as ips[${prev}] (${ip})`,
  });
}

/** An RFC 3339 date-time with seconds optional (as TOML allows) and an offset or Z. */
const OFFSET_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$/;
const LOCAL_DATE_TIME = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?$/;
const START_EXAMPLE = 'e.g. 2026-12-05T02:00:00+01:00 or 2026-12-05T01:00:00Z';

/**
 * `start`: a TOML offset date-time (`start = 2026-12-05T02:00:00+01:00`) or
 * the same as a string. A local date-time has no offset, so each agent would
 * read it in its own time zone: refused.
 */
function startInstant(value: unknown, c: FieldContext): number | null {
  if (value instanceof Date) {
    const d = value as Date & { isLocal?: () => boolean; isDateTime?: () => boolean };
    if (d.isDateTime?.() === false || d.isLocal?.() === true || Number.isNaN(d.getTime())) {
      const what = d.isDateTime?.() === false ? 'a date or a time alone' : 'a local date-time without an offset';
      c.out.errors.push({
        key: c.key,
        message: `is ${what}: write the full date-time with Z or an offset (${START_EXAMPLE}), so every agent reads the same instant`,
      });
      return null;
    }
    return d.getTime();
  }
  if (typeof value !== 'string') {
    c.out.errors.push({ key: c.key, message: `must be an RFC 3339 date-time with an offset or Z (${START_EXAMPLE}), got ${describe(value)}` });
    return null;
  }
  const m = OFFSET_DATE_TIME.exec(value.trim());
  if (!m) {
    const local = LOCAL_DATE_TIME.test(value.trim());
    c.out.errors.push({
      key: c.key,
      message: local
        ? `has no offset: add Z or an offset (${START_EXAMPLE}), so every agent reads the same instant; got ${show(value)}`
        : `must be an RFC 3339 date-time with an offset or Z (${START_EXAMPLE}), got ${show(value)}`,
    });
    return null;
  }
  const [, y, mo, d, h, mi, sec] = m.map((p) => (p === undefined ? 0 : Number(p))) as number[];
  const fields = Date.UTC(y!, mo! - 1, d!, h!, mi!, sec!);
  const back = new Date(fields);
  const real =
    back.getUTCFullYear() === y && back.getUTCMonth() === mo! - 1 && back.getUTCDate() === d && back.getUTCHours() === h && back.getUTCMinutes() === mi;
  const t = Date.parse(value.trim().replace(' ', 'T'));
  if (!real || sec! > 59 || Number.isNaN(t)) {
    c.out.errors.push({ key: c.key, message: `is not a real date and time, got ${show(value)}` });
    return null;
  }
  return t;
}

const DURATION_TEXT = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/** `duration`: seconds (a number, like every other duration key) or text such as "90m", "2h", "1h30m", "1d". */
function windowDuration(value: unknown, c: FieldContext): number | null {
  const want = 'a number of seconds greater than 0, or a text such as "90m", "2h" or "1h30m"';
  let secondsValue: number | undefined;
  if (typeof value === 'number' && Number.isFinite(value)) secondsValue = value;
  else if (typeof value === 'bigint') secondsValue = Number(value);
  else if (typeof value === 'string') {
    const m = DURATION_TEXT.exec(value.trim());
    if (m && value.trim() !== '') {
      const [, d, h, mi, sec] = m.map((p) => Number(p ?? 0)) as number[];
      secondsValue = d! * DAY_SECONDS + h! * 3600 + mi! * 60 + sec!;
    } else {
      c.out.errors.push({ key: c.key, message: `must be ${want} (units d, h, m, s, largest first), got ${show(value)}` });
      return null;
    }
  } else {
    c.out.errors.push({ key: c.key, message: `must be ${want}, got ${describe(value)}` });
    return null;
  }
  if (!(secondsValue > 0)) {
    c.out.errors.push({ key: c.key, message: `must be ${want}, got ${show(value)}` });
    return null;
  }
  return Math.round(secondsValue * 1000);
}

/** `reason`: free text for the drain list and logs; at most 200 characters, one line. */
function windowReason(value: unknown, c: FieldContext): string | null | undefined {
  const s = string()(value, c);
  if (s === null) return null;
  const max = DEFAULTS.maxMaintenanceReasonChars;
  if ([...s].length > max) {
    c.out.errors.push({ key: c.key, message: `must be at most ${max} characters, got ${[...s].length}` });
    return null;
  }
  // eslint-disable-next-line no-control-regex -- matching control characters is the point: a reason is one line in logs and lists
  if (/[\u0000-\u001f\u007f]/.test(s)) {
    c.out.errors.push({ key: c.key, message: 'must be one line, without control characters' });
    return null;
  }
  return s.trim() === '' ? undefined : s.trim();
}

/** `weekdays = ["sat", "sun"]`: mon..sun, lower case, none twice; kept in week order. */
function weekdayList(value: unknown, c: FieldContext): Weekday[] | null {
  const days = uniqueStrings(value, c, {
    list: `days (${quoteList(WEEKDAYS, 'or')})`,
    empty: 'must not be empty: list the days the window opens on, e.g. ["sat"]',
    item: `must be one of ${quoteList(WEEKDAYS, 'or')}`,
    parse: (v) => {
      if ((WEEKDAYS as readonly string[]).includes(v)) return { value: v };
      const lower = v.trim().toLowerCase().slice(0, 3);
      const hint = (WEEKDAYS as readonly string[]).includes(lower) ? `; did you mean "${lower}"? (three letters, lower case)` : '';
      return { error: `must be one of ${quoteList(WEEKDAYS, 'or')}, got ${show(v)}${hint}` };
    },
    duplicate: (v, _day, prev) => `duplicate: ${show(v)} is already listed as weekdays[${prev}]`,
  });
  return days === null ? null : WEEKDAYS.filter((d) => days.includes(d));
}

/** `at = "02:00"`: 24-hour local time, HH:MM. */
function timeOfDay(value: unknown, c: FieldContext): number | null {
  const s = string()(value, c);
  if (s === null) return null;
  const m = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(s.trim());
  if (!m) {
    c.out.errors.push({ key: c.key, message: `must be a 24-hour local time "HH:MM", e.g. "02:00" or "23:30"; got ${show(s)}` });
    return null;
  }
  return Number(m[1]) * 60 + Number(m[2]);
}

/** `timezone`: an IANA name this Node knows ("Europe/Berlin", "America/New_York", "UTC"). */
function timeZoneName(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: s.trim() });
    if (s.trim() !== '') return s.trim();
  } catch {
    // refused below
  }
  c.out.errors.push({ key: c.key, message: `must be an IANA time zone name such as "Europe/Berlin", "America/New_York" or "UTC"; got ${show(s)}` });
  return null;
}

/**
 * The rules between a window's keys, run after its last key: what a one-off
 * and a weekly window need, how long a weekly one may last, and that it
 * closes at all.
 */
function windowRules(tz: string | undefined | null, c: FieldContext): string | undefined | null {
  const days = c.value(maintenanceWeekdays);
  const at = c.value(maintenanceAt);
  const start = c.value(maintenanceStart);
  const ms = c.value(maintenanceDuration);
  const prefix = c.key.slice(0, c.key.length - maintenanceTimezone.key.length);
  const fail = (key: string, message: string): null => {
    c.out.errors.push({ key: `${prefix}${key}`, message });
    return null;
  };
  if ((days === undefined) !== (at === undefined)) {
    return days === undefined
      ? fail(maintenanceWeekdays.key, `is required with ${maintenanceAt.key}: a weekly window needs the days and the local time it opens at`)
      : fail(maintenanceAt.key, `is required with ${maintenanceWeekdays.key}: a weekly window needs the days and the local time it opens at, e.g. "02:00"`);
  }
  if (days === undefined) {
    if (tz !== undefined && tz !== null)
      return fail(
        maintenanceTimezone.key,
        `only applies to a weekly window (with ${maintenanceWeekdays.key} and ${maintenanceAt.key}): a one-off start carries its own offset`,
      );
    if (start === undefined)
      return fail(
        maintenanceStart.key,
        `is required: when the window opens (${START_EXAMPLE}), or ${maintenanceWeekdays.key} and ${maintenanceAt.key} for a weekly window`,
      );
    return tz;
  }
  if (days === null || at === null || typeof ms !== 'number') return tz;
  const maxMs = DEFAULTS.maxWeeklyMaintenanceSeconds * 1000;
  if (ms > maxMs) return fail(maintenanceDuration.key, `must be at most 7 days (604800 s) for a weekly window, got ${ms / 1000} s`);
  // Never closes: every opening lasts until the next one (nominal days; a DST hour aside).
  const idx = days.map((d) => WEEKDAYS.indexOf(d));
  const gaps = idx.map((d, i) => ((idx[(i + 1) % idx.length]! - d + 6) % 7) + 1);
  const longest = Math.max(...gaps) * DAY_SECONDS * 1000;
  if (ms >= longest) {
    return fail(
      maintenanceDuration.key,
      `makes the window never close: each opening would last until the next one (the longest gap between the listed days is ${longest / 3600_000} h); for a longer stretch use a one-off window (start and duration)`,
    );
  }
  return tz;
}

/** The `Config` value of one `[[maintenance]]` table (its keys read and valid). */
function maintenanceWindow(c: FieldContext): MaintenanceWindow {
  const days = c.value(maintenanceWeekdays) ?? undefined;
  const at = c.value(maintenanceAt) ?? undefined;
  return {
    ips: c.value(maintenanceIpsField) ?? [],
    start: c.value(maintenanceStart) ?? undefined,
    durationMs: c.value(maintenanceDuration) ?? 0,
    reason: c.value(maintenanceReason) ?? undefined,
    weekly:
      days !== undefined && at !== undefined
        ? { weekdays: days, atMinutes: at, timezone: c.value(maintenanceTimezone) ?? DEFAULTS.maintenanceTimezone }
        : undefined,
  };
}

/** A window in the file's key names, for check-config: start as ISO (UTC), duration in seconds as the other durations. */
function printWindow(w: MaintenanceWindow): Record<string, unknown> {
  const out: Record<string, unknown> = { ips: [...w.ips] };
  if (w.start !== undefined) out.start = new Date(w.start).toISOString();
  out.duration = w.durationMs / 1000;
  if (w.reason !== undefined) out.reason = w.reason;
  if (w.weekly) {
    out.weekdays = [...w.weekly.weekdays];
    out.at = atText(w.weekly.atMinutes);
    out.timezone = w.weekly.timezone;
  }
  return out;
}

// ===========================================================================
// Cross-field rules
// ===========================================================================

/** A probe must end before the next round starts. */
/**
 * `aws_zoneid`: a Route 53 hosted zone id (upper-case letters and digits, as
 * the console shows it, e.g. "Z1D633PJN98FT9"), with or without the
 * "/hostedzone/" prefix the API puts in front; kept without it.
 */
function route53ZoneId(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  const id = s.trim().replace(/^\/?hostedzone\//, '');
  if (/^[A-Z0-9]{1,32}$/.test(id)) return id;
  c.out.errors.push({
    key: c.key,
    message: `must be a Route 53 hosted zone id, upper-case letters and digits (e.g. "Z1D633PJN98FT9", optionally with the "/hostedzone/" prefix); got ${show(s)}`,
  });
  return null;
}

/** `aws_region`: the SDK's region (Route 53 is global; the region only picks the signing endpoint). */
function awsRegion(value: unknown, c: FieldContext): string | null {
  const s = string()(value, c);
  if (s === null) return null;
  if (/^[a-z]{2}(-[a-z]+)+-\d+$/.test(s.trim())) return s.trim();
  c.out.errors.push({ key: c.key, message: `must be an AWS region name such as "us-east-1"; got ${show(s)}` });
  return null;
}

/** Route 53 TTLs: 0 to 2147483647 seconds; goavail refuses 0 (resolvers would ask on every query) and keeps the Cloudflare upper bound. */
function route53Ttl(value: unknown, c: FieldContext): number | null {
  return integer({ min: 1, max: 86400 })(value, c);
}

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

const HTTP_TYPES: readonly ProbeType[] = ['http', 'https'];

/** The probe type in force (the `-t` override included); undefined when `type` itself was invalid. */
function typeInForce(c: FieldContext): ProbeType | undefined {
  const t = c.value(probeType);
  return t === null ? undefined : (t ?? 'ip');
}

/** An [HTTP] key set with `type = "ip"` or `"tcp"` is a mistake, not a no-op: the operator thinks HTTP is checked. */
function onlyForHttp<T>(v: T | undefined | null, c: FieldContext): T | undefined | null {
  const t = typeInForce(c);
  if (v === undefined || v === null || t === undefined || HTTP_TYPES.includes(t)) return v;
  c.out.errors.push({
    key: c.key,
    message: `only applies to type = "http" or "https" (type is "${t}"): set ${c.keyOf(probeType)} = "http" or "https", or remove the [HTTP] table`,
  });
  return null;
}

/** The TLS keys mean nothing for plain http: a warning, since the file may switch type with `-t`. */
function onlyForHttps<T>(v: T | undefined | null, c: FieldContext): T | undefined | null {
  const checked = onlyForHttp(v, c);
  if (checked !== undefined && checked !== null && typeInForce(c) === 'http') {
    c.out.warnings.push({ key: c.key, message: 'only applies to type = "https"; ignored for "http"' });
  }
  return checked;
}

/** A canary is an address this agent should always reach, so it cannot be one it manages. */
export function canariesNotManaged(config: Config): ConfigIssue | undefined {
  const m = managedRecords(config);
  const managed = new Set(m.ipAddresses);
  const standby = new Set(m.standby.standbyIps);
  const table = config.dnsProvider === 'route53' ? 'Route53' : 'Cloudflare';
  for (const [i, ip] of config.canaries.entries()) {
    if (managed.has(ip)) {
      return {
        key: `${canaries.key}[${i}]`,
        message: `${ip} is also in ${table}.${standby.has(ip) ? standbyIps.key : ipAddresses.key}: a canary must be an address this agent should always reach, not a managed one`,
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
const probeType = field<ProbeType>({ key: 'type', table: '', read: oneOf<ProbeType>(['ip', 'tcp', 'http', 'https']), target: 'probeType', default: 'ip' });
const port: Field<number> = field({
  key: 'port',
  table: '',
  read: integer({ min: 1, max: MAX_PORT }),
  target: 'port',
  // https defaults to 443; everything else to 80, as before.
  toConfig: (v, c) => v ?? c.value(ports) ?? (c.value(probeType) === 'https' ? DEFAULTS.httpsPort : DEFAULTS.port),
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
  givenTarget: 'statusAddrExplicit',
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
// ---- top level: alert channels -------------------------------------------
const pagerdutyRoutingKey = field({ key: 'pagerduty_routing_key', table: '', read: token, secret: true, target: 'pagerdutyRoutingKey' });
const pagerdutyUrl = field({ key: 'pagerduty_url', table: '', read: httpUrl(false), target: 'pagerdutyUrl', default: DEFAULTS.pagerdutyUrl });
const opsgenieApiKey = field({ key: 'opsgenie_api_key', table: '', read: token, secret: true, target: 'opsgenieApiKey' });
const opsgenieUrl = field({ key: 'opsgenie_url', table: '', read: httpUrl(false), target: 'opsgenieUrl', default: DEFAULTS.opsgenieUrl });
// Teams and Discord webhook URLs carry their credential in the path.
const teamsWebhook = field({ key: 'teams_webhook', table: '', read: httpUrl(true), target: 'teamsWebhook', print: originOnly });
const discordWebhook = field({ key: 'discord_webhook', table: '', read: httpUrl(true), target: 'discordWebhook', print: originOnly });
const telegramBotToken = field({ key: 'telegram_bot_token', table: '', read: token, secret: true, target: 'telegramBotToken' });
const telegramChatId = field({
  key: 'telegram_chat_id',
  table: '',
  read: telegramChat,
  target: 'telegramChatId',
  check: (v, c) => {
    const botToken = c.value(telegramBotToken);
    if ((v === undefined) !== (botToken === undefined) && v !== null && botToken !== null) {
      const missing = v === undefined ? c.key : c.keyOf(telegramBotToken);
      c.out.errors.push({
        key: missing,
        message: `is required with ${v === undefined ? c.keyOf(telegramBotToken) : c.key}: Telegram needs the bot token and the chat id`,
      });
      return null;
    }
    return v;
  },
});
const telegramApiUrl = field({ key: 'telegram_api_url', table: '', read: httpUrl(false), target: 'telegramApiUrl', default: DEFAULTS.telegramApiUrl });

const auditFile = field({ key: 'audit_file', table: '', read: auditFilePath, target: 'auditFile' });
/**
 * `control_token_file`: the bearer token of the control endpoint (POST /drain…), created by the agent on first
 * start; default beside the key file (which defaults to beside the config file).
 */
const controlTokenFile = field({
  key: 'control_token_file',
  table: '',
  read: keyFilePath,
  target: 'controlTokenFile',
  toConfig: (v, c) => v ?? resolve(dirname(c.value(keyFile) ?? resolve(dirname(c.file), DEFAULTS.keyFileName)), DEFAULTS.controlTokenFileName),
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
  read: hostnameListIn(() => dnsDomain),
  target: 'cloudflare.hostnames',
  required: 'is required: the names whose records goavail manages, e.g. ["www"] or ["@"]',
});
const ipAddresses: Field<string[]> = field({
  key: 'ip_addresses',
  table: 'Cloudflare',
  read: managedIpList,
  target: 'cloudflare.ipAddresses',
  required: 'is required: the addresses to probe and publish',
});
const standbyIps: Field<string[]> = field({
  key: 'standby_ips',
  table: 'Cloudflare',
  read: standbyIpList,
  check: standbyNotPrimary(() => ipAddresses),
  target: 'cloudflare.standbyIps',
  default: [],
});
const minActive = field({
  key: 'min_active',
  table: 'Cloudflare',
  read: integer({ min: 1 }),
  check: (v, c) => onlyWithStandby<number>(() => standbyIps)(minActiveReachable(() => ipAddresses)(v, c), c),
  target: 'cloudflare.minActive',
  default: DEFAULTS.minActive,
});
const failbackDelay = field({
  key: 'failback_delay',
  table: 'Cloudflare',
  read: seconds({ atLeast: 0 }),
  check: onlyWithStandby(() => standbyIps),
  target: 'cloudflare.failbackDelayMs',
  toConfig: (v) => Math.round((v ?? DEFAULTS.failbackDelaySeconds) * 1000),
  print: seconds1000,
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

// ---- [Route53] (the original's keys) -----------------------------------
const awsDomain: Field<string> = field({
  key: 'aws_domain',
  table: 'Route53',
  read: zoneName,
  target: 'aws.domain',
  required: 'is required (the Route 53 hosted zone, e.g. "example.com")',
});
const awsHostnames = field({
  key: 'hostnames',
  table: 'Route53',
  read: hostnameListIn(() => awsDomain),
  target: 'aws.hostnames',
  required: 'is required: the names whose record sets goavail manages, e.g. ["www"] or ["@"]',
});
const awsIpAddresses: Field<string[]> = field({
  key: 'ip_addresses',
  table: 'Route53',
  read: managedIpList,
  target: 'aws.ipAddresses',
  required: 'is required: the addresses to probe and publish',
});
const awsStandbyIps: Field<string[]> = field({
  key: 'standby_ips',
  table: 'Route53',
  read: standbyIpList,
  check: standbyNotPrimary(() => awsIpAddresses),
  target: 'aws.standbyIps',
  default: [],
});
const awsMinActive = field({
  key: 'min_active',
  table: 'Route53',
  read: integer({ min: 1 }),
  check: (v, c) => onlyWithStandby<number>(() => awsStandbyIps)(minActiveReachable(() => awsIpAddresses)(v, c), c),
  target: 'aws.minActive',
  default: DEFAULTS.minActive,
});
const awsFailbackDelay = field({
  key: 'failback_delay',
  table: 'Route53',
  read: seconds({ atLeast: 0 }),
  check: onlyWithStandby(() => awsStandbyIps),
  target: 'aws.failbackDelayMs',
  toConfig: (v) => Math.round((v ?? DEFAULTS.failbackDelaySeconds) * 1000),
  print: seconds1000,
});
const awsTtl = field({ key: 'ttl', table: 'Route53', read: route53Ttl, target: 'aws.ttl', default: DEFAULTS.route53Ttl });
const awsZoneId = field({ key: 'aws_zoneid', table: 'Route53', read: route53ZoneId, target: 'aws.zoneId', omitUnset: true });
const awsRegionField = field({ key: 'aws_region', table: 'Route53', read: awsRegion, target: 'aws.region', omitUnset: true });

// ---- [HTTP] --------------------------------------------------------------
const httpPathField = field({ key: 'path', table: 'HTTP', read: httpPath, check: onlyForHttp, target: 'http.path', default: DEFAULTS.httpPath });
const httpMethod = field({
  key: 'method',
  table: 'HTTP',
  read: oneOf<'GET' | 'HEAD'>(['GET', 'HEAD']),
  check: onlyForHttp,
  target: 'http.method',
  default: DEFAULTS.httpMethod,
});
const httpHostField = field({
  key: 'host',
  table: 'HTTP',
  read: httpHost,
  check: onlyForHttp,
  target: 'http.host',
  // The first configured hostname, fully qualified: the name clients ask this IP for.
  toConfig: (v, c) => v ?? c.value(hostnames)?.[0] ?? c.value(awsHostnames)?.[0],
});
const expectStatus = field({
  key: 'expect_status',
  table: 'HTTP',
  read: statusList,
  check: onlyForHttp,
  target: 'http.expectStatus',
  toConfig: (v) => v ?? [parseStatusRange(DEFAULTS.httpExpectStatus) as StatusRange],
  print: (v) => (v as StatusRange[]).map(formatStatusRange),
});
const expectBodyField = field({ key: 'expect_body', table: 'HTTP', read: expectBody, check: onlyForHttp, target: 'http.expectBody' });
const httpHeaders = field({
  key: 'headers',
  table: 'HTTP',
  read: headerTable,
  check: onlyForHttp,
  secret: true,
  target: 'http.headers',
  default: {},
  // The names are shown (they say what is sent), never the values (an auth header is a credential).
  print: (v) => Object.fromEntries(Object.keys(v as Record<string, string>).map((k) => [k, MASK])),
});
const tlsVerify = field({ key: 'tls_verify', table: 'HTTP', read: boolean, check: onlyForHttps, target: 'http.tlsVerify', default: true });
const caFile = field({ key: 'ca_file', table: 'HTTP', read: caFilePath, check: onlyForHttps, target: 'http.caFile' });
const certMinDays = field({
  key: 'cert_min_days',
  table: 'HTTP',
  read: integer({ min: 0 }),
  check: onlyForHttps,
  target: 'http.certMinDays',
  default: DEFAULTS.certMinDays,
});

// ---- [[maintenance]] (one table per window) ------------------------------
const maintenanceIpsField = field({ key: 'ips', table: 'maintenance', read: maintenanceIps, required: 'is required: the managed IPs this window drains' });
const maintenanceStart = field({ key: 'start', table: 'maintenance', read: startInstant });
const maintenanceDuration = field({
  key: 'duration',
  table: 'maintenance',
  read: windowDuration,
  required: 'is required: how long the window stays open (seconds, or e.g. "2h")',
});
const maintenanceReason = field({ key: 'reason', table: 'maintenance', read: windowReason });
const maintenanceWeekdays = field({ key: 'weekdays', table: 'maintenance', read: weekdayList });
const maintenanceAt = field({ key: 'at', table: 'maintenance', read: timeOfDay });
const maintenanceTimezone = field({ key: 'timezone', table: 'maintenance', read: timeZoneName, check: windowRules });

export interface TableSpec {
  readonly name: TableName;
  /** The keys of the table, in the order they are read and printed; none: free-form, kept as is. */
  readonly fields?: readonly Field<unknown>[];
  /** Why the table may not be absent, given the top-level values; undefined when it may. */
  required?(c: FieldContext): string | undefined;
  /**
   * Whether the fields are read, given the top-level values (default: always).
   * A provider's table is checked only when that provider is chosen; otherwise
   * it is kept as written, so a config for one provider never fails on the other's table.
   */
  active?(c: FieldContext): boolean;
  /** Whether the effective config prints this table (default: always). */
  printed?(config: Config): boolean;
  /**
   * An array of tables (`[[name]]`, absent: none): each table is read with
   * the fields, its keys named `name[i].key`, an unknown key is an error
   * (a mistyped key would leave a window other than the operator meant);
   * the fields fill no `Config` field themselves, `element` builds one
   * entry of `Config[target]` from them, and `print` shows it.
   */
  readonly array?: {
    readonly target: 'maintenance';
    element(c: FieldContext): unknown;
    print(element: unknown): Record<string, unknown>;
  };
}

/** The provider chosen (the flag already applied); cloudflare when unset. */
function chosenProvider(c: FieldContext): DnsProviderName | null {
  const p = c.value(dnsProvider);
  return p === undefined ? 'cloudflare' : p;
}

/** The [Cloudflare] table is needed by the Cloudflare provider. */
function cloudflareForProvider(c: FieldContext): string | undefined {
  return chosenProvider(c) === 'cloudflare' ? `the [Cloudflare] table is required when ${dnsProvider.key} is "cloudflare"` : undefined;
}

/** The [Route53] table is needed by the Route 53 provider. */
function route53ForProvider(c: FieldContext): string | undefined {
  return chosenProvider(c) === 'route53' ? `the [Route53] table is required when ${dnsProvider.key} is "route53"` : undefined;
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
      pagerdutyRoutingKey,
      pagerdutyUrl,
      opsgenieApiKey,
      opsgenieUrl,
      teamsWebhook,
      discordWebhook,
      telegramBotToken,
      telegramChatId,
      telegramApiUrl,
      auditFile,
      controlTokenFile,
      canaries,
      freezeMinTargets,
      freezeShare,
    ],
  },
  { name: 'Members', fields: [peers, localAddr, membersPort, minPeersAgree, cryptoKey, keyFile] },
  {
    name: 'Route53',
    fields: [awsDomain, awsHostnames, awsIpAddresses, awsStandbyIps, awsMinActive, awsFailbackDelay, awsTtl, awsZoneId, awsRegionField],
    required: route53ForProvider,
    active: (c) => chosenProvider(c) === 'route53',
  },
  {
    name: 'Cloudflare',
    fields: [dnsProxied, dnsDomain, hostnames, ipAddresses, standbyIps, minActive, failbackDelay, dnsTtl, cloudflareZoneId],
    required: cloudflareForProvider,
    active: (c) => chosenProvider(c) !== 'route53',
  },
  {
    name: 'HTTP',
    fields: [httpPathField, httpMethod, httpHostField, expectStatus, expectBodyField, httpHeaders, tlsVerify, caFile, certMinDays],
    // Printed only when it is used: ip and tcp configs print as they always did.
    printed: (config) => HTTP_TYPES.includes(config.probeType),
  },
  {
    // Last: its ips are checked against the provider table read before it.
    name: 'maintenance',
    fields: [maintenanceIpsField, maintenanceStart, maintenanceDuration, maintenanceReason, maintenanceWeekdays, maintenanceAt, maintenanceTimezone],
    printed: (config) => config.maintenance.length > 0,
    array: { target: 'maintenance', element: maintenanceWindow, print: (w) => printWindow(w as MaintenanceWindow) },
  },
];

/** The keys a checked table understands (for the top level: its keys and the table names). */
export function knownKeys(table: TableName): string[] {
  const spec = TABLES.find((t) => t.name === table);
  const keys = (spec?.fields ?? []).map((f) => f.key);
  return table === '' ? [...keys, ...TABLES.filter((t) => t.name !== '').map((t) => t.name)] : keys;
}
