import { describe, expect, it } from 'vitest';
import {
  certWarning,
  createBodyMatcher,
  createBoundedReader,
  deadlineMiss,
  formatStatusRange,
  parseStatusRange,
  reasonOfError,
  statusExpected,
} from '../../../src/probe/http-check.js';

describe('parseStatusRange', () => {
  it.each([
    ['200', { min: 200, max: 200 }],
    [' 204 ', { min: 204, max: 204 }],
    ['2xx', { min: 200, max: 299 }],
    ['5XX', { min: 500, max: 599 }],
    ['200-299', { min: 200, max: 299 }],
    ['301 - 302', { min: 301, max: 302 }],
    ['100', { min: 100, max: 100 }],
    ['599', { min: 599, max: 599 }],
  ])('%j → %j', (text, range) => {
    expect(parseStatusRange(text)).toEqual(range);
  });

  it.each([
    ['600', 'not an HTTP status code'],
    ['99', 'not an HTTP status code'],
    ['0', 'not an HTTP status code'],
    ['6xx', 'must be a status code'],
    ['3xx-2xx', 'ends of a range must be status codes'],
    ['299-200', 'reversed'],
    ['200-600', "range's ends must be HTTP status codes"],
    ['', 'must be a status code'],
    ['ok', 'must be a status code'],
    ['2.5', 'must be a status code'],
  ])('%j is refused (%s)', (text, fragment) => {
    const r = parseStatusRange(text);
    expect(typeof r).toBe('string');
    expect(r).toContain(fragment);
  });

  it.each([
    [{ min: 200, max: 200 }, '200'],
    [{ min: 200, max: 299 }, '2xx'],
    [{ min: 200, max: 399 }, '200-399'],
    [{ min: 301, max: 302 }, '301-302'],
  ])('formats %j as %s, which parses back', (range, text) => {
    expect(formatStatusRange(range)).toBe(text);
    expect(parseStatusRange(text)).toEqual(range);
  });
});

describe('statusExpected', () => {
  const ranges = [
    { min: 200, max: 299 },
    { min: 304, max: 304 },
  ];
  it.each([
    [200, true],
    [299, true],
    [300, false],
    [302, false],
    [304, true],
    [503, false],
    [199, false],
  ])('%d → %s', (status, expected) => {
    expect(statusExpected(status, ranges)).toBe(expected);
  });
});

describe('createBodyMatcher: the needle across chunk boundaries', () => {
  const chunks = (text: string, cuts: number[]): Buffer[] => {
    const out: Buffer[] = [];
    let at = 0;
    for (const cut of [...cuts, text.length]) {
      out.push(Buffer.from(text.slice(at, cut)));
      at = cut;
    }
    return out;
  };
  it.each([
    ['in one chunk', 'xx status: ok xx', [], true],
    ['split in two', 'xx status: ok xx', [8], true],
    ['one byte per chunk', 'xx status: ok xx', Array.from({ length: 15 }, (_, i) => i + 1), true],
    ['at the very start', 'status: ok', [3], true],
    ['at the very end', '....status: ok', [12], true],
    ['absent', 'xx status: down xx', [5], false],
    ['case differs', 'xx STATUS: OK xx', [5], false],
    ['only a prefix at the end', 'xx status: o', [4], false],
    ['prefix, then a false restart', 'status: ostatus: ok', [9, 10], true],
  ])('%s', (_name, text, cuts, found) => {
    const m = createBodyMatcher('status: ok');
    let seen = false;
    for (const c of chunks(text, cuts)) seen = m.push(c) || seen;
    expect(seen).toBe(found);
    expect(m.found).toBe(found);
  });

  it('matches multi-byte UTF-8 split inside a character', () => {
    const m = createBodyMatcher('héllo');
    const bytes = Buffer.from('say héllo');
    expect(m.push(bytes.subarray(0, 6))).toBe(false); // cuts é in half
    expect(m.push(bytes.subarray(6))).toBe(true);
  });

  it('keeps at most needle-1 bytes between chunks (memory does not grow with the body)', () => {
    const m = createBodyMatcher('needle');
    for (let i = 0; i < 1000; i++) expect(m.push(Buffer.alloc(4096, 0x61))).toBe(false);
    expect(m.push(Buffer.from('needle'))).toBe(true);
  });

  it('does not keep a reference to the caller’s chunk', () => {
    const m = createBodyMatcher('abcd');
    const chunk = Buffer.from('xxab');
    m.push(chunk);
    chunk.fill(0x7a); // the socket reuses its memory
    expect(m.push(Buffer.from('cd'))).toBe(true);
  });
});

describe('createBoundedReader', () => {
  it.each([
    ['under the limit', 10, [3, 3], [3, 3], [false, false]],
    ['exactly at the limit', 6, [3, 3], [3, 3], [false, true]],
    ['a chunk crosses the limit', 5, [3, 3], [3, 2], [false, true]],
    ['chunks after the limit give nothing', 4, [4, 3, 3], [4, 0, 0], [true, true, true]],
    ['a zero limit', 0, [5], [0], [true]],
  ])('%s', (_name, limit, sizes, parts, fulls) => {
    const r = createBoundedReader(limit);
    const got = sizes.map((n) => r.take(Buffer.alloc(n, 1)));
    expect(got.map((g) => g.part.byteLength)).toEqual(parts);
    expect(got.map((g) => g.full)).toEqual(fulls);
    expect(r.bytes).toBe(parts.reduce((a, b) => a + b, 0));
  });

  it('defaults to 64 KiB', () => {
    const r = createBoundedReader();
    expect(r.take(Buffer.alloc(65_535)).full).toBe(false);
    expect(r.take(Buffer.alloc(10)).part.byteLength).toBe(1);
    expect(r.bytes).toBe(65_536);
  });

  it('refuses a bad limit', () => {
    expect(() => createBoundedReader(-1)).toThrow(RangeError);
    expect(() => createBoundedReader(1.5)).toThrow(RangeError);
  });
});

describe('reasonOfError', () => {
  const e = (code: string) => Object.assign(new Error(code), { code });
  it.each([
    ['ECONNREFUSED', 'refused'],
    ['ETIMEDOUT', 'connect-timeout'],
    ['EHOSTUNREACH', 'unreachable'],
    ['EINVAL', 'unreachable'],
    ['ECONNRESET', 'reset'],
    ['CERT_HAS_EXPIRED', 'tls-expired'],
    ['CERT_NOT_YET_VALID', 'tls-expired'],
    ['ERR_TLS_CERT_ALTNAME_INVALID', 'tls-name-mismatch'],
    ['DEPTH_ZERO_SELF_SIGNED_CERT', 'tls-unknown-ca'],
    ['SELF_SIGNED_CERT_IN_CHAIN', 'tls-unknown-ca'],
    ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'tls-unknown-ca'],
    ['ERR_SSL_WRONG_VERSION_NUMBER', 'tls-error'],
    ['EPROTO', 'tls-error'],
    ['HPE_HEADER_OVERFLOW', 'bad-response'],
    ['HPE_INVALID_CONSTANT', 'bad-response'],
    ['ESOMETHING', 'error'],
  ])('%s → %s', (code, reason) => {
    expect(reasonOfError(e(code))).toBe(reason);
  });
  it('an error without a code is "error"', () => {
    expect(reasonOfError(new Error('x'))).toBe('error');
    expect(reasonOfError('x')).toBe('error');
    expect(reasonOfError(null)).toBe('error');
  });
});

describe('deadlineMiss', () => {
  it.each([
    ['connect', 'connect-timeout', 'no connection within 500 ms'],
    ['tls', 'too-slow', 'no TLS handshake within 500 ms'],
    ['headers', 'too-slow', 'no response headers within 500 ms'],
    ['body', 'too-slow', 'the body did not end within 500 ms'],
  ] as const)('%s → %s', (stage, reason, text) => {
    const m = deadlineMiss(stage, 500);
    expect(m.reason).toBe(reason);
    expect(m.error).toContain(text);
  });
});

describe('certWarning', () => {
  const DAY = 86_400_000;
  const now = 1_000 * DAY;
  it.each([
    ['30 days left', 30 * DAY, 7, false, 30],
    ['7 days + 1 ms', 7 * DAY + 1, 7, false, 7],
    ['exactly 7 days', 7 * DAY, 7, true, 7],
    ['3.5 days', 3.5 * DAY, 7, true, 3],
    ['expired an hour ago', -3_600_000, 7, true, -1],
    ['1 day with cert_min_days = 0', DAY, 0, false, 1],
    ['expired with cert_min_days = 0', -1, 0, true, -1],
  ])('%s', (_name, left, minDays, warning, daysLeft) => {
    expect(certWarning(now + left, now, minDays)).toEqual({ warning, daysLeft });
  });
});
