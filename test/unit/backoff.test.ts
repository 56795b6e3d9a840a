import { describe, expect, it } from 'vitest';
import { backoffMs, parseRetryAfter, parseRetryAfterMs } from '../../src/backoff.js';

const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);

describe('parseRetryAfter', () => {
  const cases: [string, string | null | undefined, number | undefined][] = [
    ['absent', undefined, undefined],
    ['null (Headers.get of a missing header)', null, undefined],
    ['one second', '1', 1000],
    ['whitespace around the number', ' 120 ', 120_000],
    ['zero means now', '0', 0],
    ['a decimal is read, not rejected', '1.5', 1500],
    ['a decimal rounds up to a whole ms', '0.0015', 2],
    ['an HTTP date ahead', 'Wed, 01 May 2024 12:00:30 GMT', 30_000],
    ['an HTTP date in the past gives 0', 'Wed, 01 May 2024 11:00:00 GMT', 0],
    ['negative: unreadable (and not the year -3)', '-3', undefined],
    ['a bare dot: unreadable', '.5', undefined],
    ['words that are no date', 'soon', undefined],
    ['empty', '', undefined],
  ];
  for (const [name, header, want] of cases) {
    it(`${name}: ${JSON.stringify(header)} → ${String(want)}`, () => {
      expect(parseRetryAfter(header, NOW)).toBe(want);
    });
  }
});

describe('parseRetryAfterMs', () => {
  const cases: [string | null | undefined, number | undefined][] = [
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
    ['250', 250],
    [' 0 ', 0],
    ['1.5', 2],
    ['-1', undefined],
    ['soon', undefined],
  ];
  for (const [header, want] of cases) {
    it(`${JSON.stringify(header)} → ${String(want)}`, () => {
      expect(parseRetryAfterMs(header)).toBe(want);
    });
  }
});

describe('backoffMs', () => {
  const opts = { baseDelayMs: 1000, maxDelayMs: 8000, maxRetryAfterMs: 5000 };
  const cases: [string, number, number | undefined, number, number][] = [
    // name, attempt, retryAfterMs, random, want
    ['1st failure, least jitter: half the ceiling', 1, undefined, 0, 500],
    ['1st failure, most jitter: just under the ceiling', 1, undefined, 0.999999, 999],
    ['2nd failure doubles the ceiling', 2, undefined, 0, 1000],
    ['3rd failure, mid jitter', 3, undefined, 0.5, 3000],
    ['attempt 0 is treated as the first', 0, undefined, 0, 500],
    ['capped by maxDelayMs', 10, undefined, 0, 4000],
    ['capped by maxDelayMs, most jitter', 10, undefined, 0.999999, 7999],
    ['Retry-After wins over the backoff', 1, 2000, 0.9, 2000],
    ['Retry-After capped by maxRetryAfterMs', 1, 3_600_000, 0.9, 5000],
    ['Retry-After zero means now', 3, 0, 0.9, 0],
    ['Retry-After fraction rounds up', 1, 1.5, 0.9, 2],
    ['negative Retry-After ignored: backoff', 2, -1, 0, 1000],
    ['NaN Retry-After ignored: backoff', 2, Number.NaN, 0, 1000],
  ];
  for (const [name, attempt, retryAfter, rnd, want] of cases) {
    it(name, () => {
      expect(backoffMs(attempt, retryAfter, opts, () => rnd)).toBe(want);
    });
  }
});
