import type { WriterStanding } from '../model.js';
import type { Change } from './types.js';

/**
 * Plan policies after the safety rules (src/dns/plan.ts keepLastRecord):
 * pure filters over a plan's changes. Today: writer election, so that in a
 * cluster one agent writes each change.
 */

/**
 * How long the writer waits after the quorum completes before it writes,
 * from the recent gossip delays (receive time − send time, ms).
 *
 * Two agents that turn within the gossip delay each see the quorum
 * completed by themselves until the other's vote arrives (measured on a
 * loaded 2-core machine: an agent that turned 5 ms after another had not
 * heard of it 11 ms later, and both wrote). Once the earlier vote has
 * arrived only the real completer still counts itself the writer. Gossip
 * delivers in ~3 ms (p99 18 ms) on an idle machine and far slower on a
 * loaded one, so the wait follows what messages take now:
 *
 * | recent delays           | settle                                  |
 * |-------------------------|-----------------------------------------|
 * | none yet                | {@link SETTLE_MAX_MS}                   |
 * | some                    | 2 × the largest, within [MIN, MAX]      |
 *
 * A delay below 0 (a peer clock behind ours) counts as 0; one above the
 * cap (a peer clock ahead) as the cap.
 */
export function writerSettleMs(recentDelaysMs: readonly number[]): number {
  if (recentDelaysMs.length === 0) return SETTLE_MAX_MS;
  const worst = Math.max(...recentDelaysMs.map((d) => Math.min(Math.max(d, 0), SETTLE_MAX_MS)));
  return Math.min(Math.max(2 * worst, SETTLE_MIN_MS), SETTLE_MAX_MS);
}
export const SETTLE_MIN_MS = 20;
export const SETTLE_MAX_MS = 500;

/** A non-writer applies a change itself once it has been pending this long. */
export function writerGraceMs(config: { readonly intervalMs: number }): number {
  return Math.max(3 * config.intervalMs, 3_000);
}

export interface WriterTiming {
  readonly now: number;
  /** {@link writerSettleMs} of the recent gossip delays. */
  readonly settleMs: number;
  /** {@link writerGraceMs}. */
  readonly graceMs: number;
}

/**
 * How long before this agent may write a change to one IP (0: now), and
 * whether it is the designated writer. `standing` undefined: single node,
 * every change is this agent's to write at once. Age = now − since.
 *
 * | standing                    | verdict age              | wait                 | writer |
 * |-----------------------------|--------------------------|----------------------|--------|
 * | single node                 | any                      | 0                    | yes    |
 * | cluster verdict unknown     | —                        | 0                    | no     |
 * | designated                  | < settle                 | settle − age         | yes    |
 * | designated                  | ≥ settle                 | 0                    | yes    |
 * | not designated, rank r      | < grace × (1 + r)        | grace × (1 + r) − age| no     |
 * | not designated, rank r      | ≥ grace × (1 + r)        | 0                    | no     |
 *
 * So a dead writer delays a change by a grace period, never loses it, and
 * two agents that both think the other is the writer do not write at the
 * same moment (ranks differ).
 */
export function writeDelay(standing: WriterStanding | undefined, t: WriterTiming): { readonly ms: number; readonly writer: boolean } {
  if (!standing) return { ms: 0, writer: true };
  if (standing.since === undefined) return { ms: 0, writer: false };
  const age = t.now - standing.since;
  if (standing.designated) return { ms: Math.max(0, t.settleMs - age), writer: true };
  return { ms: Math.max(0, t.graceMs * (1 + standing.rank) - age), writer: false };
}

export interface WriterPlan {
  /** Changes this agent writes now. */
  readonly writable: readonly Change[];
  /** Changes this agent will write as the writer once the settle has passed. */
  readonly settling: readonly Change[];
  /** Changes left to another agent (this one writes them after its grace). */
  readonly deferred: readonly Change[];
  /** When the soonest held-back change may be written (ms from now); undefined if none. */
  readonly nextInMs: number | undefined;
}

/**
 * Writer election as a plan policy: splits the changes by {@link writeDelay}
 * of each change's IP. `standingOf` undefined: single node (all writable).
 */
export function electWriter(changes: readonly Change[], standingOf: ((ip: string) => WriterStanding) | undefined, t: WriterTiming): WriterPlan {
  const writable: Change[] = [];
  const settling: Change[] = [];
  const deferred: Change[] = [];
  let nextInMs: number | undefined;
  for (const c of changes) {
    const d = writeDelay(standingOf?.(c.record.content), t);
    if (d.ms === 0) writable.push(c);
    else {
      (d.writer ? settling : deferred).push(c);
      nextInMs = Math.min(nextInMs ?? d.ms, d.ms);
    }
  }
  return { writable, settling, deferred, nextInMs };
}
