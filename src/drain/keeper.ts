import type { Logger } from '../log.js';
import type { Verdict } from '../model.js';
import { canonicalIp, ipFamily } from '../net/ip.js';
import {
  active,
  byIp,
  chars,
  EMPTY_DRAINS,
  endedAt,
  isActive,
  listed,
  MAX_BY_CHARS,
  MAX_REASON_CHARS,
  merge,
  nextExpiry,
  prune,
  RETAIN_ENDED_MS,
  type DrainState,
} from './state.js';
import { loadDrains, saveDrains } from './store.js';
import type { DrainAnswer, DrainControl, DrainEntry, DrainRequest, UndrainRequest } from './types.js';

/** The longest drain `--for` may ask (a year and a day); longer: until undrained. */
export const MAX_DRAIN_MS = 366 * 24 * 3_600_000;

export interface DrainKeeperOptions {
  /** This agent's id: the origin of the entries it sets. */
  readonly selfId: string;
  readonly logger: Logger;
  /** The state file; absent: drains live in memory only (tests, or no place to keep them). */
  readonly file?: string | undefined;
  /** The configured IPs and hostnames now. */
  readonly ips: () => readonly string[];
  readonly hostnames: () => readonly string[];
  /** The verdicts DNS follows before drains (the observer's), for the keep-last refusal. */
  readonly verdicts: () => ReadonlyMap<string, Verdict>;
  /** Maintenance windows' drains now (built elsewhere); they count as drained too. */
  readonly maintenance?: ((now: number) => readonly DrainEntry[]) | undefined;
  /** Tells peers: `relay` false for entries this agent just set. */
  readonly publish: (entries: readonly DrainEntry[], relay: boolean) => void;
  /** Entries that changed the state (set here or merged from a peer), after they were saved. */
  readonly changed: (entries: readonly DrainEntry[], local: boolean) => void;
}

/**
 * The agent's drains: the {@link DrainControl} the control endpoint calls,
 * the merge of what peers say, and the state file. The rules are
 * src/drain/state.ts's; this class adds the I/O (load at start, save
 * after every change, publish) and the answers for operators.
 */
export class DrainKeeper implements DrainControl {
  private state: DrainState = EMPTY_DRAINS;
  /** The entries read from the state file, while they are the ones kept: see {@link loadedHoldUntil}. */
  private loaded = new Set<DrainEntry>();
  /** The last maintenance window seen open per IP: when it closes, it orders the writer of the re-add. */
  private readonly windows = new Map<string, DrainEntry>();

  constructor(
    private readonly o: DrainKeeperOptions,
    now: number,
  ) {
    if (o.file === undefined) return;
    const loaded = loadDrains(o.file);
    for (const p of loaded.problems) o.logger.error({ file: o.file }, p);
    this.state = prune(merge(EMPTY_DRAINS, loaded.entries, now, new Set(o.ips())).state, now, new Set(o.ips()));
    this.loaded = new Set(this.state.values());
    const n = active(this.state, now).size;
    if (loaded.entries.length > 0) o.logger.info({ file: o.file, drained: n, entries: this.state.size }, `drain state loaded: ${n} IPs drained`);
  }

  drain(request: DrainRequest, now: number): DrainAnswer {
    const req = { ...request, ip: canonicalText(request.ip) };
    const bad = this.checkIp(req.ip) ?? checkText(req.by, 'by', MAX_BY_CHARS) ?? checkText(req.reason, 'reason', MAX_REASON_CHARS);
    if (bad) return bad;
    if (req.forMs !== undefined && (!Number.isSafeInteger(req.forMs) || req.forMs <= 0 || req.forMs > MAX_DRAIN_MS)) {
      return {
        ok: false,
        status: 400,
        error: `for: must be a whole number of ms above 0 and at most ${MAX_DRAIN_MS} (366 days); leave it out to drain until undrained`,
      };
    }
    const last = this.lastUp(req.ip, now);
    if (last && !req.force) {
      return {
        ok: false,
        status: 409,
        error: `${req.ip} is the last up ${last.type} record of ${last.names}: draining it would leave no other; refused (--force drains it anyway, but keep-last still keeps its record)`,
      };
    }
    const at = this.stamp(req.ip, now);
    const entry: DrainEntry = {
      ip: req.ip,
      drained: true,
      at,
      origin: this.o.selfId,
      until: req.forMs === undefined ? undefined : at + req.forMs,
      by: req.by ?? '',
      reason: req.reason ?? '',
      source: 'operator',
    };
    this.set(entry, now);
    this.o.logger.info(
      { ip: entry.ip, by: entry.by, reason: entry.reason, until: entry.until && new Date(entry.until).toISOString(), force: req.force },
      `drained ${entry.ip}`,
    );
    return last
      ? {
          ok: true,
          entry,
          note: `${req.ip} was the last up ${last.type} record of ${last.names}: it is drained, but keep-last keeps its record until another IP of it is up`,
        }
      : { ok: true, entry };
  }

  undrain(request: UndrainRequest, now: number): DrainAnswer {
    const req = { ...request, ip: canonicalText(request.ip) };
    const bad = this.checkIp(req.ip) ?? checkText(req.by, 'by', MAX_BY_CHARS);
    if (bad) return bad;
    const prev = this.state.get(req.ip);
    if (!prev || !isActive(prev, now)) {
      const m = this.maintenanceOf(req.ip, now);
      if (m)
        return { ok: false, status: 409, error: `${req.ip} is drained by a maintenance window (${m.reason || m.origin}): change the window in the config` };
      return { ok: false, status: 409, error: `${req.ip} is not drained` };
    }
    const at = this.stamp(req.ip, now);
    const entry: DrainEntry = {
      ip: req.ip,
      drained: false,
      at,
      origin: this.o.selfId,
      // Kept until the drain would have expired, so a copy of it that comes back later loses.
      until: prev.until === undefined ? undefined : Math.max(prev.until, at + 1),
      by: req.by ?? '',
      reason: '',
      source: prev.source,
    };
    this.set(entry, now);
    this.o.logger.info({ ip: entry.ip, by: entry.by }, `undrained ${entry.ip}`);
    return { ok: true, entry };
  }

  list(now: number): readonly DrainEntry[] {
    const own = listed(this.state, now);
    const seen = new Set(own.filter((e) => e.drained).map((e) => e.ip));
    const windows = (this.o.maintenance?.(now) ?? []).filter((e) => isActive(e, now) && !seen.has(e.ip));
    return [...own, ...windows].sort(byIp);
  }

  /** The drains in force now (operator and maintenance), by IP: these IPs count as down for DNS. */
  active(now: number): Map<string, DrainEntry> {
    const out = active(this.state, now);
    for (const e of this.o.maintenance?.(now) ?? []) {
      if (!isActive(e, now) || out.has(e.ip) || !this.isConfigured(e.ip)) continue;
      out.set(e.ip, e);
      this.windows.set(e.ip, e);
    }
    return out;
  }

  /**
   * The entry that decides who writes `ip`'s DNS change now (writer
   * election, ./writer.ts): the drain in force, else the one whose effect
   * ended last (an undrain, an expiry, or a maintenance window that closed).
   */
  entryFor(ip: string, now: number): DrainEntry | undefined {
    const on = this.active(now).get(ip);
    if (on) return on;
    const own = this.state.get(ip);
    const window = this.windows.get(ip);
    if (window && window.until !== undefined && now >= window.until + RETAIN_ENDED_MS) this.windows.delete(ip);
    else if (window && (own === undefined || (endedAt(window, now) ?? 0) > (endedAt(own, now) ?? 0))) return window;
    return own;
  }

  /**
   * Whether `entry` came from the state file and nothing newer was heard
   * since: an agent back from a restart may hold a drain the cluster undid
   * while it was away (or miss one). Its writes for such an IP wait (the
   * caller holds them until a while after start), so peers' announcements
   * arrive first.
   */
  isFromFile(entry: DrainEntry | undefined): boolean {
    return entry !== undefined && this.loaded.has(entry);
  }

  /** When the next drain in force ends; undefined if none will. */
  nextExpiry(now: number): number | undefined {
    let next = nextExpiry(this.state, now);
    for (const e of this.o.maintenance?.(now) ?? []) if (isActive(e, now) && e.until !== undefined) next = Math.min(next ?? e.until, e.until);
    return next;
  }

  /** Entries a peer sent (validated by the gossip layer): merged, saved when anything changed. */
  receive(entries: readonly DrainEntry[], now: number): void {
    const r = merge(this.state, entries, now, new Set(this.o.ips()));
    if (r.changed.length === 0) return;
    this.state = r.state;
    this.save();
    for (const e of r.changed)
      this.o.logger.info({ ip: e.ip, origin: e.origin, by: e.by, drained: e.drained }, `${e.drained ? 'drain' : 'undrain'} of ${e.ip} heard from the cluster`);
    this.o.changed(r.changed, false);
  }

  /** Every entry this agent keeps, for the full-state round (other origins' included). */
  announce(now: number): void {
    this.state = prune(this.state, now, new Set(this.o.ips()));
    if (this.state.size > 0) this.o.publish([...this.state.values()], true);
  }

  /** After a config reload: entries of IPs no longer configured are dropped. */
  reload(now: number): void {
    const next = prune(this.state, now, new Set(this.o.ips()));
    if (next === this.state) return;
    this.state = next;
    this.save();
  }

  private set(entry: DrainEntry, now: number): void {
    this.state = merge(this.state, [entry], now, new Set(this.o.ips())).state;
    this.save();
    this.o.publish([entry], false);
    this.o.changed([entry], true);
  }

  /** A time that orders after the entry kept for `ip` (a peer's clock may be ahead of ours). */
  private stamp(ip: string, now: number): number {
    const prev = this.state.get(ip);
    return prev ? Math.max(now, prev.at + 1) : now;
  }

  private save(): void {
    if (this.o.file === undefined) return;
    try {
      saveDrains(this.o.file, [...this.state.values()]);
    } catch (err) {
      this.o.logger.error({ file: this.o.file, err }, `cannot write the drain state to ${this.o.file}: drains hold in memory but would not survive a restart`);
    }
  }

  private isConfigured(ip: string): boolean {
    return this.o.ips().includes(ip);
  }

  private checkIp(ip: string): DrainAnswer | undefined {
    if (ip === '') return { ok: false, status: 400, error: 'ip: required' };
    if (!this.isConfigured(ip))
      return { ok: false, status: 404, error: `ip: ${ip} is not a configured IP of this agent (its configured IPs are in the config's ip_addresses)` };
    return undefined;
  }

  private maintenanceOf(ip: string, now: number): DrainEntry | undefined {
    return (this.o.maintenance?.(now) ?? []).find((e) => e.ip === ip && isActive(e, now));
  }

  /**
   * Keep-last: whether `ip` is the last up-and-not-drained IP of its
   * family (every hostname has every configured IP, per record type). It is
   * counted while not down (up, or unknown: its record stays); the others
   * only while up. Undefined: another one serves, or `ip` serves nothing.
   */
  private lastUp(ip: string, now: number): { type: 'A' | 'AAAA'; names: string } | undefined {
    const drained = this.active(now);
    const verdicts = this.o.verdicts();
    if (drained.has(ip) || verdicts.get(ip) === 'down') return undefined;
    const family = ipFamily(ip);
    const other = this.o.ips().some((o) => o !== ip && ipFamily(o) === family && verdicts.get(o) === 'up' && !drained.has(o));
    if (other) return undefined;
    return { type: family === 6 ? 'AAAA' : 'A', names: this.o.hostnames().join(', ') };
  }
}

/** The canonical text of an IP (`2001:DB8::1` → `2001:db8::1`); anything else as given, for the error. */
function canonicalText(ip: unknown): string {
  return typeof ip === 'string' ? (canonicalIp(ip.trim()) ?? ip) : '';
}

function checkText(v: unknown, key: string, max: number): DrainAnswer | undefined {
  if (v === undefined) return undefined;
  // eslint-disable-next-line no-control-regex
  if (typeof v !== 'string' || chars(v) > max || /[\u0000-\u001f\u007f-\u009f]/.test(v)) {
    return { ok: false, status: 400, error: `${key}: at most ${max} characters, no control characters` };
  }
  return undefined;
}
