import { describe, expect, it } from 'vitest';
import { drainBody, renderDrains } from '../../../src/cli/drain.js';
import { agentUrl } from '../../../src/cli/http.js';
import type { DrainEntry } from '../../../src/drain/types.js';

const IP = '198.18.111.5';
const BY = 'alice@ops';

describe('drainBody: the flags of `goavail drain`', () => {
  it.each([
    ['just the IP', { ip: IP }, { ip: IP, by: BY }],
    ['--for 30m', { ip: IP, for: '30m' }, { ip: IP, by: BY, for_ms: 1_800_000 }],
    ['--for 1h30m --reason', { ip: IP, for: '1h30m', reason: 'kernel update' }, { ip: IP, by: BY, for_ms: 5_400_000, reason: 'kernel update' }],
    ['--force', { ip: IP, force: true }, { ip: IP, by: BY, force: true }],
    ['no --force', { ip: IP, force: false }, { ip: IP, by: BY }],
    ['IPv6, canonicalised', { ip: '2001:DB8:0:0::5' }, { ip: '2001:db8::5', by: BY }],
    ['an empty reason', { ip: IP, reason: '' }, { ip: IP, by: BY, reason: '' }],
  ])('%s', (_what, flags, body) => {
    expect(drainBody(flags, BY)).toEqual(body);
  });

  it.each([
    ['a name, not an IP', { ip: 'www.example.com' }, '"www.example.com" is not an IPv4 or IPv6 address'],
    ['a partial IP', { ip: '198.18.111' }, 'is not an IPv4 or IPv6 address'],
    ['the unspecified address', { ip: '0.0.0.0' }, 'unspecified address'],
    ['--for without a unit', { ip: IP, for: '30' }, '--for: expected a duration like 90s'],
    ['--for zero', { ip: IP, for: '0m' }, '--for: "0m" must be longer than zero'],
    ['--for too long', { ip: IP, for: '400d' }, '--for: "400d" is longer than the 366 days'],
    ['--reason too long', { ip: IP, reason: 'r'.repeat(201) }, '--reason: at most 200 characters, got 201'],
    ['--reason with a line break', { ip: IP, reason: 'a\nb' }, '--reason: must not contain control characters'],
    ['--reason with an escape', { ip: IP, reason: 'a\u001b[2Jb' }, '--reason: must not contain control characters'],
  ])('%s → exit 2 with the reason', (_what, flags, message) => {
    const r = drainBody(flags, BY);
    expect(r).toEqual({ error: expect.stringContaining(message) as unknown, code: 2 });
  });
});

describe('agentUrl', () => {
  it.each([
    ['127.0.0.1:9470', '/drain', 'http://127.0.0.1:9470/drain'],
    ['0.0.0.0:9470', '/drains', 'http://127.0.0.1:9470/drains'],
    ['[::]:9470', '/drain', 'http://[::1]:9470/drain'],
    ['[::1]:9471', '/undrain', 'http://[::1]:9471/undrain'],
  ])('%s %s → %s', (addr, path, url) => {
    expect(String(agentUrl(addr, path))).toBe(url);
  });

  it.each(['127.0.0.1', 'http://127.0.0.1:9470', '127.0.0.1:0', ''])('%j is refused', (addr) => {
    expect(typeof agentUrl(addr, '/drain')).toBe('string');
  });
});

describe('renderDrains', () => {
  const e = (over: Partial<DrainEntry>): DrainEntry => ({
    ip: IP,
    drained: true,
    at: Date.UTC(2026, 11, 2, 10, 0, 0),
    origin: 'peer-a',
    until: Date.UTC(2026, 11, 2, 12, 0, 0),
    by: BY,
    reason: 'kernel update',
    source: 'operator',
    ...over,
  });

  it('one row per entry under a header, columns aligned', () => {
    const text = renderDrains([e({}), e({ ip: '198.18.111.6', drained: false, until: undefined, reason: '', by: 'bob@ops', source: 'maintenance' })]);
    expect(text).toBe(
      [
        'IP            STATE      BY         SINCE                 UNTIL                 REASON         SOURCE',
        '198.18.111.5  drained    alice@ops  2026-12-02T10:00:00Z  2026-12-02T12:00:00Z  kernel update  operator',
        '198.18.111.6  undrained  bob@ops    2026-12-02T10:00:00Z  -                     -              maintenance',
        '',
      ].join('\n'),
    );
  });

  it('an open-ended drain reads "undrained" under UNTIL', () => {
    expect(renderDrains([e({ until: undefined })]).split('\n')[1]).toContain('  undrained  kernel update');
  });

  it('strips escape sequences the agent sent', () => {
    expect(renderDrains([e({ reason: 'a\u001b]0;pwned\u0007b' })])).toContain('  ab  ');
  });

  it('no entries', () => {
    expect(renderDrains([])).toBe('no drains\n');
  });
});
