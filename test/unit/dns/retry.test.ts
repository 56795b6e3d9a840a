import { describe, expect, it } from 'vitest';
import { abortableSleep, retryDelayMs, withRetry } from '../../../src/dns/retry.js';
import { DnsError, type DnsErrorKind } from '../../../src/dns/types.js';

/** A sleep that records the waits instead of waiting. */
function fakeSleep(): { sleep: (ms: number, signal?: AbortSignal) => Promise<void>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    sleep: async (ms, signal) => {
      signal?.throwIfAborted();
      waits.push(ms);
    },
  };
}

/** fn that fails with the given errors in turn, then returns 'ok'. */
function failing(errors: unknown[]): { fn: (attempt: number) => Promise<string>; attempts: number[] } {
  const attempts: number[] = [];
  return {
    attempts,
    fn: async (attempt) => {
      attempts.push(attempt);
      const err = errors[attempts.length - 1];
      if (err !== undefined) throw err;
      return 'ok';
    },
  };
}

const err = (kind: DnsErrorKind, retryAfterSeconds?: number): DnsError =>
  new DnsError(kind, kind, retryAfterSeconds === undefined ? {} : { retryAfterSeconds });

describe('retryDelayMs', () => {
  const cases: { name: string; error: DnsError; attempt: number; random: number; opts?: object; want: number }[] = [
    { name: 'first backoff, random 0.5: 250 + 0.5 × 250', error: err('server'), attempt: 1, random: 0.5, want: 375 },
    { name: 'second backoff doubles the ceiling', error: err('server'), attempt: 2, random: 0.5, want: 750 },
    { name: 'third backoff', error: err('timeout'), attempt: 3, random: 0.999, want: 1999 },
    { name: 'ceiling capped at maxDelayMs', error: err('network'), attempt: 10, random: 0.5, want: 6000 },
    { name: 'least jitter is half the ceiling, never zero', error: err('server'), attempt: 4, random: 0, want: 2000 },
    { name: 'custom base and cap', error: err('server'), attempt: 3, random: 0.5, opts: { baseDelayMs: 10, maxDelayMs: 30 }, want: 22 },
    { name: 'Retry-After wins over backoff', error: err('rate-limit', 3), attempt: 1, random: 0.5, want: 3000 },
    { name: 'Retry-After 0 means now', error: err('rate-limit', 0), attempt: 2, random: 0.5, want: 0 },
    { name: 'Retry-After fraction rounds up', error: err('rate-limit', 0.0015), attempt: 1, random: 0.5, want: 2 },
    { name: 'Retry-After capped at 30 s', error: err('rate-limit', 3600), attempt: 1, random: 0.5, want: 30_000 },
    { name: 'Retry-After cap configurable', error: err('rate-limit', 5), attempt: 1, random: 0.5, opts: { maxRetryAfterMs: 1000 }, want: 1000 },
    { name: 'rate limit without Retry-After backs off', error: err('rate-limit'), attempt: 2, random: 0.25, want: 625 },
  ];
  for (const c of cases) {
    it(c.name, () => {
      expect(retryDelayMs(c.error, c.attempt, { random: () => c.random, ...c.opts })).toBe(c.want);
    });
  }
});

describe('withRetry', () => {
  const cases: { name: string; errors: unknown[]; attempts?: number; wantResult?: string; wantThrow?: unknown; wantAttempts: number; wantWaits: number[] }[] = [
    { name: 'success first time', errors: [], wantResult: 'ok', wantAttempts: 1, wantWaits: [] },
    { name: 'server error then success', errors: [err('server')], wantResult: 'ok', wantAttempts: 2, wantWaits: [375] },
    { name: 'timeout, network, then success', errors: [err('timeout'), err('network')], wantResult: 'ok', wantAttempts: 3, wantWaits: [375, 750] },
    { name: 'rate limit waits Retry-After', errors: [err('rate-limit', 2)], wantResult: 'ok', wantAttempts: 2, wantWaits: [2000] },
    { name: 'conflict is retryable', errors: [err('conflict')], wantResult: 'ok', wantAttempts: 2, wantWaits: [375] },
    {
      name: 'gives up after 4 attempts by default',
      errors: [err('server'), err('server'), err('server'), err('server', 1)],
      wantThrow: 'last',
      wantAttempts: 4,
      wantWaits: [375, 750, 1500],
    },
    { name: 'attempts: 1 means no retry', errors: [err('server')], attempts: 1, wantThrow: 'first', wantAttempts: 1, wantWaits: [] },
    { name: 'auth is not retried', errors: [err('auth')], wantThrow: 'first', wantAttempts: 1, wantWaits: [] },
    { name: 'bad-request is not retried', errors: [err('bad-request')], wantThrow: 'first', wantAttempts: 1, wantWaits: [] },
    { name: 'not-found is not retried', errors: [err('not-found')], wantThrow: 'first', wantAttempts: 1, wantWaits: [] },
    { name: 'bad-response is not retried', errors: [err('bad-response')], wantThrow: 'first', wantAttempts: 1, wantWaits: [] },
    { name: 'a plain Error is not retried', errors: [new TypeError('boom')], wantThrow: 'first', wantAttempts: 1, wantWaits: [] },
    { name: 'stops at the first non-retryable error', errors: [err('server'), err('auth')], wantThrow: 'last', wantAttempts: 2, wantWaits: [375] },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { sleep, waits } = fakeSleep();
      const { fn, attempts } = failing(c.errors);
      const retries: [string, number, number][] = [];
      const p = withRetry(fn, {
        sleep,
        random: () => 0.5,
        ...(c.attempts !== undefined ? { attempts: c.attempts } : {}),
        onRetry: (e, delayMs, attempt) => retries.push([e.kind, delayMs, attempt]),
      });
      const outcome = await p.then(
        (value) => ({ value }),
        (error: unknown) => ({ error }),
      );
      if (c.wantThrow === undefined) {
        expect(outcome).toEqual({ value: c.wantResult });
      } else {
        const expected = c.wantThrow === 'first' ? c.errors[0] : c.errors[c.wantAttempts - 1];
        expect('error' in outcome && outcome.error).toBe(expected);
      }
      expect(attempts).toEqual(Array.from({ length: c.wantAttempts }, (_, i) => i + 1));
      expect(waits).toEqual(c.wantWaits);
      expect(retries.map((r) => r[1])).toEqual(c.wantWaits);
      expect(retries.map((r) => r[2])).toEqual(c.wantWaits.map((_, i) => i + 1));
    });
  }

  it('rejects with the abort reason when aborted during a wait, without another attempt', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    let calls = 0;
    const p = withRetry(
      async () => {
        calls++;
        throw err('server');
      },
      { signal: controller.signal, baseDelayMs: 60_000, maxDelayMs: 60_000, random: () => 0.99 },
    );
    setImmediate(() => controller.abort(reason)); // once the first attempt failed and the wait began
    await expect(p).rejects.toBe(reason);
    expect(calls).toBe(1);
  });

  it('does not start when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort(new Error('already'));
    let calls = 0;
    await expect(
      withRetry(
        async () => {
          calls++;
          return 1;
        },
        { signal: controller.signal },
      ),
    ).rejects.toThrow('already');
    expect(calls).toBe(0);
  });

  it('an abort during an attempt rejects with the reason, not the attempt error', async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const { sleep, waits } = fakeSleep();
    const p = withRetry(
      async () => {
        controller.abort(reason);
        throw err('timeout');
      },
      { signal: controller.signal, sleep },
    );
    await expect(p).rejects.toBe(reason);
    expect(waits).toEqual([]);
  });
});

describe('abortableSleep', () => {
  it('resolves after the delay', async () => {
    await expect(abortableSleep(1)).resolves.toBeUndefined();
  });
  it('rejects at once with the reason when aborted', async () => {
    const controller = new AbortController();
    const p = abortableSleep(60_000, controller.signal);
    controller.abort(new Error('bye'));
    await expect(p).rejects.toThrow('bye');
  });
});
