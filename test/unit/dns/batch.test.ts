import { describe, expect, it } from 'vitest';
import { DEFAULT_BATCH_CHANGES, splitChanges } from '../../../src/dns/batch.js';
import type { Change, RecordType } from '../../../src/dns/types.js';

/** `+A www 1` is a create, `-A www 1` a delete (record id `www-1`). */
function ch(spec: string): Change {
  const m = /^([+-])(A|AAAA) (\S+) (\S+)$/.exec(spec);
  if (!m) throw new Error(`bad spec ${spec}`);
  const [, sign, type, name, content] = m as unknown as [string, string, RecordType, string, string];
  const record = { type, name, content, proxied: false, ttl: 1 };
  return sign === '+' ? { op: 'create', record } : { op: 'delete', record: { ...record, id: `${name}-${content}` } };
}
const spec = (c: Change): string => `${c.op === 'create' ? '+' : '-'}${c.record.type} ${c.record.name} ${c.record.content}`;
/** n changes of one (name, type): creates of 10.0.0.k. */
const many = (name: string, n: number, sign = '+'): string[] => Array.from({ length: n }, (_, k) => `${sign}A ${name} 10.0.${Math.floor(k / 250)}.${k % 250}`);

describe('splitChanges', () => {
  const cases: { name: string; plan: string[]; max: number; want: string[][] | ((got: string[][]) => void) }[] = [
    { name: 'empty plan: no request', plan: [], max: 3, want: [] },
    { name: 'fits: one request, creates first', plan: ['-A a 1', '+A a 2'], max: 3, want: [['+A a 2', '-A a 1']] },
    {
      name: 'groups packed in order while they fit',
      plan: ['+A a 1', '-A a 2', '+A b 1', '+A c 1', '-A c 2'],
      max: 3,
      want: [
        ['+A a 1', '+A b 1', '-A a 2'],
        ['+A c 1', '-A c 2'],
      ],
    },
    {
      name: 'a group is never split, even when the request has room for part of it',
      plan: ['+A a 1', '+A a 2', '+A b 1', '-A b 2'],
      max: 3,
      want: [
        ['+A a 1', '+A a 2'],
        ['+A b 1', '-A b 2'],
      ],
    },
    {
      name: 'the same name with another type is another group',
      plan: ['+A a 1', '-A a 2', '+AAAA a ::1', '-AAAA a ::2'],
      max: 2,
      want: [
        ['+A a 1', '-A a 2'],
        ['+AAAA a ::1', '-AAAA a ::2'],
      ],
    },
    {
      name: 'changes of one group spread through the plan come together, at its first place',
      plan: ['-A a 1', '+A b 1', '+A a 2'],
      max: 2,
      want: [['+A a 2', '-A a 1'], ['+A b 1']],
    },
    {
      name: 'a group larger than max goes alone and whole',
      plan: ['+A a 1', '+A big 1', '+A big 2', '-A big 3', '-A big 4', '+A c 1'],
      max: 3,
      want: [['+A a 1'], ['+A big 1', '+A big 2', '-A big 3', '-A big 4'], ['+A c 1']],
    },
    {
      name: 'exactly max: one request',
      plan: ['+A a 1', '+A b 1', '+A c 1'],
      max: 3,
      want: [['+A a 1', '+A b 1', '+A c 1']],
    },
    {
      name: 'max below 1 counts as 1',
      plan: ['+A a 1', '+A b 1'],
      max: 0,
      want: [['+A a 1'], ['+A b 1']],
    },
    {
      name: 'default size: 250 single-record names → 200 + 50',
      plan: Array.from({ length: 250 }, (_, k) => `+A n${k} 198.18.0.1`),
      max: DEFAULT_BATCH_CHANGES,
      want: (got) => expect(got.map((r) => r.length)).toEqual([200, 50]),
    },
    {
      name: 'default size: one (name, type) of 300 changes stays whole in one request, creates before deletes',
      plan: ['+A a 1', ...many('big', 150, '-'), ...many('big', 150, '+'), '+A z 1'],
      max: DEFAULT_BATCH_CHANGES,
      want: (got) => {
        expect(got.map((r) => r.length)).toEqual([1, 300, 1]);
        const big = got[1]!;
        expect(big.every((s) => s.includes(' big '))).toBe(true);
        expect(big.slice(0, 150).every((s) => s.startsWith('+'))).toBe(true);
        expect(big.slice(150).every((s) => s.startsWith('-'))).toBe(true);
      },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const plan = c.plan.map(ch);
      const got = splitChanges(plan, c.max).map((r) => r.map(spec));
      if (typeof c.want === 'function') c.want(got);
      else expect(got).toEqual(c.want);
      // Invariants: nothing lost or added; no (name, type) in two requests.
      expect(got.flat().sort()).toEqual(c.plan.slice().sort());
      const home = new Map<string, number>();
      got.forEach((r, i) =>
        r.forEach((s) => {
          const key = s.slice(1).split(' ').slice(0, 2).join(' ');
          expect(home.get(key) ?? i).toBe(i);
          home.set(key, i);
        }),
      );
    });
  }
});
