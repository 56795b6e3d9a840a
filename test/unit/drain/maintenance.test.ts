import { readFile } from 'node:fs/promises';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import type { MaintenanceWindow, Weekday } from '../../../src/config/schema.js';
import { validate } from '../../../src/config/validate.js';
import { currentOrNextOpening, maintenanceDrains, maintenanceSummary, nextMaintenanceEdge } from '../../../src/drain/maintenance.js';
import type { DrainEntry } from '../../../src/drain/types.js';

const A = '198.18.0.1';
const B = '198.18.0.2';
const H = 3600_000;
const t = (iso: string): number => {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new Error(iso);
  return ms;
};

const oneOff = (ips: string[], start: string, durationMs: number, reason?: string): MaintenanceWindow => ({
  ips,
  start: t(start),
  durationMs,
  reason,
  weekly: undefined,
});
const weekly = (ips: string[], weekdays: Weekday[], at: string, timezone: string, durationMs: number, start?: string): MaintenanceWindow => ({
  ips,
  start: start === undefined ? undefined : t(start),
  durationMs,
  reason: undefined,
  weekly: { weekdays, atMinutes: Number(at.slice(0, 2)) * 60 + Number(at.slice(3)), timezone },
});
const drain = (ip: string, at: string, until: string, reason: string): DrainEntry => ({
  ip,
  drained: true,
  at: t(at),
  origin: 'config',
  until: t(until),
  by: 'config',
  reason,
  source: 'maintenance',
});

// 2026-12-05 is a Saturday.
const KERNEL = oneOff([A], '2026-12-05T01:00:00Z', 2 * H, 'kernel upgrade');

describe('maintenanceDrains: one-off windows', () => {
  it.each([
    ['before it opens', '2026-12-05T00:59:59.999Z', []],
    ['the instant it opens', '2026-12-05T01:00:00Z', [drain(A, '2026-12-05T01:00:00Z', '2026-12-05T03:00:00Z', 'kernel upgrade')]],
    ['inside', '2026-12-05T02:00:00Z', [drain(A, '2026-12-05T01:00:00Z', '2026-12-05T03:00:00Z', 'kernel upgrade')]],
    ['the instant it closes (the end is not in it)', '2026-12-05T03:00:00Z', []],
    ['after', '2026-12-06T00:00:00Z', []],
  ] as const)('%s', (_name, now, want) => {
    expect(maintenanceDrains([KERNEL], t(now))).toEqual(want);
  });

  it('an agent started inside a window drains at once, with at = the window start (not the start-up time)', () => {
    const startup = t('2026-12-05T02:17:00Z');
    expect(maintenanceDrains([KERNEL], startup)).toEqual([drain(A, '2026-12-05T01:00:00Z', '2026-12-05T03:00:00Z', 'kernel upgrade')]);
    expect(nextMaintenanceEdge([KERNEL], startup)).toBe(t('2026-12-05T03:00:00Z'));
  });

  it('one entry per IP, sorted by IP; no reason: "maintenance window <n>" counting from 1', () => {
    const w = oneOff([B, A], '2026-12-05T01:00:00Z', H);
    expect(maintenanceDrains([KERNEL, w], t('2026-12-05T03:30:00Z'))).toEqual([]);
    expect(maintenanceDrains([oneOff([B], '2026-01-01T00:00:00Z', H), w], t('2026-12-05T01:30:00Z'))).toEqual([
      drain(A, '2026-12-05T01:00:00Z', '2026-12-05T02:00:00Z', 'maintenance window 2'),
      drain(B, '2026-12-05T01:00:00Z', '2026-12-05T02:00:00Z', 'maintenance window 2'),
    ]);
  });
});

describe('maintenanceDrains: overlapping windows', () => {
  const later = oneOff([A, B], '2026-12-05T02:00:00Z', 3 * H); // 02:00–05:00, no reason
  it.each([
    [
      'both open: one drain per IP, the latest end; the reason of the window that opened first',
      '2026-12-05T02:30:00Z',
      [
        drain(A, '2026-12-05T01:00:00Z', '2026-12-05T05:00:00Z', 'kernel upgrade'),
        drain(B, '2026-12-05T02:00:00Z', '2026-12-05T05:00:00Z', 'maintenance window 2'),
      ],
    ],
    [
      "the first one over: still one drain from 01:00 (no gap), the open window's reason",
      '2026-12-05T04:00:00Z',
      [
        drain(A, '2026-12-05T01:00:00Z', '2026-12-05T05:00:00Z', 'maintenance window 2'),
        drain(B, '2026-12-05T02:00:00Z', '2026-12-05T05:00:00Z', 'maintenance window 2'),
      ],
    ],
    [
      'before the second opens, A already drains until its end (they overlap)',
      '2026-12-05T01:30:00Z',
      [drain(A, '2026-12-05T01:00:00Z', '2026-12-05T05:00:00Z', 'kernel upgrade')],
    ],
  ] as const)('%s', (_name, now, want) => {
    expect(maintenanceDrains([KERNEL, later], t(now))).toEqual(want);
  });

  it('windows that touch make one drain; a gap makes two', () => {
    const touching = oneOff([A], '2026-12-05T03:00:00Z', H, 'second');
    expect(maintenanceDrains([KERNEL, touching], t('2026-12-05T01:30:00Z'))).toEqual([
      drain(A, '2026-12-05T01:00:00Z', '2026-12-05T04:00:00Z', 'kernel upgrade'),
    ]);
    const gap = oneOff([A], '2026-12-05T03:00:01Z', H, 'second');
    expect(maintenanceDrains([KERNEL, gap], t('2026-12-05T01:30:00Z'))).toEqual([drain(A, '2026-12-05T01:00:00Z', '2026-12-05T03:00:00Z', 'kernel upgrade')]);
    expect(nextMaintenanceEdge([KERNEL, gap], t('2026-12-05T01:30:00Z'))).toBe(t('2026-12-05T03:00:00Z'));
    expect(nextMaintenanceEdge([KERNEL, gap], t('2026-12-05T03:00:00Z'))).toBe(t('2026-12-05T03:00:01Z'));
  });
});

describe('maintenanceDrains: weekly windows', () => {
  // Saturday 23:00 UTC for 3 h: across midnight into Sunday.
  const saturdayNight = weekly([A], ['sat'], '23:00', 'UTC', 3 * H);
  // Sunday 22:00 UTC for 4 h: across the week boundary into Monday.
  const sundayNight = weekly([B], ['sun'], '22:00', 'UTC', 4 * H);
  it.each([
    [
      'across midnight: Saturday 23:30',
      saturdayNight,
      '2026-12-05T23:30:00Z',
      [drain(A, '2026-12-05T23:00:00Z', '2026-12-06T02:00:00Z', 'maintenance window 1')],
    ],
    [
      'across midnight: Sunday 01:59',
      saturdayNight,
      '2026-12-06T01:59:00Z',
      [drain(A, '2026-12-05T23:00:00Z', '2026-12-06T02:00:00Z', 'maintenance window 1')],
    ],
    ['across midnight: Sunday 02:00, closed', saturdayNight, '2026-12-06T02:00:00Z', []],
    ['across midnight: a Friday, closed', saturdayNight, '2026-12-04T23:30:00Z', []],
    [
      'across midnight: the next Saturday',
      saturdayNight,
      '2026-12-12T23:00:00Z',
      [drain(A, '2026-12-12T23:00:00Z', '2026-12-13T02:00:00Z', 'maintenance window 1')],
    ],
    [
      'across the week boundary: Monday 01:00',
      sundayNight,
      '2026-12-07T01:00:00Z',
      [drain(B, '2026-12-06T22:00:00Z', '2026-12-07T02:00:00Z', 'maintenance window 1')],
    ],
    ['across the week boundary: Monday 02:00, closed', sundayNight, '2026-12-07T02:00:00Z', []],
  ] as const)('%s', (_name, w, now, want) => {
    expect(maintenanceDrains([w], t(now))).toEqual(want);
  });

  it.each([
    ['midweek: the next Saturday opening', saturdayNight, '2026-12-02T10:00:00Z', '2026-12-05T23:00:00Z'],
    ['inside an opening: its close', saturdayNight, '2026-12-06T00:00:00Z', '2026-12-06T02:00:00Z'],
    ['just after a close: a week later', saturdayNight, '2026-12-06T02:00:00Z', '2026-12-12T23:00:00Z'],
    ['across the week boundary: Sunday 21:00 → 22:00', sundayNight, '2026-12-06T21:00:00Z', '2026-12-06T22:00:00Z'],
    ['across the week boundary: Monday 01:00 → 02:00', sundayNight, '2026-12-07T01:00:00Z', '2026-12-07T02:00:00Z'],
    ['several weekdays: the nearest', weekly([A], ['mon', 'thu'], '02:00', 'UTC', H), '2026-12-02T10:00:00Z', '2026-12-03T02:00:00Z'],
  ] as const)('next edge, %s', (_name, w, now, want) => {
    expect(nextMaintenanceEdge([w], t(now))).toBe(t(want));
  });

  it('with start: openings before it do not count, and the edge is found even weeks ahead', () => {
    const w = weekly([A], ['sat'], '02:00', 'UTC', H, '2026-12-20T00:00:00Z');
    expect(maintenanceDrains([w], t('2026-12-05T02:30:00Z'))).toEqual([]);
    expect(maintenanceDrains([w], t('2026-12-26T02:30:00Z'))).toEqual([drain(A, '2026-12-26T02:00:00Z', '2026-12-26T03:00:00Z', 'maintenance window 1')]);
    expect(nextMaintenanceEdge([w], t('2026-12-02T00:00:00Z'))).toBe(t('2026-12-26T02:00:00Z'));
    expect(currentOrNextOpening(w, t('2026-12-02T00:00:00Z'))).toEqual({ start: t('2026-12-26T02:00:00Z'), end: t('2026-12-26T03:00:00Z') });
  });

  it('nothing left: no edge, no opening', () => {
    expect(nextMaintenanceEdge([], t('2026-12-05T00:00:00Z'))).toBeUndefined();
    expect(nextMaintenanceEdge([KERNEL], t('2026-12-05T03:00:00Z'))).toBeUndefined();
    expect(currentOrNextOpening(KERNEL, t('2026-12-05T03:00:00Z'))).toBeUndefined();
    expect(currentOrNextOpening(KERNEL, t('2026-12-05T02:00:00Z'))).toEqual({ start: t('2026-12-05T01:00:00Z'), end: t('2026-12-05T03:00:00Z') });
  });
});

describe("maintenanceDrains: DST (local time in the window's timezone)", () => {
  // Sundays, 1 h. Europe: 2026-03-29 02:00 CET → 03:00 CEST; 2026-10-25 03:00 CEST → 02:00 CET.
  // US: 2026-03-08 02:00 EST → 03:00 EDT; 2026-11-01 02:00 EDT → 01:00 EST.
  it.each([
    ['Berlin, the Sunday before spring-forward: 02:30 CET', 'Europe/Berlin', '02:30', '2026-03-22T00:00:00Z', '2026-03-22T01:30:00Z'],
    ['Berlin, spring-forward: 02:30 is skipped, opens at 03:00 CEST', 'Europe/Berlin', '02:30', '2026-03-29T00:00:00Z', '2026-03-29T01:00:00Z'],
    ['Berlin, the Sunday after: 02:30 CEST', 'Europe/Berlin', '02:30', '2026-04-05T00:00:00Z', '2026-04-05T00:30:00Z'],
    ['Berlin, fall-back: 02:30 happens twice, opens at the first (CEST)', 'Europe/Berlin', '02:30', '2026-10-25T00:00:00Z', '2026-10-25T00:30:00Z'],
    ['Berlin, the Sunday after fall-back: 02:30 CET', 'Europe/Berlin', '02:30', '2026-10-26T00:00:00Z', '2026-11-01T01:30:00Z'],
    ['New York, spring-forward: 02:30 is skipped, opens at 03:00 EDT', 'America/New_York', '02:30', '2026-03-08T00:00:00Z', '2026-03-08T07:00:00Z'],
    ['New York, the Sunday before: 02:30 EST', 'America/New_York', '02:30', '2026-03-01T00:00:00Z', '2026-03-01T07:30:00Z'],
    ['New York, fall-back: 01:30 happens twice, opens at the first (EDT)', 'America/New_York', '01:30', '2026-11-01T00:00:00Z', '2026-11-01T05:30:00Z'],
    ['New York, the Sunday after fall-back: 01:30 EST', 'America/New_York', '01:30', '2026-11-02T00:00:00Z', '2026-11-08T06:30:00Z'],
    ['UTC has no DST: 02:30 UTC on the spring-forward Sunday', 'UTC', '02:30', '2026-03-29T00:00:00Z', '2026-03-29T02:30:00Z'],
  ] as const)('%s', (_name, tz, at, now, opens) => {
    const w = weekly([A], ['sun'], at, tz, H);
    expect(nextMaintenanceEdge([w], t(now))).toBe(t(opens));
    // open from that instant, for one hour of elapsed time
    expect(maintenanceDrains([w], t(opens) - 1)).toEqual([]);
    expect(maintenanceDrains([w], t(opens))).toEqual([drain(A, opens, new Date(t(opens) + H).toISOString(), 'maintenance window 1')]);
    expect(maintenanceDrains([w], t(opens) + H)).toEqual([]);
  });

  it('a window across the change lasts its duration of elapsed time: Berlin Sunday 01:30 for 2 h on spring-forward ends 04:30 CEST', () => {
    const w = weekly([A], ['sun'], '01:30', 'Europe/Berlin', 2 * H);
    expect(maintenanceDrains([w], t('2026-03-29T01:00:00Z'))).toEqual([drain(A, '2026-03-29T00:30:00Z', '2026-03-29T02:30:00Z', 'maintenance window 1')]);
  });
});

describe('from the config file', () => {
  const file = (windows: string): MaintenanceWindow[] => {
    const r = validate(
      parse(`[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["${A}", "${B}"]\n${windows}`),
      '/etc/goavail/goavail.toml',
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    return [...r.config.maintenance];
  };

  it('the examples of the shipped goavail.toml (uncommented) and of the README load and mean what they say', async () => {
    const shipped = await readFile(new URL('../../../goavail.toml', import.meta.url), 'utf8');
    const block = shipped.slice(shipped.indexOf('# [[maintenance]]\n# ips'));
    const uncommented = block.replace(/^# ?/gm, '');
    const r = validate(parse(shipped + '\n' + uncommented), '/etc/goavail/goavail.toml');
    expect(r.ok ? r.config.maintenance.length : r.errors).toBe(2);
    if (!r.ok) return;
    expect(maintenanceDrains(r.config.maintenance, t('2026-12-05T01:30:00Z'))).toEqual([
      drain('127.0.0.2', '2026-12-05T01:00:00Z', '2026-12-05T03:00:00Z', 'kernel upgrade'),
    ]);

    const readme = await readFile(new URL('../../../README.md', import.meta.url), 'utf8');
    const section = readme.slice(readme.indexOf('### Maintenance windows'));
    const toml = section.slice(section.indexOf('```toml') + 7, section.indexOf('```', section.indexOf('```toml') + 7));
    const ips = '[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["203.0.113.7", "203.0.113.8"]\n';
    const fromReadme = validate(parse(ips + toml), '/etc/goavail/goavail.toml');
    expect(fromReadme.ok ? fromReadme.config.maintenance.length : fromReadme.errors).toBe(2);
    if (!fromReadme.ok) return;
    // "2026-12-05 02:00 to 04:00 Berlin time"; "Saturday 02:30 Berlin for 90 minutes"
    expect(currentOrNextOpening(fromReadme.config.maintenance[0]!, t('2026-12-01T00:00:00Z'))).toEqual({
      start: t('2026-12-05T01:00:00Z'),
      end: t('2026-12-05T03:00:00Z'),
    });
    expect(currentOrNextOpening(fromReadme.config.maintenance[1]!, t('2026-12-01T00:00:00Z'))).toEqual({
      start: t('2026-12-05T01:30:00Z'),
      end: t('2026-12-05T03:00:00Z'),
    });
  });

  it('timezone defaults to UTC', () => {
    const windows = file('[[maintenance]]\nips = ["198.18.0.1"]\nweekdays = ["sat"]\nat = "02:00"\nduration = "90m"\n');
    expect(windows[0]?.weekly?.timezone).toBe('UTC');
    expect(maintenanceDrains(windows, t('2026-12-05T02:00:00Z'))).toEqual([drain(A, '2026-12-05T02:00:00Z', '2026-12-05T03:30:00Z', 'maintenance window 1')]);
  });

  it('a TOML offset date-time and a string name the same instant; the reason is kept', () => {
    const windows = file(
      '[[maintenance]]\nips = ["198.18.0.1"]\nstart = 2026-12-05T02:00:00+01:00\nduration = 7200\nreason = "kernel upgrade"\n' +
        '[[maintenance]]\nips = ["198.18.0.2"]\nstart = "2026-12-05T01:00:00Z"\nduration = "2h"\n',
    );
    expect(maintenanceDrains(windows, t('2026-12-05T01:00:00Z'))).toEqual([
      drain(A, '2026-12-05T01:00:00Z', '2026-12-05T03:00:00Z', 'kernel upgrade'),
      drain(B, '2026-12-05T01:00:00Z', '2026-12-05T03:00:00Z', 'maintenance window 2'),
    ]);
  });
});

describe('maintenanceSummary (check-config)', () => {
  it('one line per window: what it drains and when it is open next, in UTC', () => {
    const berlin = weekly([A, B], ['sat', 'sun'], '02:30', 'Europe/Berlin', 90 * 60_000);
    expect(maintenanceSummary([KERNEL, berlin, oneOff([B], '2026-11-01T00:00:00Z', H)], t('2026-12-05T02:00:00Z'))).toEqual([
      'maintenance[0] "kernel upgrade": 198.18.0.1: open now, until 2026-12-05T03:00:00.000Z',
      'maintenance[1] "maintenance window 2": 198.18.0.1, 198.18.0.2: open now, until 2026-12-05T03:00:00.000Z (weekly: sat, sun at 02:30 Europe/Berlin)',
      'maintenance[2] "maintenance window 3": 198.18.0.2: over (it closed at 2026-11-01T01:00:00.000Z)',
    ]);
    // Saturday 02:30 CET is 01:30Z; after it, Sunday's
    expect(maintenanceSummary([berlin], t('2026-12-05T03:00:00Z'))).toEqual([
      'maintenance[0] "maintenance window 1": 198.18.0.1, 198.18.0.2: next open 2026-12-06T01:30:00.000Z until 2026-12-06T03:00:00.000Z (weekly: sat, sun at 02:30 Europe/Berlin)',
    ]);
  });
});
