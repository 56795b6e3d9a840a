import { ipFamily } from '../net/ip.js';
import type { RecordType, Verdict } from '../model.js';
import type { Change, DnsRecord } from './types.js';

/** What the planner needs to know: the managed names and IPs, their verdicts, and what DNS holds now. */
export interface PlanInput {
  /** Fully qualified hostnames, lower case, no trailing dot. */
  readonly hostnames: readonly string[];
  /** Configured IPs, normalised. Only records whose content is one of these are ever touched. */
  readonly ips: readonly string[];
  /**
   * The verdict each IP is acted on (the cluster verdict). Missing = unknown.
   * For a standby IP: its wanted presence (src/dns/standby.ts presenceVerdicts).
   */
  readonly verdicts: ReadonlyMap<string, Verdict>;
  /** Which of `ips` are standbys (`standby_ips`); none when absent. */
  readonly standbyIps?: readonly string[];
  /** Records DNS holds now (any name, any content: the planner filters). */
  readonly current: readonly DnsRecord[];
  readonly proxied: boolean;
  readonly ttl: number;
}

/** A removal the safety policy refused, and why. */
export interface HeldRemoval {
  readonly record: DnsRecord;
  readonly reason: 'last-record';
}

export interface Plan {
  readonly changes: readonly Change[];
  readonly held: readonly HeldRemoval[];
}

export function recordTypeOf(ip: string): RecordType {
  return ipFamily(ip) === 6 ? 'AAAA' : 'A';
}

/**
 * The difference between what DNS holds and what it should hold.
 *
 * | verdict | record for (hostname, ip) exists | change                 |
 * |---------|----------------------------------|------------------------|
 * | up      | no                               | create                 |
 * | up      | yes                              | none (never duplicate) |
 * | down    | yes (each copy)                  | delete                 |
 * | down    | no                               | none                   |
 * | unknown | either                           | none (keep what is)    |
 *
 * Pure: the same input always gives the same plan, and a plan applied to
 * `current` gives a state whose plan is empty (idempotence).
 */
export function calculate(input: PlanInput): Change[] {
  const changes: Change[] = [];
  // Index the records once: planning is O(records + hostnames × IPs), so
  // 10,000 IPs plan in milliseconds instead of blocking the event loop.
  const byKey = new Map<string, DnsRecord[]>();
  for (const r of input.current) {
    const k = `${r.type} ${r.name} ${r.content}`;
    const list = byKey.get(k);
    if (list) list.push(r);
    else byKey.set(k, [r]);
  }
  for (const name of input.hostnames) {
    for (const ip of input.ips) {
      const type = recordTypeOf(ip);
      const existing = byKey.get(`${type} ${name} ${ip}`) ?? [];
      const verdict = input.verdicts.get(ip) ?? 'unknown';
      if (verdict === 'up' && existing.length === 0) {
        changes.push({ op: 'create', record: { type, name, content: ip, proxied: input.proxied, ttl: input.ttl } });
      } else if (verdict === 'down') {
        for (const record of existing) changes.push({ op: 'delete', record });
      }
    }
  }
  return changes;
}

/**
 * Safety policy: never remove the last configured record of a hostname
 * (per record type, so IPv4-only clients keep an A record).
 *
 * If the plan would leave (name, type) with no record of a configured IP,
 * every removal for that (name, type) is held back: DNS keeps pointing at
 * the IPs it has (fail open, as Route 53 and Cloudflare Load Balancing do).
 * Creates in the same plan count as records that remain.
 *
 * Standby records never release a primary's hold: the removal of a
 * primary is weighed over primary records only, so a standby coming in
 * does not make the last primaries go (a standby is never the reason a
 * primary is removed). The removal of a standby is weighed over every
 * record, so neither kind leaves the name empty.
 *
 * | removal of | held when, after every planned removal, (name, type) has no record of | counting creates of |
 * |------------|-----------------------------------------------------------------------|---------------------|
 * | a primary  | a primary                                                             | primaries           |
 * | a standby  | any managed IP                                                        | any managed IP      |
 *
 * So when everything is down (primaries and standbys) every record that
 * exists stays, as without standbys.
 */
export function keepLastRecord(changes: readonly Change[], input: Pick<PlanInput, 'current' | 'ips' | 'hostnames' | 'standbyIps'>): Plan {
  const managedIps = new Set(input.ips);
  const standby = new Set(input.standbyIps ?? []);
  const names = new Set(input.hostnames);
  const key = (name: string, type: RecordType): string => `${type} ${name}`;
  // Per (name, type): the ids of every managed record, and of the primaries' only.
  const remaining = { all: new Map<string, Set<string>>(), primary: new Map<string, Set<string>>() };
  const add = (m: Map<string, Set<string>>, k: string, id: string): void => {
    if (!m.has(k)) m.set(k, new Set());
    m.get(k)!.add(id);
  };
  for (const r of input.current) {
    if (!names.has(r.name) || !managedIps.has(r.content)) continue;
    const k = key(r.name, r.type);
    add(remaining.all, k, r.id);
    if (!standby.has(r.content)) add(remaining.primary, k, r.id);
  }
  const created = { all: new Set<string>(), primary: new Set<string>() };
  for (const c of changes) {
    const k = key(c.record.name, c.record.type);
    if (c.op === 'create') {
      created.all.add(k);
      if (!standby.has(c.record.content)) created.primary.add(k);
    } else {
      remaining.all.get(k)?.delete(c.record.id);
      remaining.primary.get(k)?.delete(c.record.id);
    }
  }
  const emptied = (which: 'all' | 'primary'): Set<string> => {
    const out = new Set<string>();
    for (const [k, ids] of remaining[which]) if (ids.size === 0 && !created[which].has(k)) out.add(k);
    return out;
  };
  const emptiedAll = emptied('all');
  const emptiedPrimary = emptied('primary');
  const kept: Change[] = [];
  const held: HeldRemoval[] = [];
  for (const c of changes) {
    const k = key(c.record.name, c.record.type);
    const hold = c.op === 'delete' && (standby.has(c.record.content) ? emptiedAll.has(k) : emptiedPrimary.has(k));
    if (hold) held.push({ record: c.record, reason: 'last-record' });
    else kept.push(c);
  }
  return { changes: kept, held };
}

/**
 * calculate() then every safety policy. Creates come first: a provider that
 * applies one change at a time (or a batch split in order) adds the new
 * records before it removes the old ones, so the name stays resolvable.
 */
export function plan(input: PlanInput): Plan {
  const p = keepLastRecord(calculate(input), input);
  return { changes: [...p.changes.filter((c) => c.op === 'create'), ...p.changes.filter((c) => c.op === 'delete')], held: p.held };
}

/** `would remove A test.example.com 203.0.113.7` — the one-line form used in logs (Route 53 adds `(set test, weighted)`). */
export function describeChange(change: Change): string {
  const verb = change.op === 'create' ? 'add' : 'remove';
  const note = change.record.note === undefined ? '' : ` (${change.record.note})`;
  return `${verb} ${change.record.type} ${change.record.name} ${change.record.content}${note}`;
}
