import { describe, expect, it } from 'vitest';
import { DrainKeeper, MAX_DRAIN_MS } from '../../../src/drain/keeper.js';
import { RETAIN_ENDED_MS } from '../../../src/drain/state.js';
import type { DrainEntry } from '../../../src/drain/types.js';
import { silentLogger } from '../../../src/log.js';
import type { Verdict } from '../../../src/model.js';

const A = '198.18.0.1';
const B = '198.18.0.2';
const V6 = '2001:db8::1';
const NOW = 1_760_000_000_000;

function keeper(verdicts: Record<string, Verdict> = { [A]: 'up', [B]: 'up', [V6]: 'up' }, maintenance: DrainEntry[] = []) {
  const published: Array<{ entries: readonly DrainEntry[]; relay: boolean }> = [];
  const changed: DrainEntry[] = [];
  const k = new DrainKeeper(
    {
      selfId: 'agent-a',
      logger: silentLogger(),
      ips: () => [A, B, V6],
      hostnames: () => ['www.example.com', 'api.example.com'],
      verdicts: () => new Map(Object.entries(verdicts)),
      maintenance: () => maintenance,
      publish: (entries, relay) => published.push({ entries, relay }),
      changed: (es) => changed.push(...es),
    },
    NOW,
  );
  return { k, published, changed };
}

describe('DrainKeeper.drain: the answers the control endpoint sends', () => {
  it.each<[string, Parameters<DrainKeeper['drain']>[0], number, RegExp]>([
    ['an IP not configured', { ip: '198.18.9.9' }, 404, /not a configured IP/],
    ['no IP', { ip: '' }, 400, /^ip: required/],
    ['for 0', { ip: A, forMs: 0 }, 400, /^for:/],
    ['for negative', { ip: A, forMs: -5 }, 400, /^for:/],
    ['for fractional', { ip: A, forMs: 1.5 }, 400, /^for:/],
    ['for beyond the bound', { ip: A, forMs: MAX_DRAIN_MS + 1 }, 400, /^for:/],
    ['reason too long', { ip: A, reason: 'x'.repeat(201) }, 400, /^reason:/],
    ['by too long', { ip: A, by: 'x'.repeat(65) }, 400, /^by:/],
    ['by with a control character', { ip: A, by: 'a\u0007' }, 400, /^by:/],
  ])('%s → %s', (_name, req, status, error) => {
    const { k, published } = keeper();
    const r = k.drain(req, NOW);
    expect(r).toMatchObject({ ok: false, status });
    expect(!r.ok && r.error).toMatch(error);
    expect(published).toEqual([]);
  });

  it.each<[string, unknown, RegExp]>([
    ['ip a number', { ip: 7 }, /^ip: required/],
    ['for a string', { ip: A, forMs: '10m' }, /^for:/],
    ['reason an object', { ip: A, reason: { x: 1 } }, /^reason:/],
    ['by a number', { ip: A, by: 5 }, /^by:/],
  ])('a request of wrong types (%s) is a 400, never a throw', (_name, req, error) => {
    const { k } = keeper();
    const r = k.drain(req as Parameters<DrainKeeper['drain']>[0], NOW);
    expect(r).toMatchObject({ ok: false, status: 400 });
    expect(!r.ok && r.error).toMatch(error);
  });

  it('a drain: origin is this agent, until = at + for, published at once (not as a relay), listed', () => {
    const { k, published, changed } = keeper();
    const r = k.drain({ ip: A, forMs: 60_000, by: 'alice@host', reason: 'kernel' }, NOW);
    const want: DrainEntry = { ip: A, drained: true, at: NOW, origin: 'agent-a', until: NOW + 60_000, by: 'alice@host', reason: 'kernel', source: 'operator' };
    expect(r).toEqual({ ok: true, entry: want });
    expect(published).toEqual([{ entries: [want], relay: false }]);
    expect(changed).toEqual([want]);
    expect(k.list(NOW)).toEqual([want]);
    expect(k.active(NOW).has(A)).toBe(true);
    expect(k.active(NOW + 60_000).has(A)).toBe(false);
    expect(k.nextExpiry(NOW)).toBe(NOW + 60_000);
  });

  it('the IP is normalised (2001:DB8::1 is 2001:db8::1)', () => {
    const { k } = keeper();
    expect(k.drain({ ip: '2001:DB8::1', force: true }, NOW)).toMatchObject({ ok: true, entry: { ip: V6 } });
  });

  it.each<[string, Record<string, Verdict>, string, boolean]>([
    // name, verdicts, ip, refused
    ['another IPv4 is up', { [A]: 'up', [B]: 'up' }, A, false],
    ['the only other IPv4 is down', { [A]: 'up', [B]: 'down' }, A, true],
    ['the only other IPv4 is unknown (not counted as serving)', { [A]: 'up', [B]: 'unknown' }, A, true],
    ['the IP itself is down: draining takes nothing out', { [A]: 'down', [B]: 'down' }, A, false],
    ['IPv6 is its own family: the only AAAA', { [A]: 'up', [B]: 'up', [V6]: 'up' }, V6, true],
  ])('keep-last: %s → refused %s', (_name, verdicts, ip, refused) => {
    const { k } = keeper(verdicts);
    const r = k.drain({ ip }, NOW);
    if (!refused) return expect(r.ok).toBe(true);
    expect(r).toMatchObject({ ok: false, status: 409 });
    expect(!r.ok && r.error).toMatch(/last up (A|AAAA) record of www\.example\.com, api\.example\.com.*--force/);
  });

  it('keep-last counts a drained IP as not serving; force drains anyway and says the record stays', () => {
    const { k } = keeper();
    expect(k.drain({ ip: A }, NOW).ok).toBe(true);
    expect(k.drain({ ip: B }, NOW)).toMatchObject({ ok: false, status: 409 });
    const forced = k.drain({ ip: B, force: true }, NOW);
    expect(forced).toMatchObject({ ok: true, entry: { ip: B } });
    expect(forced.ok && forced.note).toMatch(/keep-last keeps its record/);
  });

  it('a maintenance drain counts as drained for keep-last', () => {
    const m: DrainEntry = { ip: B, drained: true, at: NOW - 1, origin: 'maintenance', until: NOW + 1_000, by: '', reason: 'window', source: 'maintenance' };
    const { k } = keeper(undefined, [m]);
    expect(k.drain({ ip: A }, NOW)).toMatchObject({ ok: false, status: 409 });
    expect(k.active(NOW).get(B)).toEqual(m);
    expect(k.list(NOW).map((e) => e.ip)).toEqual([B]);
    expect(k.undrain({ ip: B }, NOW)).toMatchObject({ ok: false, status: 409, error: expect.stringMatching(/maintenance window/) });
  });
});

describe('DrainKeeper.entryFor: what orders the writer', () => {
  it('a maintenance window that closed orders the re-add (since its end), until an operator entry ends later', () => {
    const win: DrainEntry = { ip: B, drained: true, at: NOW, origin: 'maintenance', until: NOW + 1_000, by: '', reason: 'w', source: 'maintenance' };
    const windows: DrainEntry[] = [win];
    const { k } = keeper(undefined, windows);
    expect(k.entryFor(B, NOW + 10)).toBe(win);
    windows.length = 0; // the window closed: the function no longer returns it
    expect(k.entryFor(B, NOW + 1_500)).toBe(win);
    expect(k.entryFor(B, NOW + 1_000 + RETAIN_ENDED_MS)).toBeUndefined();
  });

  it('a drain in force wins; after it, the entry that ended last', () => {
    const { k } = keeper();
    const r = k.drain({ ip: A, forMs: 1_000 }, NOW);
    expect(k.entryFor(A, NOW + 1)).toEqual(r.ok && r.entry);
    expect(k.entryFor(A, NOW + 2_000)).toMatchObject({ ip: A, until: NOW + 1_000 });
    expect(k.entryFor(B, NOW)).toBeUndefined();
  });
});

describe('DrainKeeper.undrain', () => {
  it('a tombstone kept until the drain would have ended; the IP is not drained any more', () => {
    const { k, published } = keeper();
    k.drain({ ip: A, forMs: 60_000 }, NOW);
    const r = k.undrain({ ip: A, by: 'bob' }, NOW + 10);
    expect(r).toEqual({
      ok: true,
      entry: { ip: A, drained: false, at: NOW + 10, origin: 'agent-a', until: NOW + 60_000, by: 'bob', reason: '', source: 'operator' },
    });
    expect(published.at(-1)?.relay).toBe(false);
    expect(k.active(NOW + 10).has(A)).toBe(false);
    expect(k.list(NOW + 10)).toHaveLength(1);
    expect(k.list(NOW + 60_000)).toHaveLength(0);
  });

  it('orders after the drain even when the clock reads earlier (a peer clock ahead)', () => {
    const { k } = keeper();
    k.receive([{ ip: A, drained: true, at: NOW + 5_000, origin: 'agent-b', until: undefined, by: '', reason: '', source: 'operator' }], NOW);
    const r = k.undrain({ ip: A }, NOW);
    expect(r.ok && r.entry.at).toBe(NOW + 5_001);
    expect(k.active(NOW).has(A)).toBe(false);
  });

  it.each<[string, string, number]>([
    ['not drained', A, 409],
    ['not configured', '198.18.9.9', 404],
  ])('%s → %s', (_name, ip, status) => {
    const { k } = keeper();
    expect(k.undrain({ ip }, NOW)).toMatchObject({ ok: false, status });
  });
});

describe('DrainKeeper.receive and announce', () => {
  const peer = (over: Partial<DrainEntry> = {}): DrainEntry => ({
    ip: A,
    drained: true,
    at: NOW,
    origin: 'agent-b',
    until: undefined,
    by: 'x',
    reason: '',
    source: 'operator',
    ...over,
  });

  it('a newer entry from a peer is taken and reported; an older or equal one changes nothing', () => {
    const { k, changed } = keeper();
    k.receive([peer()], NOW);
    k.receive([peer()], NOW);
    k.receive([peer({ at: NOW - 1, origin: 'agent-z' })], NOW);
    expect(changed).toEqual([peer()]);
  });

  it('announce repeats every entry, other origins included, as a relay', () => {
    const { k, published } = keeper();
    k.receive([peer()], NOW);
    k.drain({ ip: B, force: true }, NOW);
    published.length = 0;
    k.announce(NOW);
    expect(published).toEqual([{ entries: [peer(), expect.objectContaining({ ip: B, origin: 'agent-a' })], relay: true }]);
  });

  it('announce sends nothing without entries', () => {
    const { k, published } = keeper();
    k.announce(NOW);
    expect(published).toEqual([]);
  });
});
