import { describe, expect, it } from 'vitest';
import { addDays, instantOf, localDateAt, zone } from '../../../src/drain/localtime.js';

const date = (iso: string) => {
  const [y, m, d] = iso.split('-').map(Number) as [number, number, number];
  return { year: y, month: m, day: d, weekday: new Date(Date.UTC(y, m - 1, d)).getUTCDay() };
};
const minutes = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3));

describe('instantOf: a local date and time in a zone', () => {
  it.each([
    ['UTC', '2026-12-05', '02:00', '2026-12-05T02:00:00.000Z'],
    ['Europe/Berlin, winter', '2026-12-05', '02:00', '2026-12-05T01:00:00.000Z'],
    ['Europe/Berlin, summer', '2026-07-04', '02:00', '2026-07-04T00:00:00.000Z'],
    ['Europe/Berlin, skipped 02:30 → the jump (03:00 CEST)', '2026-03-29', '02:30', '2026-03-29T01:00:00.000Z'],
    ['Europe/Berlin, skipped 02:00 exactly → the jump', '2026-03-29', '02:00', '2026-03-29T01:00:00.000Z'],
    ['Europe/Berlin, 03:00 right after the jump', '2026-03-29', '03:00', '2026-03-29T01:00:00.000Z'],
    ['Europe/Berlin, repeated 02:30 → the first (CEST)', '2026-10-25', '02:30', '2026-10-25T00:30:00.000Z'],
    ['America/New_York, skipped 02:30 → 03:00 EDT', '2026-03-08', '02:30', '2026-03-08T07:00:00.000Z'],
    ['America/New_York, repeated 01:30 → the first (EDT)', '2026-11-01', '01:30', '2026-11-01T05:30:00.000Z'],
    ['Asia/Kolkata, +05:30', '2026-12-05', '02:00', '2026-12-04T20:30:00.000Z'],
    ['Australia/Lord_Howe, a 30-minute jump: 02:15 skipped → 02:30 LHDT', '2026-10-04', '02:15', '2026-10-03T15:30:00.000Z'],
    ['Australia/Lord_Howe, repeated 01:45 → the first (LHDT, +11)', '2026-04-05', '01:45', '2026-04-04T14:45:00.000Z'],
  ] as const)('%s', (name, d, at, want) => {
    const z = zone(name.split(',')[0] as string);
    expect(new Date(instantOf(z, date(d), minutes(at))).toISOString()).toBe(want);
  });
});

describe('local dates', () => {
  it("the local date of an instant is the zone's, with its weekday", () => {
    // 2026-12-05T23:30Z is Sunday the 6th in Berlin and still Saturday the 5th in New York
    expect(localDateAt(zone('Europe/Berlin'), Date.parse('2026-12-05T23:30:00Z'))).toEqual({ year: 2026, month: 12, day: 6, weekday: 0 });
    expect(localDateAt(zone('America/New_York'), Date.parse('2026-12-05T23:30:00Z'))).toEqual({ year: 2026, month: 12, day: 5, weekday: 6 });
  });

  it('addDays crosses months and years', () => {
    expect(addDays(date('2026-12-31'), 1)).toEqual({ year: 2027, month: 1, day: 1, weekday: 5 });
    expect(addDays(date('2026-03-01'), -1)).toEqual({ year: 2026, month: 2, day: 28, weekday: 6 });
  });
});
