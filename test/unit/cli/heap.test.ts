import { describe, expect, it } from 'vitest';
import { HEAP_GROWING_PERCENT, heapFlag } from '../../../src/cli/heap.js';

describe('heapFlag: the agent caps old-generation growth unless the operator chose', () => {
  it.each([
    { name: 'nothing given', execArgv: [], nodeOptions: undefined, want: `--heap-growing-percent=${HEAP_GROWING_PERCENT}` },
    { name: 'other NODE_OPTIONS', execArgv: [], nodeOptions: '--max-old-space-size=512', want: `--heap-growing-percent=${HEAP_GROWING_PERCENT}` },
    { name: 'given to node', execArgv: ['--heap-growing-percent=200'], nodeOptions: undefined, want: undefined },
    { name: 'given in NODE_OPTIONS', execArgv: [], nodeOptions: '--require x.cjs --heap-growing-percent=10', want: undefined },
    { name: 'the underscore spelling', execArgv: ['--heap_growing_percent=80'], nodeOptions: '', want: undefined },
  ])('$name', ({ execArgv, nodeOptions, want }) => {
    expect(heapFlag(execArgv, nodeOptions)).toBe(want);
  });
});
