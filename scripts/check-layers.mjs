#!/usr/bin/env node
// Fails when two folders of src/ import each other, directly or round a
// loop (type-only imports included: a type cycle is still a design cycle).
// A file at the top of src/ (agent.ts, events.ts, model.ts, log.ts) is a
// unit of its own. Imports inside one folder never count.
//
//   node scripts/check-layers.mjs [srcDir]
//
// Plain Node, no dependency: the import specifiers are found with a regular
// expression over `import ... from '...'` and `export ... from '...'`.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const IMPORT = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]/g;

/** The relative specifiers a source text imports from (static imports and re-exports; `import('…')` is not a layer edge). */
export function importsOf(text) {
  const out = [];
  const stripped = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:])\/\/.*$/gm, '$1');
  for (const m of stripped.matchAll(IMPORT)) if (m[1].startsWith('.')) out.push(m[1]);
  return out;
}

/** The layer a file (path relative to src/, with '/') belongs to: its top folder, or the file's own name at the top. */
export function layerOf(rel) {
  const parts = rel.split('/');
  return parts.length > 1 ? parts[0] : parts[0].replace(/\.[cm]?[jt]s$/, '');
}

/**
 * Cycles in a directed graph given as [from, to] edges: one cycle (a list of
 * nodes, first repeated at the end) per strongly connected component of more
 * than one node, or with a self-edge. Deterministic: nodes in sorted order.
 */
export function findCycles(edges) {
  const graph = new Map();
  const add = (n) => {
    if (!graph.has(n)) graph.set(n, new Set());
  };
  for (const [a, b] of edges) {
    add(a);
    add(b);
    graph.get(a).add(b);
  }
  const nodes = [...graph.keys()].sort();
  // Tarjan's strongly connected components.
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const stack = [];
  const on = new Set();
  const sccs = [];
  const visit = (v) => {
    idx.set(v, index);
    low.set(v, index);
    index += 1;
    stack.push(v);
    on.add(v);
    for (const w of [...graph.get(v)].sort()) {
      if (!idx.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v), low.get(w)));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
    }
    if (low.get(v) === idx.get(v)) {
      const scc = [];
      let w;
      do {
        w = stack.pop();
        on.delete(w);
        scc.push(w);
      } while (w !== v);
      sccs.push(scc);
    }
  };
  for (const n of nodes) if (!idx.has(n)) visit(n);
  const cycles = [];
  for (const scc of sccs) {
    const members = new Set(scc);
    const start = [...scc].sort()[0];
    if (scc.length === 1 && !graph.get(start).has(start)) continue;
    // A shortest loop from the smallest member back to itself, inside the component.
    const prev = new Map();
    const queue = [start];
    let found = false;
    while (queue.length > 0 && !found) {
      const v = queue.shift();
      for (const w of [...graph.get(v)].sort()) {
        if (!members.has(w)) continue;
        if (w === start) {
          prev.set(start, v);
          found = true;
          break;
        }
        if (!prev.has(w)) {
          prev.set(w, v);
          queue.push(w);
        }
      }
    }
    const path = [start];
    for (let v = prev.get(start); v !== start; v = prev.get(v)) path.unshift(v);
    path.unshift(start);
    cycles.push(path);
  }
  return cycles.sort((a, b) => a.join().localeCompare(b.join()));
}

function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.[cm]?ts$/.test(name) && !name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Layer edges of a source tree: [from, to, 'file → import'] for every import that crosses folders. */
export function layerEdges(srcDir) {
  const edges = [];
  for (const file of sourceFiles(srcDir)) {
    const from = layerOf(relative(srcDir, file).split(sep).join('/'));
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      const target = relative(srcDir, resolve(dirname(file), spec))
        .split(sep)
        .join('/');
      if (target.startsWith('..')) continue; // outside src/
      const to = layerOf(target);
      if (to !== from) edges.push([from, to, `${relative(srcDir, file)} → ${spec}`]);
    }
  }
  return edges;
}

function main() {
  const srcDir = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'src'));
  const edges = layerEdges(srcDir);
  const cycles = findCycles(edges);
  if (cycles.length === 0) {
    console.log(
      `check-layers: no cycle between the folders of ${relative(process.cwd(), srcDir) || '.'} (${new Set(edges.map((e) => `${e[0]}>${e[1]}`)).size} layer edges)`,
    );
    return;
  }
  for (const cycle of cycles) {
    console.error(`check-layers: cycle ${cycle.join(' → ')}`);
    for (let i = 0; i + 1 < cycle.length; i++) {
      for (const e of edges) if (e[0] === cycle[i] && e[1] === cycle[i + 1]) console.error(`  ${e[2]}`);
    }
  }
  process.exitCode = 1;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
