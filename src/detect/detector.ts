/**
 * Per-target health detection: consecutive misses and successes.
 *
 * A pure state machine: `step(state, result, now, thresholds)` returns the
 * next state and whether the verdict changed. No timers, no I/O, so tests
 * feed literal timestamps.
 *
 * | verdict  | event   | counters            | becomes                                    |
 * |----------|---------|---------------------|--------------------------------------------|
 * | unknown  | miss    | misses+1, succ=0    | down when misses >= failureThreshold       |
 * | unknown  | success | succ+1, misses=0    | up when successes >= recoveryThreshold     |
 * | up       | miss    | misses+1, succ=0    | down when misses >= failureThreshold       |
 * | down     | success | succ+1, misses=0    | up when successes >= recoveryThreshold     |
 * | any      | none    | untouched           | unchanged (the streak goes on after it)    |
 *
 * `none` is a no-observation result (`local` set: the probe was never sent
 * because this host ran out of descriptors, buffers, memory or ports). It is
 * not a miss and not a success, and it does not break a streak: x-none-x is
 * two consecutive misses. Otherwise any process that could eat this agent's
 * file descriptors could make it delete a healthy IP. The state is returned
 * as it was (lastProbeAt too: the target was not probed).
 *
 * A start-up agent is `unknown` until one threshold is reached; the agent
 * never changes DNS for an unknown target, so a restart cannot flap DNS.
 */
import type { Verdict } from '../model.js';

export type { Verdict } from '../model.js';

export interface Thresholds {
  readonly failureThreshold: number;
  readonly recoveryThreshold: number;
}

export interface TargetState {
  readonly verdict: Verdict;
  /** Consecutive misses (reset by a success). */
  readonly misses: number;
  /** Consecutive successes (reset by a miss). */
  readonly successes: number;
  /** When the current verdict began (ms); undefined while unknown. */
  readonly since: number | undefined;
  /** Last probe time (ms). */
  readonly lastProbeAt: number | undefined;
  /** Last RTT when the last probe succeeded. */
  readonly lastRttMs: number | undefined;
  /** Last miss reason. */
  readonly lastError: string | undefined;
}

export interface ProbeEvent {
  readonly ok: boolean;
  readonly rttMs?: number;
  readonly error?: string;
  /** Set when no probe was sent (a local error such as EMFILE): no observation. */
  readonly local?: string;
}

export interface StepResult {
  readonly state: TargetState;
  /** The verdict before this step, when it changed; undefined otherwise. */
  readonly changedFrom: Verdict | undefined;
}

export const INITIAL: TargetState = Object.freeze({
  verdict: 'unknown',
  misses: 0,
  successes: 0,
  since: undefined,
  lastProbeAt: undefined,
  lastRttMs: undefined,
  lastError: undefined,
});

export function step(state: TargetState, event: ProbeEvent, now: number, t: Thresholds): StepResult {
  if (event.local !== undefined && !event.ok) return { state, changedFrom: undefined };
  const misses = event.ok ? 0 : state.misses + 1;
  const successes = event.ok ? state.successes + 1 : 0;
  let verdict: Verdict = state.verdict;
  if (!event.ok && misses >= t.failureThreshold) verdict = 'down';
  else if (event.ok && successes >= t.recoveryThreshold) verdict = 'up';
  const changed = verdict !== state.verdict;
  return {
    state: {
      verdict,
      misses,
      successes,
      since: changed ? now : state.since,
      lastProbeAt: now,
      lastRttMs: event.ok ? event.rttMs : state.lastRttMs,
      lastError: event.ok ? undefined : event.error,
    },
    changedFrom: changed ? state.verdict : undefined,
  };
}
