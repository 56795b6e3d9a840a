import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoff, ReconcileLoop, type FailureReport, type PassOutcome, type Reconciler } from '../../../src/controller/loop.js';
import { DnsError } from '../../../src/dns/types.js';
import type { Scheduler } from '../../../src/model.js';

/** The reconcile loop's timing under fake timers: coalescing, the timer pass, the backoff. */

const scheduler: Scheduler = { now: () => Date.now(), setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (t) => clearTimeout(t as NodeJS.Timeout) };

class ScriptedReconciler implements Reconciler {
  readonly passes: Array<{ at: number; reason: string }> = [];
  readonly failures: FailureReport[] = [];
  /** Outcomes of the next passes (default ok); each pass takes `passMs`. */
  readonly script: PassOutcome[] = [];
  passMs = 0;
  async runOnce(reason: string): Promise<PassOutcome> {
    this.passes.push({ at: Date.now() - T0, reason });
    if (this.passMs > 0) await new Promise((r) => setTimeout(r, this.passMs));
    return this.script.shift() ?? { ok: true };
  }
  reportFailure(r: FailureReport): void {
    this.failures.push(r);
  }
}

const T0 = 1_000_000;
let stop: AbortController;
beforeEach(() => {
  vi.useFakeTimers({ now: T0 });
  stop = new AbortController();
});
afterEach(() => {
  stop.abort();
  vi.useRealTimers();
});

function loopWith(r: Reconciler, intervalMs = 60_000): ReconcileLoop {
  return new ReconcileLoop(r, { scheduler, signal: stop.signal, intervalMs: () => intervalMs, random: () => 0.99 });
}

describe('ReconcileLoop', () => {
  it('runs at once, then on the timer', async () => {
    const r = new ScriptedReconciler();
    const loop = loopWith(r, 10_000);
    loop.request('start');
    await vi.advanceTimersByTimeAsync(25_000);
    expect(r.passes).toEqual([
      { at: 0, reason: 'start' },
      { at: 10_000, reason: 'timer' },
      { at: 20_000, reason: 'timer' },
    ]);
  });

  it('coalesces requests made while a pass runs into one pass right after it', async () => {
    const r = new ScriptedReconciler();
    r.passMs = 100;
    const loop = loopWith(r);
    loop.request('start');
    loop.request('verdict changed');
    loop.request('verdict changed');
    await vi.advanceTimersByTimeAsync(50);
    loop.request('config reloaded');
    await vi.advanceTimersByTimeAsync(1000);
    expect(r.passes).toEqual([
      { at: 0, reason: 'start' },
      { at: 100, reason: 'pending' },
    ]);
  });

  it('a deferred write brings the next pass forward', async () => {
    const r = new ScriptedReconciler();
    r.script.push({ ok: true, nextInMs: 300 });
    loopWith(r).request('start');
    await vi.advanceTimersByTimeAsync(1000);
    expect(r.passes.map((p) => p.at)).toEqual([0, 300]);
  });

  it('backs off after failures (1 s, 2 s, …) and no request runs before the backoff ends', async () => {
    const r = new ScriptedReconciler();
    const err = new DnsError('server', '502');
    r.script.push({ ok: false, error: err }, { ok: false, error: err }, { ok: true });
    const loop = loopWith(r);
    loop.request('start');
    await vi.advanceTimersByTimeAsync(500);
    loop.request('verdict changed'); // during the backoff: waits for its end
    await vi.advanceTimersByTimeAsync(5000);
    expect(r.passes.map((p) => p.at)).toEqual([0, 995, 995 + 1990]);
    expect(r.failures.map((f) => [f.failures, f.retryInMs])).toEqual([
      [1, 995],
      [2, 1990],
    ]);
    expect(loop.failures).toBe(0);
  });

  it('refused credentials wait a whole interval, but a request may try at once', async () => {
    const r = new ScriptedReconciler();
    r.script.push({ ok: false, error: new DnsError('auth', 'bad token') });
    const loop = loopWith(r, 30_000);
    loop.request('start');
    await vi.advanceTimersByTimeAsync(1);
    expect(r.failures).toEqual([{ error: expect.any(DnsError), failures: 1, retryInMs: 30_000 }]);
    loop.request('verdict changed');
    await vi.advanceTimersByTimeAsync(1);
    expect(r.passes.map((p) => p.at)).toEqual([0, 1]);
  });

  it('stop: no pass starts, the timer is cleared, the running pass is awaited', async () => {
    const r = new ScriptedReconciler();
    r.passMs = 100;
    const loop = loopWith(r, 1000);
    loop.request('start');
    stop.abort();
    const stopped = loop.stop();
    loop.request('late');
    await vi.advanceTimersByTimeAsync(5000);
    await stopped;
    expect(r.passes).toEqual([{ at: 0, reason: 'start' }]);
  });
});

/** Equal jitter (src/backoff.ts) at random 0.99: each wait is 0.995 × its ceiling (1 s, 2 s, 4 s, …, the interval). */
describe('backoff', () => {
  const cases: Array<[string, unknown, number, { nextInMs: number; retryAt: number }]> = [
    ['first server error: up to 1 s', new DnsError('server', 'x'), 1, { nextInMs: 995, retryAt: 995 }],
    ['third: up to 4 s', new DnsError('network', 'x'), 3, { nextInMs: 3980, retryAt: 3980 }],
    ['capped by the interval', new DnsError('server', 'x'), 10, { nextInMs: 9950, retryAt: 9950 }],
    ['Retry-After first', new DnsError('rate-limit', 'x', { retryAfterSeconds: 7 }), 1, { nextInMs: 7000, retryAt: 7000 }],
    ['auth: the interval, no wait for requests', new DnsError('auth', 'x'), 4, { nextInMs: 10_000, retryAt: 0 }],
    ['not a DnsError: backs off', new Error('bug'), 2, { nextInMs: 1990, retryAt: 1990 }],
  ];
  for (const [name, err, failures, want] of cases) {
    it(name, () => expect(backoff(err, failures, 10_000, () => 0.99, 0)).toEqual(want));
  }
});
