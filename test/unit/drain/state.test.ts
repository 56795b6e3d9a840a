import { describe, expect, it } from 'vitest';
import { active, EMPTY_DRAINS, endedAt, entryProblem, listed, merge, nextExpiry, prune, RETAIN_ENDED_MS, type DrainState } from '../../../src/drain/state.js';
import type { DrainEntry } from '../../../src/drain/types.js';

const A = '198.18.0.1';
const B = '198.18.0.2';
const IPS = new Set([A, B, '2001:db8::1']);

function entry(over: Partial<DrainEntry> = {}): DrainEntry {
  return { ip: A, drained: true, at: 1_000, origin: 'agent-a', until: undefined, by: 'alice', reason: '', source: 'operator', ...over };
}
const drain = (at: number, origin = 'agent-a', until?: number) => entry({ at, origin, until });
const undrain = (at: number, origin = 'agent-a', until?: number) => entry({ at, origin, until, drained: false });
const state = (...es: DrainEntry[]): DrainState => new Map(es.map((e) => [e.ip, e]));

describe('merge: last writer wins per IP by (at, origin)', () => {
  it.each<[string, DrainEntry[], DrainEntry, DrainEntry | undefined]>([
    ['empty takes a drain', [], drain(5), drain(5)],
    ['empty takes a tombstone', [], undrain(5), undrain(5)],
    ['a later drain wins', [drain(5)], drain(6), drain(6)],
    ['an earlier one loses', [drain(6)], drain(5), drain(6)],
    ['same time: the greater origin wins', [drain(5, 'agent-a')], drain(5, 'agent-b'), drain(5, 'agent-b')],
    ['same time: the smaller origin loses', [drain(5, 'agent-b')], drain(5, 'agent-a'), drain(5, 'agent-b')],
    ['same (at, origin): the kept one stays', [drain(5)], entry({ at: 5, reason: 'other' }), drain(5)],
    ['a later tombstone undrains', [drain(5)], undrain(7), undrain(7)],
    ['the old drain again loses to the tombstone', [undrain(7)], drain(5), undrain(7)],
    ['a drain after the undrain wins', [undrain(7)], drain(8, 'agent-c'), drain(8, 'agent-c')],
  ])('%s', (_name, kept, incoming, want) => {
    const r = merge(state(...kept), [incoming], 10, IPS);
    expect(r.state.get(A)).toEqual(want);
    const took = JSON.stringify(want) === JSON.stringify(incoming) && JSON.stringify(kept[0]) !== JSON.stringify(incoming);
    expect(r.changed).toEqual(took ? [incoming] : []);
  });

  it('the result does not depend on arrival order', () => {
    const es = [drain(5, 'agent-b'), undrain(9, 'agent-a'), drain(9, 'agent-c'), drain(7, 'agent-a')];
    const orders = [es, [...es].reverse(), [es[2]!, es[0]!, es[3]!, es[1]!]];
    for (const o of orders) expect(merge(EMPTY_DRAINS, o, 10, IPS).state.get(A)).toEqual(drain(9, 'agent-c'));
  });

  it('an IP that is not configured is ignored', () => {
    const r = merge(EMPTY_DRAINS, [entry({ ip: '198.18.9.9' })], 10, IPS);
    expect(r.state.size).toBe(0);
    expect(r.changed).toEqual([]);
  });

  it('an entry past its keeping (until + RETAIN_ENDED_MS) is refused; one just ended is kept (writer order needs it)', () => {
    expect(merge(EMPTY_DRAINS, [drain(5, 'agent-a', 100)], 100 + RETAIN_ENDED_MS, IPS).state.size).toBe(0);
    expect(merge(EMPTY_DRAINS, [drain(5, 'agent-a', 100)], 100 + RETAIN_ENDED_MS - 1, IPS).state.size).toBe(1);
  });

  it('the input state is never changed', () => {
    const s = state(drain(5));
    merge(s, [drain(6)], 10, IPS);
    expect(s.get(A)).toEqual(drain(5));
  });
});

describe('expiry and tombstones', () => {
  it.each<[string, DrainEntry, number, boolean, number | undefined, boolean]>([
    // name, entry, now, active, endedAt, listed
    ['a drain without until, any time', drain(5), 1e12, true, undefined, true],
    ['a drain before its until', drain(5, 'a', 100), 99, true, undefined, true],
    ['a drain at its until: ended', drain(5, 'a', 100), 100, false, 100, false],
    ['a tombstone of a drain in force: listed, ended at the undrain', undrain(50, 'a', 100), 60, false, 50, true],
    ['a tombstone past the drain’s until: not listed', undrain(50, 'a', 100), 100, false, 50, false],
    ['a tombstone of a drain without until: kept', undrain(50), 1e12, false, 50, true],
  ])('%s', (_name, e, now, isActive, ended, isListed) => {
    const s = state(e);
    expect(active(s, now).has(A)).toBe(isActive);
    expect(endedAt(e, now)).toBe(ended);
    expect(listed(s, now).length).toBe(isListed ? 1 : 0);
  });

  it('nextExpiry: the soonest until of a drain in force; none for tombstones and open drains', () => {
    const s = state(drain(5, 'a', 300), entry({ ip: B, at: 5, until: 200 }), entry({ ip: '2001:db8::1', drained: false, at: 5, until: 100 }));
    expect(nextExpiry(s, 10)).toBe(200);
    expect(nextExpiry(s, 200)).toBe(300);
    expect(nextExpiry(s, 300)).toBeUndefined();
    expect(nextExpiry(state(drain(5)), 10)).toBeUndefined();
  });

  it('prune drops unconfigured IPs and entries past their keeping, and keeps the rest (same object when nothing goes)', () => {
    const s = state(drain(5, 'a', 100), entry({ ip: B }));
    expect(prune(s, 50, IPS)).toBe(s);
    expect([...prune(s, 100 + RETAIN_ENDED_MS, IPS).keys()]).toEqual([B]);
    expect([...prune(s, 50, new Set([A])).keys()]).toEqual([A]);
  });

  it('listed sorts by IP', () => {
    const s = state(entry({ ip: B }), entry({ ip: '2001:db8::1' }), entry({ ip: A }));
    expect(listed(s, 10).map((e) => e.ip)).toEqual([A, B, '2001:db8::1']);
  });
});

describe('entryProblem: every field of an entry read from outside', () => {
  it.each<[string, unknown, RegExp | undefined]>([
    ['a good entry', entry(), undefined],
    ['a good entry with until', entry({ until: 2_000 }), undefined],
    ['not an object', 'x', /not an object/],
    ['null', null, /not an object/],
    ['ip not an address', entry({ ip: 'www' }), /^ip:/],
    ['ip not canonical', entry({ ip: '2001:DB8::1' }), /^ip:/],
    ['drained a string', { ...entry(), drained: 'yes' }, /^drained:/],
    ['at negative', entry({ at: -1 }), /^at:/],
    ['at fractional', entry({ at: 1.5 }), /^at:/],
    ['at a string', { ...entry(), at: '1000' }, /^at:/],
    ['until before at', entry({ until: 999 }), /^until:/],
    ['until equal to at', entry({ until: 1_000 }), /^until:/],
    ['origin empty', entry({ origin: '' }), /^origin:/],
    ['origin too long', entry({ origin: 'x'.repeat(129) }), /^origin:/],
    ['by 65 characters', entry({ by: 'x'.repeat(65) }), /^by:/],
    ['by 64 emoji (64 characters)', entry({ by: '😀'.repeat(64) }), undefined],
    ['by with a newline', entry({ by: 'a\nb' }), /^by:/],
    ['reason 201 characters', entry({ reason: 'x'.repeat(201) }), /^reason:/],
    ['reason with an escape', entry({ reason: 'a\u001b[2Jb' }), /^reason:/],
    ['source unknown', { ...entry(), source: 'cron' }, /^source:/],
  ])('%s', (_name, v, want) => {
    const p = entryProblem(v);
    if (want === undefined) expect(p).toBeUndefined();
    else expect(p).toMatch(want);
  });
});
