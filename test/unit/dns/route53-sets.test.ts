import { describe, expect, it } from 'vitest';
import { plan } from '../../../src/dns/plan.js';
import {
  describeSet,
  memoryKey,
  normaliseSetName,
  packBatches,
  planSetChanges,
  recordsOfSets,
  type RecordSet,
  type SetChange,
  type SetsInput,
} from '../../../src/dns/route53-sets.js';
import type { Change, DnsRecord } from '../../../src/dns/types.js';

const N = 'www.example.com';
const A1 = '198.18.0.1';
const A2 = '198.18.0.2';
const A3 = '198.18.0.3';

const simple = (...ips: string[]): RecordSet => ({ Name: `${N}.`, Type: 'A', TTL: 300, ResourceRecords: ips.map((Value) => ({ Value })) });
const weighted = (id: string, ...ips: string[]): RecordSet => ({
  Name: `${N}.`,
  Type: 'A',
  SetIdentifier: id,
  Weight: 0,
  TTL: 30,
  ResourceRecords: ips.map((Value) => ({ Value })),
});
const multi = (id: string, ip: string, hc = `hc-${id}`): RecordSet => ({
  Name: `${N}.`,
  Type: 'A',
  SetIdentifier: id,
  MultiValueAnswer: true,
  TTL: 60,
  HealthCheckId: hc,
  ResourceRecords: [{ Value: ip }],
});

function rec(sets: RecordSet[], ip: string): DnsRecord {
  const r = recordsOfSets(sets).find((x) => x.content === ip);
  if (!r) throw new Error(`no record for ${ip}`);
  return r;
}
const del = (sets: RecordSet[], ip: string): Change => ({ op: 'delete', record: rec(sets, ip) });
const add = (ip: string, name = N): Change => ({ op: 'create', record: { type: ip.includes(':') ? 'AAAA' : 'A', name, content: ip, proxied: false, ttl: 60 } });

/** One line per set change: `DELETE set [values]` / `CREATE set [values]`. */
function lines(groups: readonly (readonly SetChange[])[]): string[] {
  return groups.flat().map((c) => {
    const s = c.ResourceRecordSet;
    const values = (s.ResourceRecords ?? []).map((r) => r.Value).join(',');
    return `${c.Action} ${s.Type} ${normaliseSetName(s.Name)} ${s.SetIdentifier ?? '-'} ${describeSet(s)} [${values}]`;
  });
}

function run(sets: RecordSet[], changes: (sets: RecordSet[]) => Change[], remembered: [string, RecordSet][] = []): ReturnType<typeof planSetChanges> {
  const input: SetsInput = { sets, changes: changes(sets), remembered: new Map(remembered), ttl: 60 };
  return planSetChanges(input);
}

describe('recordsOfSets: one record per IP value', () => {
  it('reads values of A and AAAA sets, skips aliases, non-IP values and other types; normalises names and IPv6', () => {
    const sets: RecordSet[] = [
      weighted('test', A1, A2),
      { Name: 'WWW.Example.COM.', Type: 'AAAA', TTL: 60, ResourceRecords: [{ Value: '2001:DB8:0:0::1' }] },
      { Name: `${N}.`, Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"v=spf1"' }] },
      { Name: `alias.example.com.`, Type: 'A', AliasTarget: { DNSName: 'lb.example.net.' } },
      { Name: `odd.example.com.`, Type: 'A', TTL: 60, ResourceRecords: [{ Value: 'not-an-ip' }] },
      { Name: '\\052.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: A3 }] },
    ];
    expect(recordsOfSets(sets).map((r) => `${r.type} ${r.name} ${r.content} ${r.ttl} ${r.note}`)).toEqual([
      `A ${N} ${A1} 30 set test, weighted`,
      `A ${N} ${A2} 30 set test, weighted`,
      `AAAA ${N} 2001:db8::1 60 simple`,
      `A *.example.com ${A3} 60 simple`,
    ]);
    // Values of different sets have different ids.
    const ids = recordsOfSets([weighted('a', A1), weighted('b', A1)]).map((r) => r.id);
    expect(new Set(ids).size).toBe(2);
  });
});

describe('planSetChanges: value changes → compare-and-swap set changes', () => {
  it.each<[string, RecordSet[], (s: RecordSet[]) => Change[], [string, RecordSet][], string[]]>([
    [
      'remove from a weighted set (the original shape): DELETE as read + CREATE without it',
      [weighted('test', A1, A2, '198.51.100.9')],
      (s) => [del(s, A2)],
      [],
      [`DELETE A ${N} test set test, weighted [${A1},${A2},198.51.100.9]`, `CREATE A ${N} test set test, weighted [${A1},198.51.100.9]`],
    ],
    ['remove from a simple set', [simple(A1, A2)], (s) => [del(s, A1)], [], [`DELETE A ${N} - simple [${A1},${A2}]`, `CREATE A ${N} - simple [${A2}]`]],
    [
      'two removals from one set make one rewrite',
      [simple(A1, A2, A3)],
      (s) => [del(s, A1), del(s, A3)],
      [],
      [`DELETE A ${N} - simple [${A1},${A2},${A3}]`, `CREATE A ${N} - simple [${A2}]`],
    ],
    [
      'remove from a multivalue set: DELETE only, never a set with zero values',
      [multi('one', A1), multi('two', A2)],
      (s) => [del(s, A1)],
      [],
      [`DELETE A ${N} one set one, multivalue [${A1}]`],
    ],
    [
      'restore into the remembered multivalue set: re-created as it was',
      [multi('two', A2)],
      () => [add(A1)],
      [[memoryKey('A', N, A1), multi('one', A1)]],
      [`CREATE A ${N} one set one, multivalue [${A1}]`],
    ],
    [
      'restore, nothing remembered, only multivalue sets: a multivalue set of its own, identifier = the IP, their TTL',
      [multi('two', A2)],
      () => [add(A1)],
      [],
      [`CREATE A ${N} ${A1} set ${A1}, multivalue [${A1}]`],
    ],
    [
      'restore into the remembered weighted set that still exists',
      [weighted('a', A2), weighted('b', A3)],
      () => [add(A1)],
      [[memoryKey('A', N, A1), weighted('b', A1, A3)]],
      [`DELETE A ${N} b set b, weighted [${A3}]`, `CREATE A ${N} b set b, weighted [${A3},${A1}]`],
    ],
    [
      'restore, nothing remembered: into the first non-multivalue set',
      [weighted('b', A3), weighted('a', A2)],
      () => [add(A1)],
      [],
      [`DELETE A ${N} a set a, weighted [${A2}]`, `CREATE A ${N} a set a, weighted [${A2},${A1}]`],
    ],
    ['a name with no set and an up IP: a simple set with ttl', [], () => [add(A1), add(A2)], [], [`CREATE A ${N} - simple [${A1},${A2}]`]],
    ['AAAA values go to AAAA sets', [simple(A1)], () => [add('2001:db8::5')], [], [`CREATE AAAA ${N} - simple [2001:db8::5]`]],
    ['a value already present is not added twice', [simple(A1)], () => [add(A1)], [], []],
    ['remove and add in one set (swap)', [simple(A1)], (s) => [del(s, A1), add(A2)], [], [`DELETE A ${N} - simple [${A1}]`, `CREATE A ${N} - simple [${A2}]`]],
  ])('%s', (_name, sets, changes, remembered, expected) => {
    expect(lines(run(sets, changes, remembered).groups)).toEqual(expected);
  });

  it('every other field of the set is kept as read (Weight, TTL, HealthCheckId, unknown fields)', () => {
    const s: RecordSet = { ...weighted('test', A1, A2), HealthCheckId: 'hc', CidrRoutingConfig: { CollectionId: 'c', LocationName: 'l' } };
    const p = run([s], (x) => [del(x, A1)]);
    const create = p.groups.flat().find((c) => c.Action === 'CREATE')!.ResourceRecordSet;
    expect(create).toEqual({ ...s, ResourceRecords: [{ Value: A2 }] });
    expect(p.groups.flat()[0]!.ResourceRecordSet).toBe(s); // the DELETE is the set as read, unchanged
  });

  it('a removal remembers the set as read; an add forgets; a delete of a record not read is unmatched', () => {
    const sets = [multi('one', A1)];
    const p = run(sets, (s) => [del(s, A1)]);
    expect(p.remember).toEqual([[memoryKey('A', N, A1), sets[0]]]);
    const back = run([], () => [add(A1)], [[memoryKey('A', N, A1), sets[0]!]]);
    expect(back.forget).toEqual([memoryKey('A', N, A1)]);
    const stray: Change = {
      op: 'delete',
      record: { id: 'A www.example.com x|198.18.0.9', type: 'A', name: N, content: '198.18.0.9', proxied: false, ttl: 60 },
    };
    expect(planSetChanges({ sets, changes: [stray], remembered: new Map(), ttl: 60 }).unmatched).toEqual([stray]);
  });

  it('keep-last-record counts values over all sets of a name: the last multivalue set is never removed', () => {
    const sets = [multi('one', A1), multi('two', A2)];
    const current = recordsOfSets(sets);
    const p = plan({
      hostnames: [N],
      ips: [A1, A2],
      verdicts: new Map([
        [A1, 'down'],
        [A2, 'down'],
      ] as const),
      current,
      proxied: false,
      ttl: 60,
    });
    expect(p.changes).toEqual([]);
    expect(p.held.map((h) => h.record.content)).toEqual([A1, A2]);
    const one = plan({
      hostnames: [N],
      ips: [A1, A2],
      verdicts: new Map([
        [A1, 'down'],
        [A2, 'up'],
      ] as const),
      current,
      proxied: false,
      ttl: 60,
    });
    expect(lines(planSetChanges({ sets, changes: one.changes, remembered: new Map(), ttl: 60 }).groups)).toEqual([
      `DELETE A ${N} one set one, multivalue [${A1}]`,
    ]);
  });
});

describe('packBatches: as few requests as the limits allow, a name never split', () => {
  const group = (name: string, n: number, len = 11): SetChange[] => [
    {
      Action: 'DELETE',
      ResourceRecordSet: { Name: `${name}.`, Type: 'A', TTL: 60, ResourceRecords: Array.from({ length: n }, () => ({ Value: 'x'.repeat(len) })) },
    },
    {
      Action: 'CREATE',
      ResourceRecordSet: { Name: `${name}.`, Type: 'A', TTL: 60, ResourceRecords: Array.from({ length: n }, () => ({ Value: 'x'.repeat(len) })) },
    },
  ];
  const sizes = (b: SetChange[][]): string[] => b.map((r) => r.map((c) => `${c.Action[0]}${normaliseSetName(c.ResourceRecordSet.Name)}`).join(' '));

  it.each<[string, SetChange[][], { resourceRecords: number; valueCharacters: number }, string[]]>([
    ['all fit in one', [group('a', 2), group('b', 2)], { resourceRecords: 1000, valueCharacters: 32000 }, ['Da Ca Db Cb']],
    [
      'record elements: 1000 per request (DELETE and CREATE both count)',
      [group('a', 300), group('b', 300)],
      { resourceRecords: 1000, valueCharacters: 10 ** 9 },
      ['Da Ca', 'Db Cb'],
    ],
    [
      'value characters: 32,000 per request',
      [group('a', 10, 1000), group('b', 10, 1000)],
      { resourceRecords: 1000, valueCharacters: 32000 },
      ['Da Ca', 'Db Cb'],
    ],
    [
      'a group over the limits goes alone and whole',
      [group('a', 1), group('b', 600), group('c', 1)],
      { resourceRecords: 1000, valueCharacters: 10 ** 9 },
      ['Da Ca', 'Db Cb', 'Dc Cc'],
    ],
    ['no groups, no requests', [], { resourceRecords: 1000, valueCharacters: 32000 }, []],
  ])('%s', (_name, groups, limits, expected) => {
    expect(sizes(packBatches(groups, limits))).toEqual(expected);
  });
});
