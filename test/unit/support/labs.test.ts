import { describe, expect, it } from 'vitest';
import { LABS, type LabSlot } from '../../support/labs.js';
import { labNames, labSubnet, LAB_RANGE, MAX_HOSTS, MAX_NAME } from '../../support/netns.js';

/** Every name a lab with `prefix` may create: hosts 0..MAX_HOSTS-1. */
const allNames = (prefix: string): string[] => Array.from({ length: MAX_HOSTS }, (_, k) => Object.values(labNames(prefix, k))).flat();

/** What is wrong with an allocation table: shared /24s, bad or too long names, names two rows would both make. */
function problems(table: Record<string, LabSlot>): string[] {
  const out: string[] = [];
  const subnets = new Map<number, string>();
  const names = new Map<string, string>();
  for (const [row, { prefix, subnetIndex }] of Object.entries(table)) {
    if (!Number.isInteger(subnetIndex) || subnetIndex < 0 || subnetIndex > 511) out.push(`${row}: subnet index ${subnetIndex} is not 0..511`);
    else if (subnets.has(subnetIndex)) out.push(`${row}: subnet ${labSubnet(subnetIndex)} is ${subnets.get(subnetIndex)}'s`);
    subnets.set(subnetIndex, row);
    if (prefix === undefined) continue;
    if (!/^[a-z0-9]{1,8}$/.test(prefix)) out.push(`${row}: prefix "${prefix}" is not 1..8 of [a-z0-9]`);
    for (const n of allNames(prefix)) {
      if (n.length > MAX_NAME) out.push(`${row}: ${n} is longer than ${MAX_NAME}`);
      if (names.has(n) && names.get(n) !== row) out.push(`${row}: ${n} is ${names.get(n)}'s too`);
      names.set(n, row);
    }
  }
  return out;
}

describe('the lab allocation table (test/support/labs.ts)', () => {
  it('gives every row its own /24 of 198.18.0.0/15 and names that fit Linux and no other row makes', () => {
    expect(LAB_RANGE).toBe('198.18.0.0/15');
    expect(problems(LABS)).toEqual([]);
    for (const { subnetIndex } of Object.values(LABS)) expect(labSubnet(subnetIndex)).toMatch(/^198\.(18|19)\.\d{1,3}$/);
  });

  it('finds a shared /24, a shared name and a name too long', () => {
    expect(problems({ a: { prefix: 'ab', subnetIndex: 1 }, b: { subnetIndex: 1 } })).toEqual(["b: subnet 198.18.1 is a's"]);
    expect(problems({ a: { prefix: 'ab', subnetIndex: 1 }, b: { prefix: 'ab', subnetIndex: 2 } })).toContain("b: ab-0 is a's too");
    expect(problems({ a: { prefix: 'abcdefgh', subnetIndex: 1 } })).toEqual([]);
    expect(problems({ a: { prefix: 'abcdefghijklm', subnetIndex: 1 } })).toContain('a: abcdefghijklmh10 is longer than 15');
    expect(problems({ a: { subnetIndex: 512 } })).toEqual(['a: subnet index 512 is not 0..511']);
  });
});
