import { setFlagsFromString } from 'node:v8';

/**
 * How far V8 lets the old generation grow past what the last full GC left
 * live, in percent (V8's `--heap-growing-percent`; its own choice is up to
 * 300 % for a small heap).
 *
 * Why: the agent's per-IP state is replaced every round (pure cores return
 * new objects), so about 5 MB/s of round-lived objects reach the old
 * generation at 10,000 targets, and with V8's factor the old generation
 * climbed from ~25 MB live to ~100 MB before each full GC: RSS peaks of
 * 240 MB. With 50 %, the same runs peaked at 150–157 MB, with the same CPU
 * (user 4.5–5.1 s per 45 s run against 3.8–5.4 s) and 0 false downs (see
 * BENCHMARKS.md, issue 14).
 */
export const HEAP_GROWING_PERCENT = 50;

const FLAG = /--heap[-_]growing[-_]percent/;

/** The V8 flag to set, or undefined when the operator set one (NODE_OPTIONS or node's own arguments): theirs wins. */
export function heapFlag(execArgv: readonly string[], nodeOptions: string | undefined): string | undefined {
  if (execArgv.some((a) => FLAG.test(a)) || FLAG.test(nodeOptions ?? '')) return undefined;
  return `--heap-growing-percent=${HEAP_GROWING_PERCENT}`;
}

/** Sets {@link heapFlag} for this process (`monitor` only: the long-running command). The flag is read at every full GC. */
export function tuneHeap(): void {
  const flag = heapFlag(process.execArgv, process.env['NODE_OPTIONS']);
  if (flag !== undefined) setFlagsFromString(flag);
}
