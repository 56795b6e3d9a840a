import { describe, expect, it } from 'vitest';
import { MAX_DURATION_MS, parseDuration } from '../../../src/config/duration.js';

describe('parseDuration', () => {
  it.each([
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['2d12h', 216_000_000],
    ['1d2h3m4s', 93_784_000],
    [' 45m ', 2_700_000],
    ['10M', 600_000],
    ['366d', MAX_DURATION_MS],
  ])('%j → %d ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    ['', 'got nothing'],
    ['30', 'expected a duration like 90s'],
    ['1.5h', 'expected a duration like 90s'],
    ['-5m', 'expected a duration like 90s'],
    ['5 m', 'expected a duration like 90s'],
    ['h', 'expected a duration like 90s'],
    ['30x', 'unknown unit "x"'],
    ['2w', 'unknown unit "w"'],
    ['5ms', 'unknown unit "ms"'],
    ['30m1h', 'largest first, each once'],
    ['1h1h', 'largest first, each once'],
    ['0s', 'must be longer than zero'],
    ['0h0m', 'must be longer than zero'],
    ['367d', 'longer than the 366 days'],
    ['99999999999999999999d', 'longer than the 366 days'],
  ])('%j is refused: %s', (text, fragment) => {
    const r = parseDuration(text);
    expect(typeof r).toBe('string');
    expect(r).toContain(fragment);
  });
});
