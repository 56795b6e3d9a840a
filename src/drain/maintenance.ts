import { atText, type MaintenanceWindow, type Weekday } from '../config/schema.js';
import { addDays, instantOf, localDateAt, zone, type Zone } from './localtime.js';
import type { DrainEntry } from './types.js';

/**
 * Maintenance windows as drains, pure: the `[[maintenance]]` tables and
 * `now` in, the drains in force out, and the next instant that changes them
 * (for one timer). Every agent reads the same file, so every agent computes
 * the same drains with no gossip.
 *
 * An IP listed by several windows is drained over the union of their
 * openings: windows that overlap or touch make one drain.
 *
 * | openings of an IP (ms)       | now | drain                                       |
 * |------------------------------|-----|---------------------------------------------|
 * | [100, 200)                   | 50  | none; next edge 100                         |
 * | [100, 200)                   | 100 | at 100, until 200                           |
 * | [100, 200)                   | 200 | none (the end is not in the window)         |
 * | [100, 200), [150, 300)       | 120 | at 100, until 300 (one drain, latest end)   |
 * | [100, 200), [200, 300)       | 250 | at 100, until 300 (touching: no gap)        |
 *
 * `reason`: that of the open window that opened first (ties: the first in
 * the file), else `maintenance window <n>`, n counting the tables from 1.
 * A weekly window opens on each listed weekday at `at`, local time in its
 * `timezone` (a time skipped by a DST change opens at the first valid
 * instant after it, a repeated one at its first occurrence: ./localtime.ts),
 * and lasts `duration` of elapsed time.
 */

const DAY_MS = 24 * 3600 * 1000;
/** How far around `now` weekly openings are looked for when joining openings into one drain. */
const JOIN_HORIZON_MS = 15 * DAY_MS;
/** Weekly openings last at most 7 days (validation), so one opening within 8 days either side finds every edge. */
const EDGE_HORIZON_MS = 8 * DAY_MS;

const WEEKDAY_NUMBER: Readonly<Record<Weekday, number>> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6 };

interface Opening {
  readonly start: number;
  readonly end: number;
  /** Index of the window in the file. */
  readonly window: number;
}

/** A window's openings that start within [from, to]; a one-off window's single opening whatever the range. */
function openings(w: MaintenanceWindow, index: number, from: number, to: number, zones: Map<string, Zone>): Opening[] {
  const weekly = w.weekly;
  if (weekly === undefined) return w.start === undefined ? [] : [{ start: w.start, end: w.start + w.durationMs, window: index }];
  const lo = Math.max(from, w.start ?? from);
  if (lo > to) return [];
  let z = zones.get(weekly.timezone);
  if (z === undefined) {
    z = zone(weekly.timezone);
    zones.set(weekly.timezone, z);
  }
  const days = new Set(weekly.weekdays.map((d) => WEEKDAY_NUMBER[d]));
  const out: Opening[] = [];
  const last = addDays(localDateAt(z, to), 1);
  for (let d = addDays(localDateAt(z, lo), -1); Date.UTC(d.year, d.month - 1, d.day) <= Date.UTC(last.year, last.month - 1, last.day); d = addDays(d, 1)) {
    if (!days.has(d.weekday)) continue;
    const start = instantOf(z, d, weekly.atMinutes);
    if (start >= lo && start <= to) out.push({ start, end: start + w.durationMs, window: index });
  }
  return out;
}

/** The drains the windows put in force at `now`: one per IP in an open window, sorted by IP. */
export function maintenanceDrains(windows: readonly MaintenanceWindow[], now: number): DrainEntry[] {
  const zones = new Map<string, Zone>();
  const byIp = new Map<string, Opening[]>();
  for (const [i, w] of windows.entries()) {
    const list = openings(w, i, now - JOIN_HORIZON_MS, now + JOIN_HORIZON_MS, zones);
    if (list.length === 0) continue;
    for (const ip of w.ips) byIp.set(ip, [...(byIp.get(ip) ?? []), ...list]);
  }
  const out: DrainEntry[] = [];
  for (const [ip, list] of byIp) {
    const open = list.filter((o) => o.start <= now && now < o.end);
    if (open.length === 0) continue;
    // The union of openings that overlap or touch, around now.
    const sorted = [...list].sort((a, b) => a.start - b.start);
    let at = Math.min(...open.map((o) => o.start));
    let until = Math.max(...open.map((o) => o.end));
    for (let grew = true; grew;) {
      grew = false;
      for (const o of sorted) {
        if (o.start <= until && o.end >= at && (o.start < at || o.end > until)) {
          at = Math.min(at, o.start);
          until = Math.max(until, o.end);
          grew = true;
        }
      }
    }
    const first = [...open].sort((a, b) => a.start - b.start || a.window - b.window)[0] as Opening;
    out.push({
      ip,
      drained: true,
      at,
      origin: 'config',
      until,
      by: 'config',
      reason: windows[first.window]?.reason ?? `maintenance window ${first.window + 1}`,
      source: 'maintenance',
    });
  }
  return out.sort((a, b) => (a.ip < b.ip ? -1 : a.ip > b.ip ? 1 : 0));
}

/** The next instant after `now` at which a window opens or closes; undefined: none ever will. */
export function nextMaintenanceEdge(windows: readonly MaintenanceWindow[], now: number): number | undefined {
  const zones = new Map<string, Zone>();
  let next: number | undefined;
  for (const [i, w] of windows.entries()) {
    // A weekly window that starts later: look a week past its start.
    const to = Math.max(now, w.start ?? now) + EDGE_HORIZON_MS;
    for (const o of openings(w, i, now - EDGE_HORIZON_MS, to, zones)) {
      for (const edge of [o.start, o.end]) if (edge > now && (next === undefined || edge < next)) next = edge;
    }
  }
  return next;
}

/** The opening of one window that is open at `now`, else its next one; undefined: it will not open again (for check-config). */
export function currentOrNextOpening(w: MaintenanceWindow, now: number): { readonly start: number; readonly end: number } | undefined {
  const to = Math.max(now, w.start ?? now) + EDGE_HORIZON_MS;
  const o = openings(w, 0, now - EDGE_HORIZON_MS, to, new Map())
    .filter((x) => x.end > now)
    .sort((a, b) => a.start - b.start)[0];
  return o === undefined ? undefined : { start: o.start, end: o.end };
}

/**
 * One line per window for `goavail check-config`: what it drains and when
 * it is open next, as instants (UTC), so the operator sees how `at` and
 * `timezone` were read, DST included.
 *
 * `maintenance[0] "kernel upgrade": 198.18.0.1: open now, until 2026-12-05T03:00:00.000Z`
 */
export function maintenanceSummary(windows: readonly MaintenanceWindow[], now: number): string[] {
  return windows.map((w, i) => {
    const o = currentOrNextOpening(w, now);
    const iso = (t: number): string => new Date(t).toISOString();
    const when =
      o === undefined
        ? `over (it closed at ${w.start === undefined ? '?' : iso(w.start + w.durationMs)})`
        : o.start <= now
          ? `open now, until ${iso(o.end)}`
          : `next open ${iso(o.start)} until ${iso(o.end)}`;
    const weekly = w.weekly ? ` (weekly: ${w.weekly.weekdays.join(', ')} at ${atText(w.weekly.atMinutes)} ${w.weekly.timezone})` : '';
    return `maintenance[${i}] ${JSON.stringify(w.reason ?? `maintenance window ${i + 1}`)}: ${w.ips.join(', ')}: ${when}${weekly}`;
  });
}
