import { canonicalIp } from '../net/ip.js';
import type { RecordType } from '../model.js';
import type { Change, DnsRecord } from './types.js';

/**
 * Route 53 keeps one record *set* per (name, type[, set identifier]) with
 * many values; goavail plans per value (src/dns/plan.ts: one DnsRecord per
 * IP). This module is the pure translation between the two: sets as read →
 * value records for the planner, and the planner's value changes → set
 * rewrites, each a compare-and-swap (DELETE exactly as read + CREATE).
 *
 * The shape is the API's (`ResourceRecordSet`, PascalCase), so a set read
 * from the SDK goes back in its DELETE unchanged; every field this module
 * does not know (Weight, Failover, Region, GeoLocation, HealthCheckId,
 * CidrRoutingConfig...) is carried over to the CREATE as read.
 */
export interface RecordSet {
  readonly Name: string;
  readonly Type: string;
  readonly SetIdentifier?: string | undefined;
  readonly MultiValueAnswer?: boolean | undefined;
  readonly Weight?: number | undefined;
  readonly Failover?: string | undefined;
  readonly Region?: string | undefined;
  readonly GeoLocation?: unknown;
  readonly TTL?: number | undefined;
  readonly ResourceRecords?: readonly { readonly Value: string | undefined }[] | undefined;
  readonly AliasTarget?: unknown;
  readonly HealthCheckId?: string | undefined;
  readonly [field: string]: unknown;
}

export interface SetChange {
  readonly Action: 'DELETE' | 'CREATE';
  readonly ResourceRecordSet: RecordSet;
}

/** Fully qualified, lower case, no trailing dot (Route 53 answers with one, and escapes `*` as `\052`). */
export function normaliseSetName(name: string): string {
  return name
    .replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)))
    .replace(/\.$/, '')
    .toLowerCase();
}

/** The identity of a set: Route 53 allows one per (name, type, set identifier). */
function setKey(s: Pick<RecordSet, 'Name' | 'Type' | 'SetIdentifier'>): string {
  return `${s.Type} ${normaliseSetName(s.Name)} ${s.SetIdentifier ?? ''}`;
}

/** What routing a set uses, in the words logs show. */
function routingOf(s: RecordSet): string {
  if (s.MultiValueAnswer === true) return 'multivalue';
  if (s.Failover !== undefined) return 'failover';
  if (s.Weight !== undefined) return 'weighted';
  if (s.Region !== undefined) return 'latency';
  if (s.GeoLocation !== undefined) return 'geolocation';
  if (s.GeoProximityLocation !== undefined) return 'geoproximity';
  if (s.CidrRoutingConfig !== undefined) return 'ip-based';
  return 'simple';
}

/** `set test, weighted`, or `simple` for a set without identifier. */
export function describeSet(s: RecordSet): string {
  return s.SetIdentifier === undefined ? routingOf(s) : `set ${s.SetIdentifier}, ${routingOf(s)}`;
}

function isAddressType(t: string): t is RecordType {
  return t === 'A' || t === 'AAAA';
}

function valuesOf(s: RecordSet): string[] {
  return (s.ResourceRecords ?? []).map((r) => r.Value ?? '');
}

/** The record id of one value: the set's key and the IP. */
function recordId(s: RecordSet, ip: string): string {
  return `${setKey(s)}|${ip}`;
}

/**
 * One DnsRecord per IP value of every A/AAAA set (alias sets have no values
 * and give none; a value that is not an IP is skipped, never touched).
 */
export function recordsOfSets(sets: readonly RecordSet[]): DnsRecord[] {
  const out: DnsRecord[] = [];
  for (const s of sets) {
    if (!isAddressType(s.Type)) continue;
    const name = normaliseSetName(s.Name);
    for (const v of valuesOf(s)) {
      const ip = canonicalIp(v);
      if (ip === undefined) continue;
      out.push({ id: recordId(s, ip), type: s.Type, name, content: ip, proxied: false, ttl: s.TTL ?? 0, note: describeSet(s) });
    }
  }
  return out;
}

/** Where a removed value lived: its key in {@link SetsInput.remembered}. */
export function memoryKey(type: RecordType, name: string, ip: string): string {
  return `${type} ${name} ${ip}`;
}

export interface SetsInput {
  /** Every set of the managed names, as read (the DELETEs carry them unchanged). */
  readonly sets: readonly RecordSet[];
  /** The value changes to make (after the safety policies and writer election). */
  readonly changes: readonly Change[];
  /** {@link memoryKey} → the set (as read) a value was removed from. */
  readonly remembered: ReadonlyMap<string, RecordSet>;
  /** TTL of a set goavail creates from nothing. */
  readonly ttl: number;
}

export interface SetsPlan {
  /** Per (name, type), in plan order: the set changes, which must go in one request. */
  readonly groups: readonly (readonly SetChange[])[];
  /** Memory to keep once the groups are applied: value → the set it left. */
  readonly remember: readonly (readonly [string, RecordSet])[];
  /** Memory to drop once applied (the value is back). */
  readonly forget: readonly string[];
  /** Changes that could not be mapped to a set (a delete of a record not read): nothing is written for them. */
  readonly unmatched: readonly Change[];
}

interface Working {
  /** The set as read; undefined for a set this plan creates. */
  readonly read: RecordSet | undefined;
  /** The shape of the set (read, or remembered, or made up). */
  readonly base: RecordSet;
  values: string[];
}

/**
 * Value changes → set rewrites.
 *
 * | change                 | where                                              | set change                         |
 * |------------------------|----------------------------------------------------|------------------------------------|
 * | remove ip              | the set it was read in                             | DELETE as read + CREATE without ip |
 * | remove ip, last value  | (multivalue sets always: one value each)           | DELETE as read only; remembered    |
 * | add ip, remembered set | that set, if it still exists (and is not multivalue) | DELETE + CREATE with ip          |
 * | add ip, remembered set | gone                                               | CREATE it as remembered, value ip  |
 * | add ip, not remembered | the first non-multivalue set (simple first)        | DELETE + CREATE with ip            |
 * | add ip, not remembered | only multivalue sets                               | CREATE multivalue, identifier = ip, their TTL |
 * | add ip, not remembered | no set at all                                      | CREATE simple set, TTL `ttl`       |
 *
 * Only values equal to a managed IP change; other values and every other
 * field stay as read. A set is never written with zero values: it is
 * deleted (keep-last-record, counted over all sets of the name, is the
 * planner's business and has run before). Several changes to one set make
 * one rewrite.
 */
export function planSetChanges(input: SetsInput): SetsPlan {
  const work = new Map<string, Working>();
  const groupOf = new Map<string, string[]>(); // `${type} ${name}` → set keys, in first-touch order
  const groupOrder: string[] = [];
  const byRecordId = new Map<string, RecordSet>();
  for (const s of input.sets) {
    if (!isAddressType(s.Type)) continue;
    for (const v of valuesOf(s)) {
      const ip = canonicalIp(v);
      if (ip !== undefined) byRecordId.set(recordId(s, ip), s);
    }
  }
  const setsOfGroup = (type: string, name: string): RecordSet[] =>
    input.sets.filter((s) => s.Type === type && normaliseSetName(s.Name) === name && s.AliasTarget === undefined);
  const touch = (key: string, read: RecordSet | undefined, base: RecordSet): Working => {
    let w = work.get(key);
    if (w === undefined) {
      w = { read, base, values: read ? valuesOf(read) : [] };
      work.set(key, w);
      const g = `${base.Type} ${normaliseSetName(base.Name)}`;
      if (!groupOf.has(g)) {
        groupOf.set(g, []);
        groupOrder.push(g);
      }
      groupOf.get(g)!.push(key);
    }
    return w;
  };
  const touchRead = (s: RecordSet): Working => touch(setKey(s), s, s);
  const remember: [string, RecordSet][] = [];
  const forget: string[] = [];
  const unmatched: Change[] = [];

  for (const c of input.changes) {
    const { type, name, content: ip } = c.record;
    if (c.op === 'delete') {
      const s = byRecordId.get(c.record.id);
      if (s === undefined) {
        unmatched.push(c);
        continue;
      }
      const w = touchRead(s);
      w.values = w.values.filter((v) => canonicalIp(v) !== ip);
      remember.push([memoryKey(type, name, ip), s]);
      continue;
    }
    // create
    const hasIp = (w: Working): boolean => w.values.some((v) => canonicalIp(v) === ip);
    const existing = setsOfGroup(type, name);
    const current = (s: RecordSet): Working => work.get(setKey(s)) ?? { read: s, base: s, values: valuesOf(s) };
    if (existing.some((s) => hasIp(current(s)))) continue; // already there (planner would not ask; be safe)
    const mem = input.remembered.get(memoryKey(type, name, ip));
    forget.push(memoryKey(type, name, ip));
    if (mem !== undefined) {
      const key = setKey(mem);
      const now = existing.find((s) => setKey(s) === key);
      const planned = work.get(key);
      if (now === undefined && (planned === undefined || planned.values.length === 0)) {
        const w = touch(key, undefined, mem);
        w.values = [...w.values, ip];
        continue;
      }
      const w = planned ?? touchRead(now!);
      if (w.base.MultiValueAnswer !== true || w.values.length === 0) {
        w.values = [...w.values, ip];
        continue;
      }
      // A multivalue set of that identifier holds another value now: fall through to a set of its own.
    }
    const nonMulti = existing.filter((s) => s.MultiValueAnswer !== true).sort((a, b) => (a.SetIdentifier ?? '').localeCompare(b.SetIdentifier ?? ''));
    const target = nonMulti[0];
    if (target !== undefined) {
      const w = touchRead(target);
      w.values = [...w.values, ip];
      continue;
    }
    const multi = existing.filter((s) => s.MultiValueAnswer === true);
    const taken = new Set([...existing.map((s) => s.SetIdentifier), ...[...work.values()].map((w) => w.base.SetIdentifier)]);
    let id = ip;
    for (let n = 2; taken.has(id); n++) id = `${ip}-${n}`;
    const base: RecordSet =
      multi.length > 0 || [...work.values()].some((w) => w.base.MultiValueAnswer === true && w.base.Type === type && normaliseSetName(w.base.Name) === name)
        ? { Name: `${name}.`, Type: type, SetIdentifier: id, MultiValueAnswer: true, TTL: multi[0]?.TTL ?? input.ttl, ResourceRecords: [] }
        : { Name: `${name}.`, Type: type, TTL: input.ttl, ResourceRecords: [] };
    const w = touch(setKey(base), undefined, base);
    w.values = [...w.values, ip];
  }

  const groups: SetChange[][] = [];
  for (const g of groupOrder) {
    const out: SetChange[] = [];
    for (const key of groupOf.get(g)!) {
      const w = work.get(key)!;
      const changed = w.read === undefined || !sameValues(valuesOf(w.read), w.values);
      if (!changed) continue;
      if (w.read !== undefined) out.push({ Action: 'DELETE', ResourceRecordSet: w.read });
      if (w.values.length > 0) out.push({ Action: 'CREATE', ResourceRecordSet: { ...w.base, ResourceRecords: w.values.map((Value) => ({ Value })) } });
    }
    if (out.length > 0) groups.push(out);
  }
  return { groups, remember, forget, unmatched };
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** Route 53's limits on one ChangeResourceRecordSets request. */
export const ROUTE53_LIMITS = { resourceRecords: 1000, valueCharacters: 32_000 } as const;

/**
 * Groups packed into as few requests as the limits allow: a group (every
 * set change of one name and type) is never split, so each name changes in
 * one atomic batch; groups keep their order; a group over the limits goes
 * alone (Route 53 will refuse it, and says why).
 *
 * | counted per request         | limit  |
 * |-----------------------------|--------|
 * | ResourceRecord elements     | 1,000  |
 * | characters of all Values    | 32,000 |
 */
export function packBatches(
  groups: readonly (readonly SetChange[])[],
  limits: { resourceRecords: number; valueCharacters: number } = ROUTE53_LIMITS,
): SetChange[][] {
  const size = (g: readonly SetChange[]): { n: number; chars: number } => {
    let n = 0;
    let chars = 0;
    for (const c of g)
      for (const r of c.ResourceRecordSet.ResourceRecords ?? []) {
        n += 1;
        chars += (r.Value ?? '').length;
      }
    return { n, chars };
  };
  const out: SetChange[][] = [];
  let cur: SetChange[] = [];
  let n = 0;
  let chars = 0;
  for (const g of groups) {
    const s = size(g);
    if (cur.length > 0 && (n + s.n > limits.resourceRecords || chars + s.chars > limits.valueCharacters)) {
      out.push(cur);
      cur = [];
      n = 0;
      chars = 0;
    }
    cur.push(...g);
    n += s.n;
    chars += s.chars;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}
