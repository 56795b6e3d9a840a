import { closeSync, fchmodSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { cleanEntry, entryProblem } from './state.js';
import type { DrainEntry } from './types.js';

/**
 * The drain state file, so drains survive a restart of any agent. It lives
 * beside the key file (`goavail.drains.json`, see {@link drainStateFile}).
 *
 *     { "version": 1, "entries": [ { "ip": "198.18.0.1", "drained": true, ... } ] }
 *
 * Written whole on every change, atomically: a temporary file in the same
 * folder (mode 0600), fsync, rename over the old one, fsync of the folder;
 * a crash leaves the old file or the new one, never half of one. Reading
 * never throws: a missing file is an empty state; an unreadable, corrupt
 * or wrongly typed one is reported (the caller logs it) and ignored, and
 * one bad entry is skipped while the others are kept.
 */
const FILE_VERSION = 1;

/** Where the drain state of an agent with this key file lives. */
export function drainStateFile(keyFile: string): string {
  return join(dirname(keyFile), 'goavail.drains.json');
}

export interface LoadedDrains {
  readonly entries: readonly DrainEntry[];
  /** What was wrong with the file or its entries (each a sentence naming the file); empty when nothing was. */
  readonly problems: readonly string[];
}

export function loadDrains(file: string): LoadedDrains {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { entries: [], problems: [] };
    return { entries: [], problems: [`${file}: cannot read the drain state (${(err as Error).message}); starting without it`] };
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    return { entries: [], problems: [`${file}: not valid JSON (${(err as Error).message}); starting without the drain state`] };
  }
  if (
    typeof doc !== 'object' ||
    doc === null ||
    (doc as { version?: unknown }).version !== FILE_VERSION ||
    !Array.isArray((doc as { entries?: unknown }).entries)
  ) {
    return { entries: [], problems: [`${file}: not a drain state file (expected {"version": ${FILE_VERSION}, "entries": [...]}); starting without it`] };
  }
  const entries: DrainEntry[] = [];
  const problems: string[] = [];
  (doc as { entries: unknown[] }).entries.forEach((raw, i) => {
    const e = fromJson(raw);
    const problem = entryProblem(e);
    if (problem === undefined) entries.push(cleanEntry(e as DrainEntry));
    else problems.push(`${file}: entries[${i}]: ${problem}; skipped`);
  });
  return { entries, problems };
}

/** JSON has no undefined: an entry without `until` is written with `until: null`. */
function fromJson(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || (raw as { until?: unknown }).until !== null) return raw;
  return { ...raw, until: undefined };
}

/** Writes the state atomically (see above); throws on an I/O error (the caller logs it and goes on). */
export function saveDrains(file: string, entries: readonly DrainEntry[]): void {
  const text = `${JSON.stringify({ version: FILE_VERSION, entries: entries.map((e) => ({ ...cleanEntry(e), until: e.until ?? null })) }, null, 2)}\n`;
  const dir = dirname(file);
  const tmp = join(dir, `.${basename(file)}.${process.pid}.tmp`);
  try {
    rmSync(tmp, { force: true });
    const fd = openSync(tmp, 'wx', 0o600);
    try {
      fchmodSync(fd, 0o600);
      writeSync(fd, text);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  try {
    const d = openSync(dir, 'r');
    try {
      fsyncSync(d);
    } finally {
      closeSync(d);
    }
  } catch {
    // Some file systems refuse to fsync a folder; the rename is done.
  }
}
