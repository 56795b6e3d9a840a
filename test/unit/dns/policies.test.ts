import { describe, expect, it } from 'vitest';
import { electWriter, writeDelay, writerGraceMs, type WriterTiming } from '../../../src/dns/policies.js';
import type { Change } from '../../../src/dns/types.js';
import type { WriterStanding } from '../../../src/model.js';

/** Writer election as a plan policy: rank × grace × settle × verdict age. */

const NOW = 1_000_000;
const SETTLE = 80;
const GRACE = 3000;
const t: WriterTiming = { now: NOW, settleMs: SETTLE, graceMs: GRACE };
const at = (ageMs: number | undefined, designated: boolean, rank = 0): WriterStanding => ({
  since: ageMs === undefined ? undefined : NOW - ageMs,
  designated,
  rank,
});

describe('writeDelay', () => {
  const cases: Array<[string, WriterStanding | undefined, { ms: number; writer: boolean }]> = [
    ['single node: now, as the writer', undefined, { ms: 0, writer: true }],
    ['cluster verdict unknown: nothing to wait for', at(undefined, false, 2), { ms: 0, writer: false }],
    ['designated, verdict just turned: the whole settle', at(0, true), { ms: SETTLE, writer: true }],
    ['designated, within the settle: the rest of it', at(30, true), { ms: SETTLE - 30, writer: true }],
    ['designated, settle over: now', at(SETTLE, true), { ms: 0, writer: true }],
    ['designated, long standing: now (rank does not matter)', at(60_000, true, 3), { ms: 0, writer: true }],
    ['rank 0, not designated, just turned: one grace', at(0, false, 0), { ms: GRACE, writer: false }],
    ['rank 0, within the grace: the rest of it', at(1000, false, 0), { ms: GRACE - 1000, writer: false }],
    ['rank 0, grace over: now', at(GRACE, false, 0), { ms: 0, writer: false }],
    ['rank 1: two graces', at(0, false, 1), { ms: 2 * GRACE, writer: false }],
    ['rank 1, past one grace: still waits for the second', at(GRACE + 500, false, 1), { ms: GRACE - 500, writer: false }],
    ['rank 2, past three graces: now', at(3 * GRACE, false, 2), { ms: 0, writer: false }],
    ['a cluster verdict from the future (clock step): a wait, never below 0 afterwards', at(-100, true), { ms: SETTLE + 100, writer: true }],
  ];
  for (const [name, standing, want] of cases) it(name, () => expect(writeDelay(standing, t)).toEqual(want));
});

describe('writerGraceMs', () => {
  it.each([
    [20, 3000],
    [1000, 3000],
    [5000, 15_000],
  ])('interval %i ms → %i ms', (intervalMs, ms) => expect(writerGraceMs({ intervalMs })).toBe(ms));
});

describe('electWriter', () => {
  const del = (ip: string): Change => ({ op: 'delete', record: { id: ip, type: 'A', name: 'www.example.com', content: ip, proxied: false, ttl: 1 } });
  const changes = [del('192.0.2.1'), del('192.0.2.2'), del('192.0.2.3'), del('192.0.2.4')];
  const standings: Record<string, WriterStanding> = {
    '192.0.2.1': at(SETTLE, true), // writer, settled
    '192.0.2.2': at(20, true), // writer, settling: 60 ms left
    '192.0.2.3': at(0, false, 1), // another's: 6 s
    '192.0.2.4': at(4 * GRACE, false, 1), // another's, grace long past
  };

  it('splits a plan into written now, settling and deferred, with the soonest wait', () => {
    expect(electWriter(changes, (ip) => standings[ip]!, t)).toEqual({
      writable: [changes[0], changes[3]],
      settling: [changes[1]],
      deferred: [changes[2]],
      nextInMs: SETTLE - 20,
    });
  });

  it('single node: everything now', () => {
    expect(electWriter(changes, undefined, t)).toEqual({ writable: changes, settling: [], deferred: [], nextInMs: undefined });
  });

  it('an empty plan', () => {
    expect(electWriter([], (ip) => standings[ip]!, t)).toEqual({ writable: [], settling: [], deferred: [], nextInMs: undefined });
  });
});
