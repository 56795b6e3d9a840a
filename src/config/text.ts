/**
 * How validation talks about TOML values: lookups that respect smol-toml's
 * null-prototype tables, dotted keys, and values described for messages
 * (kind and content, or only the kind for secrets).
 */
import { truncate } from '../net/text.js';

export type Table = Record<string, unknown>;

export function isTable(v: unknown): v is Table {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);
}

export function get(t: Table, k: string): unknown {
  return Object.hasOwn(t, k) ? t[k] : undefined;
}

export function join(prefix: string, key: string): string {
  const k = /^[A-Za-z0-9_-]+$/.test(key) ? key : JSON.stringify(key);
  return prefix === '' ? k : `${prefix}.${k}`;
}

/** The kind of a TOML value, without its content (for secrets). */
export function kindOf(v: unknown): string {
  if (v === undefined) return 'nothing';
  if (v === null) return 'null';
  if (typeof v === 'string') return 'a string';
  if (typeof v === 'bigint') return 'an integer';
  if (typeof v === 'number') return Number.isInteger(v) ? 'an integer' : 'a float';
  if (typeof v === 'boolean') return 'a boolean';
  if (v instanceof Date) return 'a date/time';
  if (Array.isArray(v)) return 'a list';
  if (isTable(v)) return 'a table';
  return typeof v;
}

/** Kind and value, e.g. `a string "2s"`, `a float 2.5`, `a table`. */
export function describe(v: unknown): string {
  if (isTable(v) || v === undefined) return kindOf(v);
  return `${kindOf(v)} ${show(v)}`;
}

/** A TOML-like rendering of a value, truncated. */
export function show(v: unknown): string {
  return truncate(render(v), 60);
}

function render(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number') {
    if (Number.isNaN(v)) return 'nan';
    if (!Number.isFinite(v)) return v > 0 ? 'inf' : '-inf';
    return String(v);
  }
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  if (v instanceof Date) return v.toISOString();
  if (Array.isArray(v)) return `[${v.map(render).join(', ')}]`;
  if (isTable(v)) return '{…}';
  return String(v);
}

export function quoteList(items: readonly string[], last = 'or'): string {
  const q = items.map((i) => `"${i}"`);
  return q.length <= 1 ? (q[0] ?? '') : `${q.slice(0, -1).join(', ')} ${last} ${q[q.length - 1]}`;
}

/** Deep copy turning null-prototype tables into plain objects. */
export function plainCopy(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainCopy);
  if (isTable(v)) {
    const o: Record<string, unknown> = {};
    for (const k of Object.keys(v)) Object.defineProperty(o, k, { value: plainCopy(v[k]), enumerable: true, writable: true, configurable: true });
    return o;
  }
  return v;
}
