import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { findCycles, importsOf, layerEdges, layerOf } from '../../../scripts/check-layers.mjs';

describe('check-layers: findCycles', () => {
  const cases: Array<{ name: string; edges: Array<[string, string]>; cycles: string[][] }> = [
    { name: 'no edges', edges: [], cycles: [] },
    {
      name: 'a chain',
      edges: [
        ['a', 'b'],
        ['b', 'c'],
      ],
      cycles: [],
    },
    {
      name: 'a diamond',
      edges: [
        ['a', 'b'],
        ['a', 'c'],
        ['b', 'd'],
        ['c', 'd'],
      ],
      cycles: [],
    },
    {
      name: 'two folders importing each other',
      edges: [
        ['detect', 'events'],
        ['events', 'detect'],
      ],
      cycles: [['detect', 'events', 'detect']],
    },
    {
      name: 'a loop of three',
      edges: [
        ['detect', 'events'],
        ['events', 'dns'],
        ['dns', 'detect'],
      ],
      cycles: [['detect', 'events', 'dns', 'detect']],
    },
    { name: 'a self-edge', edges: [['a', 'a']], cycles: [['a', 'a']] },
    {
      name: 'two separate loops, and a tail into one',
      edges: [
        ['x', 'y'],
        ['y', 'x'],
        ['a', 'b'],
        ['b', 'a'],
        ['c', 'a'],
      ],
      cycles: [
        ['a', 'b', 'a'],
        ['x', 'y', 'x'],
      ],
    },
    {
      name: 'one component: the shortest loop through its smallest node',
      edges: [
        ['a', 'b'],
        ['b', 'c'],
        ['c', 'a'],
        ['b', 'a'],
      ],
      cycles: [['a', 'b', 'a']],
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(findCycles(c.edges)).toEqual(c.cycles);
    });
  }
});

describe('check-layers: imports and layers', () => {
  it('reads value, type-only and re-export imports, never comments or dynamic imports', () => {
    const text = [
      "import { a } from './a.js';",
      "import type { B } from '../b/b.js';",
      "import {\n  C,\n  type D,\n} from '../c.js';",
      "export { e } from './e.js';",
      "export type { F } from '../f.js';",
      "import './side.js';",
      "import { pino } from 'pino';",
      "// import { x } from '../commented.js';",
      "/* import { y } from '../block.js'; */",
      "const m = await import('../dynamic.js');",
    ].join('\n');
    expect(importsOf(text)).toEqual(['./a.js', '../b/b.js', '../c.js', './e.js', '../f.js', './side.js']);
  });

  it('a file in a folder is that folder; a top-level file is its own layer', () => {
    expect(layerOf('dns/plan.ts')).toBe('dns');
    expect(layerOf('status/x/y.ts')).toBe('status');
    expect(layerOf('events.ts')).toBe('events');
    expect(layerOf('model.js')).toBe('model');
  });

  it('finds a cycle in a small tree, ignoring imports inside one folder', () => {
    const root = mkdtempSync(join(tmpdir(), 'layers-'));
    try {
      const write = (rel: string, text: string): void => {
        mkdirSync(dirname(join(root, rel)), { recursive: true });
        writeFileSync(join(root, rel), text);
      };
      write('detect/a.ts', "import type { E } from '../events.js';\nimport { b } from './b.js';\n");
      write('detect/b.ts', 'export const b = 1;\n');
      write('events.ts', "import type { V } from './detect/a.js';\n");
      write('model.ts', 'export type V = 1;\n');
      const edges = layerEdges(root);
      expect(edges.map(([a, b]) => `${a}>${b}`).sort()).toEqual(['detect>events', 'events>detect']);
      expect(findCycles(edges)).toEqual([['detect', 'events', 'detect']]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });

  it('the source tree has no cycle between folders', () => {
    const src = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'src');
    expect(findCycles(layerEdges(src))).toEqual([]);
  });
});
