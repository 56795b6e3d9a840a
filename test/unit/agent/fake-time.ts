import { vi } from 'vitest';

/**
 * Waiting in fake time (vi.useFakeTimers): the agent's timers, the memory
 * network and the fake DNS all run on it, so a test advances the clock
 * instead of sleeping.
 */

/** Lets `ms` of fake time pass, running every timer due in it. */
export async function advance(ms: number): Promise<void> {
  await vi.advanceTimersByTimeAsync(ms);
}

/** Advances fake time in `stepMs` steps until `fn` is truthy; fails after `maxMs` of fake time. */
export async function until<T>(fn: () => T, what: string, maxMs = 20_000, stepMs = 10): Promise<NonNullable<T>> {
  for (let waited = 0; ; waited += stepMs) {
    const v = fn();
    if (v) return v as NonNullable<T>;
    if (waited >= maxMs) throw new Error(`timed out after ${maxMs} ms of fake time waiting for ${what}`);
    await vi.advanceTimersByTimeAsync(stepMs);
  }
}

/** Runs `stop` while letting fake time pass, so a pass or round in flight can end. */
export async function stopInFakeTime(stop: Promise<unknown>): Promise<void> {
  await vi.runOnlyPendingTimersAsync();
  await stop;
}
