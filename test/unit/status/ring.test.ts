import { describe, expect, it } from 'vitest';
import { Ring } from '../../../src/status/ring.js';

describe('Ring', () => {
  it.each([
    ['empty', 3, [], [], 0],
    ['one', 3, ['a'], ['a'], 0],
    ['full', 3, ['a', 'b', 'c'], ['a', 'b', 'c'], 0],
    ['one over', 3, ['a', 'b', 'c', 'd'], ['b', 'c', 'd'], 1],
    ['wrapped twice', 3, ['a', 'b', 'c', 'd', 'e', 'f', 'g'], ['e', 'f', 'g'], 4],
    ['capacity 1', 1, ['a', 'b'], ['b'], 1],
  ] as const)('%s: capacity %i, pushed %j → %j, %i dropped', (_name, capacity, pushed, items, dropped) => {
    const r = new Ring<string>(capacity);
    for (const x of pushed) r.push(x);
    expect(r.items()).toEqual(items);
    expect(r.size).toBe(items.length);
    expect(r.dropped).toBe(dropped);
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses capacity %s', (c) => {
    expect(() => new Ring(c)).toThrow(RangeError);
  });

  it('stays at its capacity however much is pushed', () => {
    const r = new Ring<number>(200);
    for (let i = 0; i < 100_000; i++) r.push(i);
    expect(r.size).toBe(200);
    expect(r.items()[0]).toBe(99_800);
    expect(r.items().at(-1)).toBe(99_999);
  });
});
