/**
 * Durations written by a person: `90s`, `30m`, `2h`, `1d`, or a sum of such
 * parts, largest unit first (`1h30m`, `2d12h`). The one parser of duration
 * text (`goavail drain --for`); config keys given as numbers of seconds are
 * read by the field table instead.
 *
 * | text     | ms          | why                                    |
 * |----------|-------------|----------------------------------------|
 * | `90s`    | 90,000      |                                        |
 * | `1h30m`  | 5,400,000   | parts add up                           |
 * | `30`     | error       | a bare number: seconds or minutes?     |
 * | `1.5h`   | error       | whole numbers only (write `1h30m`)     |
 * | `30m1h`  | error       | largest unit first, each unit once     |
 * | `0s`     | error       | must be positive                       |
 * | `400d`   | error       | above MAX_DURATION_MS                  |
 */

const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000, s: 1_000 } as const;
type Unit = keyof typeof UNIT_MS;
const ORDER: readonly Unit[] = ['d', 'h', 'm', 's'];

/** The longest duration accepted: a year. A drain meant to last longer has no end (leave `--for` out). */
export const MAX_DURATION_MS = 366 * UNIT_MS.d;

const EXPECTED = 'a duration like 90s, 30m, 2h, 1d or 1h30m (whole numbers; units d, h, m, s)';

/** The duration in milliseconds, or the reason the text is not one. Pure. */
export function parseDuration(text: string): number | string {
  const t = text.trim();
  if (t === '') return `expected ${EXPECTED}, got nothing`;
  const part = /(\d+)([a-zA-Z]+)/y;
  let total = 0;
  let last = -1;
  let at = 0;
  while (at < t.length) {
    part.lastIndex = at;
    const m = part.exec(t);
    if (m === null) return `expected ${EXPECTED}, got "${text}"`;
    const unit = m[2]!.toLowerCase() as Unit;
    const rank = ORDER.indexOf(unit);
    if (rank < 0) return `unknown unit "${m[2]}" in "${text}": use d, h, m or s`;
    if (rank <= last) return `"${text}": write the units largest first, each once (e.g. 1h30m)`;
    last = rank;
    total += Number(m[1]) * UNIT_MS[unit];
    at = part.lastIndex;
  }
  if (total <= 0) return `"${text}" must be longer than zero`;
  if (total > MAX_DURATION_MS) return `"${text}" is longer than the 366 days a drain may last; leave the duration out for a drain until undrained`;
  return total;
}
