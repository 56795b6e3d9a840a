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
 * With standbys (src/dns/standby.ts): a standby's create counts like any
 * other, so when the last primaries go down the plan adds the standby and
 * removes the dead primaries in one batch, the create first (see
 * {@link plan}): the name points at the standby instead of at dead IPs,
 * and is never empty in between. A primary is only ever removed because
 * its own verdict is down, never because a standby is in. When every IP
 * (primaries and standbys) is down, every record that exists stays.
 */
export function keepLastRecord(changes: readonly Change[], input: Pick<PlanInput, 'current' | 'ips' | 'hostnames'>): Plan {
  const managedIps = new Set(input.ips);
  const names = new Set(input.hostnames);
  const key = (name: string, type: RecordType): string => `${type} ${name}`;
  const remaining = new Map<string, Set<string>>();
  for (const r of input.current) {
    if (!names.has(r.name) || !managedIps.has(r.content)) continue;
    const k = key(r.name, r.type);
    if (!remaining.has(k)) remaining.set(k, new Set());
    remaining.get(k)!.add(r.id);
  }
  const created = new Set<string>();
  for (const c of changes) {
    if (c.op === 'create') created.add(key(c.record.name, c.record.type));
    else remaining.get(key(c.record.name, c.record.type))?.delete(c.record.id);
  }
  const emptied = new Set<string>();
  for (const [k, ids] of remaining) if (ids.size === 0 && !created.has(k)) emptied.add(k);
  const kept: Change[] = [];
  const held: HeldRemoval[] = [];
  for (const c of changes) {
    if (c.op === 'delete' && emptied.has(key(c.record.name, c.record.type))) held.push({ record: c.record, reason: 'last-record' });
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
