/**
 * Pure validation: the parsed TOML document in, a typed `Config` (or every
 * problem found, each naming its dotted key) out.
 *
 * Why one pass that collects everything instead of throwing at the first
 * problem: an operator fixing a config file wants the whole list at once, and
 * SIGHUP reload must be able to refuse a bad file without side effects. No
 * I/O here: `file` is only used to resolve `key_file` and fill `Config.file`.
 *
 * What each key means, how it is read and what it defaults to is in the
 * field table (fields.ts); this file walks it: tables in order, unknown keys
 * warned about with suggestions, required keys, then the `Config` built from
 * the fields' targets.
 *
 * The file keeps the original goavail key names (snake_case, capitalised
 * table names). smol-toml tables have a null prototype, so every lookup goes
 * through `Object.hasOwn`/`Object.keys`, never `in` or `.hasOwnProperty`.
 */
import { resolve } from 'node:path';
import { canariesNotManaged, knownKeys, TABLES, type Field, type FieldContext, type Out, type TableName, type TableSpec } from './fields.js';
import type { Config, ConfigIssue } from './schema.js';
import { describe, get, isTable, join, plainCopy, type Table } from './text.js';

/**
 * Command-line flags that win over the file (`--type`, `--dns-provider`).
 * The file's own value is still checked; the override then replaces it, so
 * the cross-field rules and the resulting Config see what the agent runs.
 */
export type ConfigOverrides = Partial<Pick<Config, 'probeType' | 'dnsProvider'>>;

export type ValidateResult = { ok: true; config: Config; warnings: ConfigIssue[] } | { ok: false; errors: ConfigIssue[]; warnings: ConfigIssue[] };

/** The tables whose keys are checked against the field table. */
const CHECKED_TABLES: readonly TableName[] = TABLES.filter((t) => t.fields !== undefined).map((t) => t.name as TableName);

export function validate(raw: unknown, file: string, overrides: ConfigOverrides = {}): ValidateResult {
  const out: Out = { errors: [], warnings: [] };
  const absFile = resolve(file);
  if (!isTable(raw)) {
    out.errors.push({ key: '(root)', message: `the document must be a TOML table, got ${describe(raw)}` });
    return { ok: false, errors: out.errors, warnings: out.warnings };
  }
  const values = new Map<Field<unknown>, unknown>();
  const context = (key: string): FieldContext => ({
    out,
    key,
    file: absFile,
    value: <U>(f: Field<U>) => values.get(f as Field<unknown>) as U | undefined | null,
    keyOf: (f) => join(f.table, f.key),
  });
  const freeForm = new Map<string, Table>();
  /** Per array table, the values read from each of its tables, in file order. */
  const arrays = new Map<TableSpec, Array<(key: string) => FieldContext>>();

  for (const spec of TABLES) {
    if (spec.array) {
      arrays.set(spec, readArrayTables(out, raw, spec, values, absFile));
      continue;
    }
    const t = spec.name === '' ? raw : readTable(out, raw, spec.name);
    if (t === null) continue;
    // Another provider's table: kept as written, not checked.
    if (spec.active && !spec.active(context(spec.name))) {
      if (t !== undefined) freeForm.set(spec.name, t);
      continue;
    }
    if (t === undefined && spec.required) {
      const why = spec.required(context(spec.name));
      if (why !== undefined) out.errors.push({ key: spec.name, message: `${why}${typoHint(raw, spec.name, knownKeys(''))}` });
      continue;
    }
    // Otherwise an absent table with fields reads as an empty one (every default).
    if (spec.fields === undefined) {
      if (t !== undefined) freeForm.set(spec.name, t);
      continue;
    }
    const table = t ?? (Object.create(null) as Table);
    if (t !== undefined) warnUnknownKeys(out, table, spec.name as TableName);
    readFields(spec, table, values, context, overrides);
  }

  if (out.errors.length > 0) return { ok: false, errors: out.errors, warnings: out.warnings };

  // Every `null` (invalid) produced an error above, so from here on values are
  // either valid or absent (undefined → default).
  const config = buildConfig(absFile, values, context, freeForm, arrays);
  const clash = canariesNotManaged(config);
  if (clash) return { ok: false, errors: [clash], warnings: out.warnings };
  return { ok: true, config, warnings: out.warnings };
}

function readFields(
  spec: TableSpec,
  table: Table,
  values: Map<Field<unknown>, unknown>,
  context: (key: string) => FieldContext,
  overrides: ConfigOverrides,
  keyOf: (f: Field<unknown>) => string = (f) => join(f.table, f.key),
): void {
  for (const f of spec.fields ?? []) {
    const key = keyOf(f);
    const c = context(key);
    const present = get(table, f.key);
    let value: unknown;
    if (present !== undefined) {
      value = f.read(present, c);
    } else if (f.required !== undefined) {
      c.out.errors.push({ key, message: `${f.required}${typoHint(table, f.key, knownKeys(f.table))}` });
      value = null;
    }
    const override = f.target !== undefined ? (overrides as Record<string, unknown>)[f.target] : undefined;
    if (override !== undefined && value !== null) value = override;
    if (f.check) value = f.check(value, c);
    values.set(f, value);
  }
}

/**
 * An array of tables (`[[maintenance]]`): each table read with the spec's
 * fields into values of its own, keys named `maintenance[i].key`; a field
 * of another table (the provider's ip_addresses) is looked up in the
 * top-level values. Unknown keys are errors here. Returns one context per
 * table, for building its element once every table is read.
 */
function readArrayTables(out: Out, raw: Table, spec: TableSpec, values: Map<Field<unknown>, unknown>, file: string): Array<(key: string) => FieldContext> {
  const name = spec.name;
  const v = get(raw, name);
  if (v === undefined) return [];
  if (isTable(v)) {
    out.errors.push({ key: name, message: `must be an array of tables: write [[${name}]] (two brackets) above each window, got a single [${name}] table` });
    return [];
  }
  if (!Array.isArray(v) || !v.every(isTable)) {
    out.errors.push({ key: name, message: `must be an array of tables ([[${name}]] above each window), got ${describe(v)}` });
    return [];
  }
  return v.map((t, i) => {
    const prefix = `${name}[${i}]`;
    const own = new Map<Field<unknown>, unknown>();
    const keyOf = (f: Field<unknown>): string => (f.table === name ? `${prefix}.${join('', f.key)}` : join(f.table, f.key));
    const context = (key: string): FieldContext => ({
      out,
      key,
      file,
      value: <U>(f: Field<U>) => (own.has(f as Field<unknown>) ? own.get(f as Field<unknown>) : values.get(f as Field<unknown>)) as U | undefined | null,
      keyOf,
    });
    const known = knownKeys(name);
    for (const k of Object.keys(t)) {
      if (known.includes(k)) continue;
      const near = suggest(k, known);
      const hint = near.length === 0 ? '' : `; did you mean ${near.map((n) => `\`${n}\``).join(' or ')}?`;
      out.errors.push({ key: `${prefix}.${join('', k)}`, message: `unknown key in a [[${name}]] table${hint} (known: ${known.join(', ')})` });
    }
    readFields(spec, t, own, context, {}, keyOf);
    return context;
  });
}

function buildConfig(
  file: string,
  values: Map<Field<unknown>, unknown>,
  context: (key: string) => FieldContext,
  freeForm: Map<string, Table>,
  arrays: Map<TableSpec, Array<(key: string) => FieldContext>>,
): Config {
  const route53 = freeForm.get('Route53');
  const config: Record<string, unknown> = { file };
  const nested: Record<string, Record<string, unknown> | undefined> = { members: {}, cloudflare: undefined, aws: undefined, http: {} };
  const holder = { Cloudflare: 'cloudflare', Route53: 'aws' } as const;
  for (const spec of TABLES) {
    if (spec.array) {
      config[spec.array.target] = (arrays.get(spec) ?? []).map((c) => spec.array?.element(c(spec.name)));
      continue;
    }
    // A table kept as written fills no Config field.
    if (spec.name !== '' && freeForm.has(spec.name)) continue;
    const into = spec.name === 'Cloudflare' || spec.name === 'Route53' ? holder[spec.name] : undefined;
    if (into !== undefined) {
      if (spec.active && !spec.active(context(spec.name))) continue;
      nested[into] = {};
    }
    for (const f of spec.fields ?? []) {
      if (f.target === undefined) continue;
      const v = values.get(f) ?? undefined;
      const value = f.toConfig ? f.toConfig(v, context(join(f.table, f.key))) : (v ?? f.default);
      if (f.givenTarget !== undefined) config[f.givenTarget] = values.get(f) !== undefined;
      if (value === undefined && f.omitUnset) continue;
      const [head, tail] = f.target.split('.') as [string, string | undefined];
      if (tail === undefined) config[head] = value;
      else (nested[head] ??= {})[tail] = value;
    }
  }
  config.members = nested.members;
  config.cloudflare = nested.cloudflare;
  config.aws = nested.aws;
  // Only the types that use it carry it: an ip or tcp Config is what it always was.
  if (config.probeType === 'http' || config.probeType === 'https') config.http = nested.http;
  config.route53 = route53 ? (plainCopy(route53) as Record<string, unknown>) : undefined;
  return config as unknown as Config;
}

function readTable(out: Out, t: Table, name: string): Table | undefined | null {
  const value = get(t, name);
  if (value === undefined) return undefined;
  if (isTable(value)) return value;
  if (Array.isArray(value) && value.length > 0 && value.every(isTable)) {
    out.errors.push({ key: name, message: `must be a single [${name}] table, got an array of tables ([[${name}]])` });
  } else {
    out.errors.push({ key: name, message: `must be a table (a [${name}] section), got ${describe(value)}` });
  }
  return null;
}

// ===========================================================================
// Unknown keys
// ===========================================================================

function warnUnknownKeys(out: Out, t: Table, tableName: TableName): void {
  const known = knownKeys(tableName);
  for (const k of Object.keys(t)) {
    if (known.includes(k)) continue;
    const key = join(tableName, k);
    const what = isTable(t[k]) ? 'unknown table, ignored' : 'unknown key, ignored';
    const home = homeOf(k, tableName);
    if (home !== undefined) {
      const header = TABLES.find((s) => s.name === home)?.array ? `[[${home}]]` : `[${home}]`;
      const where = home === '' ? 'a top-level key: move it above the first [table] header' : `a key of the ${header} table: move it under ${header}`;
      out.warnings.push({ key, message: `${what}; \`${k}\` is ${where}` });
      continue;
    }
    const near = suggest(k, known);
    const hint =
      near.length === 0
        ? ''
        : `; did you mean ${near.map((n) => `\`${n}\``).join(' or ')}?${near.some((n) => n.toLowerCase() === k.toLowerCase()) ? ' (names are case-sensitive)' : ''}`;
    out.warnings.push({ key, message: `${what}${hint}` });
  }
}

/** The table (other than `current`) that knows key `k`, '' for top level. */
function homeOf(k: string, current: TableName): TableName | undefined {
  const providers: readonly TableName[] = ['Cloudflare', 'Route53'];
  for (const table of CHECKED_TABLES) {
    // One provider's key is no hint for the other's table (`ttl` under [Cloudflare] is not a Route 53 key misplaced).
    if (providers.includes(table) && providers.includes(current)) continue;
    if (table !== current && knownKeys(table).includes(k)) return table;
  }
  return undefined;
}

/** The known keys nearest to `k` within edit distance 2 (case-insensitive). */
export function suggest(k: string, known: readonly string[]): string[] {
  let best = 3;
  let found: string[] = [];
  for (const cand of known) {
    const d = editDistance(k.toLowerCase(), cand.toLowerCase());
    if (d < best) {
      best = d;
      found = [cand];
    } else if (d === best) found.push(cand);
  }
  return found;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent transpositions. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  const at = (i: number, j: number): number => d[i]?.[j] ?? Infinity;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, at(i - 2, j - 2) + 1);
      (d[i] as number[])[j] = v;
    }
  }
  return at(a.length, b.length);
}

/** For a missing required key: point at a present unknown key that looks like a typo of it. */
function typoHint(t: Table, wanted: string, known: readonly string[]): string {
  const typos = Object.keys(t).filter((k) => !known.includes(k) && suggest(k, [wanted]).length > 0);
  return typos.length === 0 ? '' : ` (found ${typos.map((k) => `\`${k}\``).join(', ')}: a typo? names are case-sensitive)`;
}
