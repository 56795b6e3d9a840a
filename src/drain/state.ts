import { canonicalIp } from '../net/ip.js';
import type { DrainEntry } from './types.js';

/**
 * The drain state: at most one entry per configured IP, merged last writer
 * wins. Pure: every function takes `now` and returns a new state.
 *
 * Order of two entries for one IP: by `at`, then by `origin` (plain string
 * order), so every agent that has seen the same entries keeps the same one
 * whatever order they arrived in. An entry equal in (at, origin) to the one
 * kept changes nothing.
 *
 * | kept               | incoming                       | result                |
 * |--------------------|--------------------------------|-----------------------|
 * | none               | drain or tombstone             | incoming              |
 * | (at 5, "a")        | (at 6, "a")                    | incoming (later)      |
 * | (at 5, "b")        | (at 5, "a")                    | kept ("b" > "a")      |
 * | (at 5, "a")        | (at 5, "a"), other fields      | kept (same writer)    |
 * | drain (at 5)       | tombstone (at 7)               | tombstone: undrained  |
 * | tombstone (at 7)   | that drain (at 5) again        | kept: it stays undone |
 * | any                | IP not configured              | ignored               |
 * | any                | kept-until already passed      | ignored (stale)       |
 *
 * An undrain is a tombstone (`drained: false`) whose `until` is the
 * replaced drain's: kept until the drain would have expired (plus
 * {@link RETAIN_ENDED_MS}), so an agent that was away during the undrain
 * and comes back with the drain in its state file loses to it. A drain
 * that has expired, or a tombstone past its `until`, is kept for
 * RETAIN_ENDED_MS more: writer election needs when the drain's effect
 * ended (see ./writer.ts), then it is pruned.
 */
export type DrainState = ReadonlyMap<string, DrainEntry>;

export const EMPTY_DRAINS: DrainState = new Map();

/** How long an ended entry is kept after its `until` (it orders the writer of the change its end causes). */
export const RETAIN_ENDED_MS = 60 * 60_000;

/** Bounds of the text fields (characters, as the contract says). */
export const MAX_BY_CHARS = 64;
export const MAX_REASON_CHARS = 200;
/** A libp2p peer id is ~52 characters; a maintenance origin names its window. */
const MAX_ORIGIN_CHARS = 128;

/** Whether `a` wins over `b` (last writer wins, ties by origin). */
function newer(a: Pick<DrainEntry, 'at' | 'origin'>, b: Pick<DrainEntry, 'at' | 'origin'>): boolean {
  return a.at > b.at || (a.at === b.at && a.origin > b.origin);
}

/** A drain in force at `now` (a tombstone never is). */
export function isActive(e: DrainEntry, now: number): boolean {
  return e.drained && (e.until === undefined || now < e.until);
}

/** An active drain, or a tombstone whose drain would still be in force: what `list` shows. */
function isLive(e: DrainEntry, now: number): boolean {
  return e.until === undefined || now < e.until;
}

/** When the entry's effect on DNS ended (a tombstone: the undrain; a drain: its expiry); undefined while in force or never. */
export function endedAt(e: DrainEntry, now: number): number | undefined {
  if (!e.drained) return e.at;
  return e.until !== undefined && now >= e.until ? e.until : undefined;
}

/** Whether the entry is past keeping: it may be dropped and is refused by merge. */
function stale(e: DrainEntry, now: number): boolean {
  return e.until !== undefined && now >= e.until + RETAIN_ENDED_MS;
}

export interface MergeResult {
  readonly state: DrainState;
  /** The incoming entries that were kept (each replaced what was there, or filled a gap). */
  readonly changed: readonly DrainEntry[];
}

/** Merges entries into the state; only configured IPs (canonical text) count. */
export function merge(state: DrainState, incoming: readonly DrainEntry[], now: number, ips: ReadonlySet<string>): MergeResult {
  let next: Map<string, DrainEntry> | undefined;
  const changed: DrainEntry[] = [];
  for (const e of incoming) {
    if (!ips.has(e.ip) || stale(e, now)) continue;
    const kept = (next ?? state).get(e.ip);
    if (kept && !newer(e, kept)) continue;
    next ??= new Map(state);
    next.set(e.ip, e);
    changed.push(e);
  }
  return { state: next ?? state, changed };
}

/** Drops stale entries and those of IPs no longer configured. */
export function prune(state: DrainState, now: number, ips: ReadonlySet<string>): DrainState {
  let next: Map<string, DrainEntry> | undefined;
  for (const [ip, e] of state) {
    if (ips.has(ip) && !stale(e, now)) continue;
    next ??= new Map(state);
    next.delete(ip);
  }
  return next ?? state;
}

/** The drains in force at `now`, by IP. */
export function active(state: DrainState, now: number): Map<string, DrainEntry> {
  const out = new Map<string, DrainEntry>();
  for (const [ip, e] of state) if (isActive(e, now)) out.set(ip, e);
  return out;
}

/** Active drains and live tombstones, sorted by IP (the contract's `list`). */
export function listed(state: DrainState, now: number): DrainEntry[] {
  return [...state.values()].filter((e) => isLive(e, now)).sort(byIp);
}

/** When the next drain in force ends (a reconcile is due then); undefined if none will. */
export function nextExpiry(state: DrainState, now: number): number | undefined {
  let next: number | undefined;
  for (const e of state.values()) if (isActive(e, now) && e.until !== undefined) next = next === undefined ? e.until : Math.min(next, e.until);
  return next;
}

/** Sorts entries by IP text (IPv4 before IPv6, as the strings order). */
export function byIp(a: DrainEntry, b: DrainEntry): number {
  return a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0;
}

/** Characters as the bounds count them (code points, so an emoji is one). */
export function chars(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Why a value read from outside (gossip, the state file) is not a valid
 * entry, or undefined when it is. Every field is checked: a canonical IP,
 * safe non-negative times with until > at, bounded printable text.
 */
export function entryProblem(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null) return 'not an object';
  const e = v as Record<string, unknown>;
  if (typeof e.ip !== 'string' || canonicalIp(e.ip) !== e.ip) return 'ip: not a canonical IP address';
  if (typeof e.drained !== 'boolean') return 'drained: not a boolean';
  if (!isTime(e.at)) return 'at: not a time';
  if (e.until !== undefined && (!isTime(e.until) || e.until <= e.at)) return 'until: not a time after at';
  if (!isText(e.origin, MAX_ORIGIN_CHARS) || e.origin === '') return `origin: not 1 to ${MAX_ORIGIN_CHARS} printable characters`;
  if (!isText(e.by, MAX_BY_CHARS)) return `by: not at most ${MAX_BY_CHARS} printable characters`;
  if (!isText(e.reason, MAX_REASON_CHARS)) return `reason: not at most ${MAX_REASON_CHARS} printable characters`;
  if (e.source !== 'operator' && e.source !== 'maintenance') return 'source: not "operator" or "maintenance"';
  return undefined;
}

/** A copy with only the contract's fields (no extra keys from a file). */
export function cleanEntry(e: DrainEntry): DrainEntry {
  return { ip: e.ip, drained: e.drained, at: e.at, origin: e.origin, until: e.until, by: e.by, reason: e.reason, source: e.source };
}

function isTime(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** Control characters are refused: the text ends up in logs and terminals. */
function isText(v: unknown, max: number): v is string {
  // eslint-disable-next-line no-control-regex
  return typeof v === 'string' && chars(v) <= max && !/[\u0000-\u001f\u007f-\u009f]/.test(v);
}
