/**
 * The effective configuration for humans (`goavail config`, startup logs).
 *
 * Why the TOML key names and not the `Config` field names: the operator
 * compares this output with the file they wrote. Defaults are filled in,
 * durations are back in seconds, hostnames are shown fully qualified, and
 * secrets are masked without revealing any part of them (not even a prefix
 * or their length). Which keys there are, in which order, and which are
 * secret comes from the field table (fields.ts).
 */
import { MASK, TABLES, type Field } from './fields.js';
import type { Config } from './schema.js';

/** Keys in the free-form [Route53] table whose values are masked. */
const SECRET_KEY = /secret|password|passwd|token|credential|(^|_)key($|_)|access_key/i;

export function printableConfig(config: Config): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  // Checked tables in table order; the free-form ones (kept as written) last.
  for (const spec of TABLES) {
    if (spec.fields === undefined || spec.printed?.(config) === false) continue;
    if (spec.array) {
      const list = config[spec.array.target] as readonly unknown[];
      out[spec.name] = list.map((e) => spec.array?.print(e));
      continue;
    }
    // Another provider's table (not checked, so not in the Config): not printed from fields.
    if (!spec.fields.some((f) => holderOf(f, config) !== undefined)) continue;
    const table: Record<string, unknown> = spec.name === '' ? out : {};
    for (const f of spec.fields) {
      const value = printed(f, config);
      if (value !== undefined) table[f.key] = value;
    }
    if (spec.name !== '') out[spec.name] = table;
  }
  if (config.route53 !== undefined) out.Route53 = maskTable(config.route53);
  return out;
}

/** The object of `config` that holds a field's value (config itself, or a nested table); undefined when absent. */
function holderOf(f: Field<unknown>, config: Config): Record<string, unknown> | undefined {
  if (f.target === undefined) return undefined;
  const [head, tail] = f.target.split('.') as [keyof Config, string | undefined];
  return tail === undefined ? (config as unknown as Record<string, unknown>) : (config[head] as unknown as Record<string, unknown> | undefined);
}

/** A field's printed value; undefined: not printed (no such Config field, or unset). */
function printed(f: Field<unknown>, config: Config): unknown {
  const holder = holderOf(f, config);
  if (f.target === undefined || holder === undefined) return undefined;
  const tail = f.target.split('.')[1];
  const value = holder[tail ?? f.target];
  if (f.print) return f.print(value);
  if (value === undefined) return undefined;
  if (f.secret) return Array.isArray(value) ? value.map(() => MASK) : MASK;
  return Array.isArray(value) ? [...value] : value;
}

function maskTable(t: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) {
    const value = SECRET_KEY.test(k)
      ? MASK
      : v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date)
        ? maskTable(v as Record<string, unknown>)
        : v;
    // defineProperty: a key named `__proto__` must stay a plain key.
    Object.defineProperty(o, k, { value, enumerable: true, writable: true, configurable: true });
  }
  return o;
}
