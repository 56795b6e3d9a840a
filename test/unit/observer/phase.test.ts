import { describe, expect, it } from 'vitest';
import { idHash, nextRoundAt, phaseOffsetMs } from '../../../src/observer/phase.js';

describe('phaseOffsetMs', () => {
  it.each([
    // self, peers, interval, expected
    ['b', ['a', 'c'], 2000, 667],
    ['a', ['b', 'c'], 2000, 0],
    ['c', ['a', 'b'], 2000, 1333],
    ['a', ['b'], 1000, 0],
    ['b', ['a'], 1000, 500],
    ['b', ['a', 'a', 'b'], 1000, 500],
  ])('%s among %j, interval %i → %i ms', (self, peers, interval, expected) => {
    expect(phaseOffsetMs(self, peers, interval)).toBe(expected);
  });

  it('alone: a stable hash of the id, within the interval', () => {
    expect(phaseOffsetMs('12D3KooWabc', [], 2000)).toBe(idHash('12D3KooWabc') % 2000);
    expect(phaseOffsetMs('12D3KooWabc', [], 2000)).toBe(phaseOffsetMs('12D3KooWabc', [], 2000));
    expect(phaseOffsetMs('12D3KooWabc', [], 2000)).not.toBe(phaseOffsetMs('12D3KooWabd', [], 2000));
  });

  it('three agents spread evenly: someone probes within interval / 3 of any moment', () => {
    const ids = ['x', 'y', 'z'];
    const offsets = ids.map((id) => phaseOffsetMs(id, ids, 3000)).sort((a, b) => a - b);
    expect(offsets).toEqual([0, 1000, 2000]);
  });
});

describe('nextRoundAt', () => {
  it.each([
    // lastStart, offset, interval, expected
    [10_000, 0, 2000, 12_000],
    [10_667, 667, 2000, 12_667],
    [10_000, 667, 2000, 12_667], // off grid: the first grid point ≥ half an interval later
    [10_000, 1500, 2000, 11_500],
    [10_000, 900, 2000, 12_900],
    [10_030, 0, 2000, 12_000], // a late start stays on the grid
  ])('after %i with offset %i / %i → %i', (lastStart, offset, interval, expected) => {
    const next = nextRoundAt(lastStart, offset, interval);
    expect(next).toBe(expected);
    expect(next - lastStart).toBeGreaterThanOrEqual(interval / 2);
    expect(next - lastStart).toBeLessThanOrEqual(1.5 * interval);
  });
});
