import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../../src/detect/detector.js';
import { calculate, describeChange, keepLastRecord, plan, type PlanInput } from '../../../src/dns/plan.js';
import type { Change, DnsRecord } from '../../../src/dns/types.js';

const H = 'www.example.com';
const A = '203.0.113.1';
const B = '203.0.113.2';
const C = '203.0.113.3';
const V6 = '2001:db8::1';

let n = 0;
function rec(content: string, name = H, extra: Partial<DnsRecord> = {}): DnsRecord {
  n += 1;
  return { id: `r${n}-${content}`, type: content.includes(':') ? 'AAAA' : 'A', name, content, proxied: false, ttl: 1, ...extra };
}
function input(verdicts: Record<string, Verdict>, current: DnsRecord[], ips = Object.keys(verdicts), hostnames = [H]): PlanInput {
  return { hostnames, ips, verdicts: new Map(Object.entries(verdicts)), current, proxied: true, ttl: 60 };
}
const summary = (changes: readonly Change[]): string[] => changes.map(describeChange).sort();

describe('calculate', () => {
  it.each([
    ['all up, all present', { [A]: 'up', [B]: 'up' }, [A, B], []],
    ['up and missing → create', { [A]: 'up', [B]: 'up' }, [A], [`add A ${H} ${B}`]],
    ['down and present → delete', { [A]: 'up', [B]: 'down' }, [A, B], [`remove A ${H} ${B}`]],
    ['down and absent → nothing', { [A]: 'up', [B]: 'down' }, [A], []],
    ['unknown present → kept', { [A]: 'up', [B]: 'unknown' }, [A, B], []],
    ['unknown absent → not created', { [A]: 'up', [B]: 'unknown' }, [A], []],
    ['duplicates of a down IP → each deleted', { [A]: 'up', [B]: 'down' }, [A, B, B], [`remove A ${H} ${B}`, `remove A ${H} ${B}`]],
    ['duplicates of an up IP → left alone, not recreated', { [A]: 'up' }, [A, A], []],
    ['IPv6 up and missing → AAAA', { [A]: 'up', [V6]: 'up' }, [A], [`add AAAA ${H} ${V6}`]],
    ['IPv6 down → AAAA removed', { [A]: 'up', [V6]: 'down' }, [A, V6], [`remove AAAA ${H} ${V6}`]],
  ] as Array<[string, Record<string, Verdict>, string[], string[]]>)('%s', (_name, verdicts, present, expected) => {
    expect(
      summary(
        calculate(
          input(
            verdicts,
            present.map((ip) => rec(ip)),
          ),
        ),
      ),
    ).toEqual(expected.sort());
  });

  it('never touches records of IPs that are not configured, other names or other types', () => {
    const current = [rec(A), rec('198.51.100.9'), rec(A, 'other.example.com'), { ...rec(A), type: 'AAAA' as const }];
    const changes = calculate(input({ [A]: 'down' }, current));
    expect(changes).toHaveLength(1);
    expect(changes[0]).toEqual({ op: 'delete', record: current[0] });
  });

  it('a missing verdict is unknown', () => {
    expect(calculate({ ...input({}, []), ips: [A] })).toEqual([]);
  });

  it('creates with the configured proxied and ttl', () => {
    const [c] = calculate(input({ [A]: 'up' }, []));
    expect(c).toEqual({ op: 'create', record: { type: 'A', name: H, content: A, proxied: true, ttl: 60 } });
  });

  it('plans each hostname separately', () => {
    const current = [rec(A, 'a.example.com'), rec(B, 'a.example.com'), rec(A, 'b.example.com')];
    const out = summary(calculate(input({ [A]: 'down', [B]: 'up' }, current, [A, B], ['a.example.com', 'b.example.com'])));
    expect(out).toEqual(['add A b.example.com 203.0.113.2', 'remove A a.example.com 203.0.113.1', 'remove A b.example.com 203.0.113.1'].sort());
  });
});

describe('keepLastRecord policy', () => {
  it.each([
    // verdicts, present, expected changes, expected held contents
    ['one of two down → removed', { [A]: 'up', [B]: 'down' }, [A, B], [`remove A ${H} ${B}`], []],
    ['all down → nothing removed', { [A]: 'down', [B]: 'down' }, [A, B], [], [A, B]],
    ['last remaining down → held', { [A]: 'down', [B]: 'down' }, [A], [], [A]],
    ['two of three down at once → both removed', { [A]: 'up', [B]: 'down', [C]: 'down' }, [A, B, C], [`remove A ${H} ${B}`, `remove A ${H} ${C}`], []],
    ['a create in the same plan keeps the name alive', { [A]: 'up', [B]: 'down' }, [B], [`add A ${H} ${A}`, `remove A ${H} ${B}`], []],
    ['unknown present counts as remaining', { [A]: 'unknown', [B]: 'down' }, [A, B], [`remove A ${H} ${B}`], []],
    ['per type: last A held even when an AAAA remains', { [A]: 'down', [V6]: 'up' }, [A, V6], [], [A]],
    ['only duplicates of one down IP → held', { [A]: 'down' }, [A, A], [], [A, A]],
  ] as Array<[string, Record<string, Verdict>, string[], string[], string[]]>)('%s', (_name, verdicts, present, expected, held) => {
    const p = plan(
      input(
        verdicts,
        present.map((ip) => rec(ip)),
      ),
    );
    expect(summary(p.changes)).toEqual(expected.sort());
    expect(p.held.map((h) => h.record.content).sort()).toEqual(held.sort());
    expect(p.held.every((h) => h.reason === 'last-record')).toBe(true);
  });

  it('records of unconfigured IPs do not count as remaining', () => {
    const p = plan(input({ [A]: 'down' }, [rec(A), rec('198.51.100.9')]));
    expect(p.changes).toEqual([]);
    expect(p.held).toHaveLength(1);
  });

  it('guards each hostname on its own', () => {
    const current = [rec(A, 'a.example.com'), rec(A, 'b.example.com'), rec(B, 'b.example.com')];
    const p = plan(input({ [A]: 'down', [B]: 'up' }, current, [A, B], ['a.example.com', 'b.example.com']));
    expect(summary(p.changes)).toEqual(['add A a.example.com 203.0.113.2', 'remove A a.example.com 203.0.113.1', 'remove A b.example.com 203.0.113.1'].sort());
    expect(p.held).toEqual([]);
  });

  it('is a filter: it never adds changes', () => {
    const current = [rec(A), rec(B), rec(C), rec(A, 'other.example.com'), rec(V6)];
    const cases: Array<Record<string, Verdict>> = [
      { [A]: 'up', [B]: 'down', [C]: 'down', [V6]: 'up' }, // deletes kept
      { [A]: 'down', [B]: 'down', [C]: 'down', [V6]: 'down' }, // every delete held
      { [A]: 'down', [B]: 'up', [C]: 'unknown', [V6]: 'down' }, // some kept, some held
      { [A]: 'up', [B]: 'up', [C]: 'up', '2001:db8::2': 'up', [V6]: 'down' }, // a create keeps the AAAA name alive
    ];
    let kept = 0;
    let held = 0;
    for (const verdicts of cases) {
      const i = input(verdicts, current);
      const changes = calculate(i);
      const p = keepLastRecord(changes, i);
      // The kept changes are some of the planned ones, in their order, each at most once…
      let at = 0;
      for (const c of p.changes) {
        at = changes.indexOf(c, at) + 1;
        expect(at, `${describeChange(c)} was not planned`).toBeGreaterThan(0);
      }
      // …and the rest are held deletes: nothing appears, nothing is lost.
      expect(p.held.every((h) => changes.some((c) => c.op === 'delete' && c.record === h.record))).toBe(true);
      expect(p.changes.length + p.held.length).toBe(changes.length);
      kept += p.changes.length;
      held += p.held.length;
    }
    expect(kept).toBeGreaterThan(0);
    expect(held).toBeGreaterThan(0);
  });
});

describe('order', () => {
  it('creates come before deletes, whatever the order of the IPs (applied one by one, the name never goes empty)', () => {
    const p = plan(input({ [A]: 'down', [B]: 'up', [C]: 'down', [V6]: 'up' }, [rec(A), rec(C)], [A, B, C, V6]));
    expect(p.changes.map((c) => c.op)).toEqual(['create', 'create', 'delete', 'delete']);
    expect(p.changes.map(describeChange)).toEqual([`add A ${H} ${B}`, `add AAAA ${H} ${V6}`, `remove A ${H} ${A}`, `remove A ${H} ${C}`]);
  });
});

describe('idempotence', () => {
  /** Apply a plan to an in-memory record list. */
  function applyTo(current: DnsRecord[], changes: readonly Change[]): DnsRecord[] {
    let out = [...current];
    for (const c of changes) {
      if (c.op === 'delete') out = out.filter((r) => r.id !== c.record.id);
      else out.push({ id: `new-${c.record.name}-${c.record.content}`, ...c.record });
    }
    return out;
  }
  const verdictSets: Array<Record<string, Verdict>> = [
    { [A]: 'up', [B]: 'down', [C]: 'unknown' },
    { [A]: 'down', [B]: 'down', [C]: 'down' },
    { [A]: 'up', [B]: 'up', [V6]: 'down' },
    { [A]: 'down', [B]: 'up', [V6]: 'up' },
  ];
  it.each(verdictSets)('planning again after applying gives an empty plan (%j)', (verdicts) => {
    const start = [rec(A), rec(B), rec(B)];
    const first = plan(input(verdicts, start));
    const after = applyTo(start, first.changes);
    expect(plan(input(verdicts, after)).changes).toEqual([]);
  });
});

describe('describeChange', () => {
  it('formats one line', () => {
    expect(describeChange({ op: 'delete', record: rec(A, 'test.example.com') })).toBe('remove A test.example.com 203.0.113.1');
    expect(describeChange({ op: 'create', record: { type: 'AAAA', name: H, content: V6, proxied: false, ttl: 1 } })).toBe(`add AAAA ${H} ${V6}`);
  });
});

describe('scale', () => {
  it('plans 20,000 IPs without quadratic work (the old filter-per-pair version took minutes)', () => {
    const ips = Array.from({ length: 20_000 }, (_, i) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`); // parsed only, never probed
    const current = ips.map((ip, i) => ({ id: `r${i}`, type: 'A' as const, name: H, content: ip, proxied: false, ttl: 1 }));
    const verdicts = new Map<string, Verdict>(ips.map((ip, i) => [ip, i % 2 ? 'down' : 'up']));
    const p = plan({ hostnames: [H], ips, verdicts, current, proxied: false, ttl: 1 });
    expect(p.changes).toHaveLength(10_000);
    expect(p.changes.every((c) => c.op === 'delete')).toBe(true);
  }, 20_000);
});
