/**
 * Wall-clock times in an IANA time zone, with Intl only (no time zone
 * database of our own): the offset in force at an instant, the local date
 * of an instant, and the instant a local date and time names.
 *
 * A local time is not always one instant. Where clocks jump, goavail picks:
 *
 * | local time on that day   | example (Europe/Berlin)        | the instant                                    |
 * |--------------------------|--------------------------------|------------------------------------------------|
 * | exists once              | 2026-12-05 02:00               | 01:00Z                                         |
 * | skipped (spring forward) | 2026-03-29 02:30 (02:00→03:00) | the first valid one after: 03:00 CEST = 01:00Z |
 * | repeated (fall back)     | 2026-10-25 02:30 (03:00→02:00) | its first occurrence: 02:30 CEST = 00:30Z      |
 *
 * Pure: a `Zone` holds one Intl formatter, made by the caller per
 * evaluation (no cache in module state).
 */

const DAY_MS = 24 * 3600 * 1000;

/** A calendar date (no time zone): what "saturday the 5th" means locally. */
export interface LocalDate {
  readonly year: number;
  /** 1..12 */
  readonly month: number;
  readonly day: number;
  /** 0 = Sunday … 6 = Saturday (as Date#getUTCDay). */
  readonly weekday: number;
}

/** One time zone's offsets. */
export interface Zone {
  /** The offset in force at instant `t`: ms to add to UTC to read the wall clock. */
  offsetAt(t: number): number;
}

export function zone(name: string): Zone {
  const fmt = new Intl.DateTimeFormat('en-US', {
    timeZone: name,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  });
  return {
    offsetAt(t: number): number {
      const p: Record<string, number> = {};
      for (const part of fmt.formatToParts(t)) if (part.type !== 'literal') p[part.type] = Number(part.value);
      const wall = Date.UTC(p.year ?? 1970, (p.month ?? 1) - 1, p.day ?? 1, (p.hour ?? 0) % 24, p.minute ?? 0, p.second ?? 0);
      return wall - Math.floor(t / 1000) * 1000;
    },
  };
}

/** The local date at instant `t` in `z`. */
export function localDateAt(z: Zone, t: number): LocalDate {
  return dateOf(t + z.offsetAt(t));
}

/** The date `days` after `d` (calendar arithmetic, no zone involved). */
export function addDays(d: LocalDate, days: number): LocalDate {
  return dateOf(Date.UTC(d.year, d.month - 1, d.day) + days * DAY_MS);
}

function dateOf(wallMs: number): LocalDate {
  const w = new Date(wallMs);
  return { year: w.getUTCFullYear(), month: w.getUTCMonth() + 1, day: w.getUTCDate(), weekday: w.getUTCDay() };
}

/**
 * The instant local date `d` at `minutes` after midnight names in `z` (see
 * the table above for skipped and repeated times). Assumes at most one
 * offset change within a day of it, as in every real zone.
 */
export function instantOf(z: Zone, d: LocalDate, minutes: number): number {
  const wall = Date.UTC(d.year, d.month - 1, d.day, 0, minutes);
  const before = z.offsetAt(wall - DAY_MS);
  const after = z.offsetAt(wall + DAY_MS);
  // Every instant whose wall clock reads `wall`, earliest first.
  const found = [...new Set([before, z.offsetAt(wall), after])]
    .map((o) => wall - o)
    .filter((t) => t + z.offsetAt(t) === wall)
    .sort((a, b) => a - b);
  if (found[0] !== undefined) return found[0];
  // Skipped: the clocks jumped from `before` to `after` over it. The first
  // valid instant after it is the jump itself, in (wall - after, wall - before].
  let lo = wall - after;
  let hi = wall - before;
  while (hi - lo > 1000) {
    const mid = lo + Math.max(1000, Math.floor((hi - lo) / 2000) * 1000);
    if (z.offsetAt(mid) === after) hi = mid;
    else lo = mid;
  }
  return hi;
}
