/**
 * The helpers every test and the benchmark share: waiting, sleeping and
 * scratch folders (free TCP ports: ./net.ts). One implementation each;
 * test/support/cli.ts and bench/lib/agent.ts re-export what they need.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export interface WaitOptions {
  /** Give up after this long (default 20 s). */
  readonly timeoutMs?: number;
  /** Poll this often (default 50 ms). */
  readonly everyMs?: number;
}

/** What `waitFor` resolves with: `fn`'s first truthy result. */
export type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/**
 * Polls `fn` until it returns a truthy value and resolves with it. A throw
 * counts as "not yet" (a server still starting); the last one is named in
 * the timeout error, which names `what`.
 */
export async function waitFor<T>(what: string, fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<Truthy<T>> {
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const everyMs = opts.everyMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as Truthy<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await sleep(everyMs);
  }
}

export interface Scratch {
  readonly dir: string;
  /** Writes `text` to `dir/name` and returns the path. */
  write(name: string, text: string): Promise<string>;
  /** Removes the folder and everything in it. */
  cleanup(): Promise<void>;
}

/** A fresh folder `goavail-<prefix>-XXXXXX` in the OS temp folder. */
export async function scratch(prefix: string): Promise<Scratch> {
  const dir = await mkdtemp(join(tmpdir(), `goavail-${prefix}-`));
  return {
    dir,
    async write(name, text) {
      const p = join(dir, name);
      await writeFile(p, text);
      return p;
    },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
