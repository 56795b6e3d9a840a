/**
 * Which key a TOML "trying to redefine an already defined table or value"
 * error is about, and where it was first defined: the parser names only the
 * line of the second definition.
 *
 * | document                                  | error at | result                                              |
 * |-------------------------------------------|----------|-----------------------------------------------------|
 * | `interval = 2` … `interval = 3`           | line 2   | `interval` is set twice: on line 1 and on line 2    |
 * | `[Cloudflare]` `ttl = 1` … `ttl = 60`     | line 5   | `[Cloudflare] ttl` is set twice: …                  |
 * | `[Cloudflare]` … `[Cloudflare]`           | line 9   | table `[Cloudflare]` is defined twice: …            |
 * | `a.b = 1` … `[a]` `b = 2`                 | line 3   | `[a] b` is set twice: …                             |
 * | a line the scan cannot place              | any      | undefined (the parser's own message stands)         |
 *
 * Only key names are shown, never values (a value may be a secret). The scan
 * is line-based: it does not follow multi-line strings or inline tables, so
 * when it finds no earlier definition it says nothing rather than guess.
 */
export function describeRedefinition(text: string, line: number): string | undefined {
  const lines = text.split(/\r?\n/);
  const target = lines[line - 1];
  if (target === undefined) return undefined;
  let table: string[] = [];
  let arrayIndex = 0;
  const firstHeader = new Map<string, number>();
  const firstKey = new Map<string, number>();
  for (let i = 0; i < line; i++) {
    const parsed = parseLine(lines[i] as string);
    if (parsed === undefined) continue;
    const here = i + 1;
    if (parsed.kind === 'header') {
      table = parsed.path;
      const name = pathKey(table);
      if (parsed.array) {
        arrayIndex++;
        table = [...table, `\u0000${arrayIndex}`]; // each element of an array of tables is its own table
        continue;
      }
      if (here === line) {
        const first = firstHeader.get(name) ?? firstKey.get(name);
        return first === undefined ? undefined : `table ${show(parsed.path, [])} is defined twice: on line ${first} and on line ${line}`;
      }
      if (!firstHeader.has(name)) firstHeader.set(name, here);
      continue;
    }
    const full = [...table, ...parsed.path];
    if (here === line) {
      // the same key, or a key above it set to a plain value (`a = 1`, then `a.b = 2`)
      for (let n = full.length; n > table.length; n--) {
        const first = firstKey.get(pathKey(full.slice(0, n)));
        if (first !== undefined) return `${show(table, parsed.path)} is set twice: on line ${first} and on line ${line}`;
      }
      return undefined;
    }
    const name = pathKey(full);
    if (!firstKey.has(name)) firstKey.set(name, here);
    // a dotted key defines the tables it passes through
    for (let n = table.length + 1; n < full.length; n++) {
      const t = pathKey(full.slice(0, n));
      if (!firstKey.has(t)) firstKey.set(t, here);
    }
  }
  return undefined;
}

type Line = { kind: 'header'; path: string[]; array: boolean } | { kind: 'key'; path: string[] };

const BARE = /^[A-Za-z0-9_-]+$/;

function parseLine(raw: string): Line | undefined {
  const s = raw.trim();
  if (s === '' || s.startsWith('#')) return undefined;
  if (s.startsWith('[')) {
    const array = s.startsWith('[[');
    const close = s.indexOf(array ? ']]' : ']');
    if (close < 0) return undefined;
    const path = splitKey(s.slice(array ? 2 : 1, close));
    return path === undefined ? undefined : { kind: 'header', path, array };
  }
  const eq = keyEnd(s);
  if (eq < 0) return undefined;
  const path = splitKey(s.slice(0, eq));
  return path === undefined ? undefined : { kind: 'key', path };
}

/** Index of the `=` that ends the key (outside quotes), or -1. */
function keyEnd(s: string): number {
  let quote: string | undefined;
  for (let i = 0; i < s.length; i++) {
    const ch = s[i];
    if (quote !== undefined) {
      if (ch === '\\' && quote === '"') i++;
      else if (ch === quote) quote = undefined;
    } else if (ch === '"' || ch === "'") quote = ch;
    else if (ch === '=') return i;
  }
  return -1;
}

/** `a."b.c".d` → ["a", "b.c", "d"]; undefined when it is not a key. */
function splitKey(s: string): string[] | undefined {
  const parts: string[] = [];
  let i = 0;
  while (i <= s.length) {
    while (s[i] === ' ' || s[i] === '\t') i++;
    let part: string;
    const ch = s[i];
    if (ch === '"' || ch === "'") {
      let j = i + 1;
      let out = '';
      while (j < s.length && s[j] !== ch) {
        if (ch === '"' && s[j] === '\\' && j + 1 < s.length) {
          out += s[j + 1];
          j += 2;
        } else out += s[j++];
      }
      if (j >= s.length) return undefined;
      part = out;
      i = j + 1;
    } else {
      let j = i;
      while (j < s.length && s[j] !== '.' && s[j] !== ' ' && s[j] !== '\t') j++;
      part = s.slice(i, j);
      if (!BARE.test(part)) return undefined;
      i = j;
    }
    parts.push(part);
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (i >= s.length) return parts;
    if (s[i] !== '.') return undefined;
    i++;
  }
  return parts;
}

const pathKey = (path: readonly string[]): string => path.join('\u0001');

/** `[Cloudflare] ttl`, `interval`, `[a.b]`: bare names as written, others quoted. */
function show(table: readonly string[], key: readonly string[]): string {
  const name = (p: readonly string[]): string =>
    p
      .filter((x) => !x.startsWith('\u0000'))
      .map((x) => (BARE.test(x) ? x : JSON.stringify(x)))
      .join('.');
  const t = name(table);
  if (key.length === 0) return `[${t}]`;
  return t === '' ? name(key) : `[${t}] ${name(key)}`;
}
