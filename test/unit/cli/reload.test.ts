import { EventEmitter } from 'node:events';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createReloader, RELOAD_TIMEOUT_MS, ReloadSkippedError, ReloadTimeoutError, within } from '../../../src/cli/reload.js';
import { catchSignals, type SignalSource } from '../../../src/cli/signals.js';
import { silentLogger } from '../../../src/log.js';

/** A read the test settles by hand; `never` leaves it pending for good (a hung NFS read). */
function reads() {
  const started: Array<{ resolve: (v: string) => void; reject: (e: unknown) => void }> = [];
  return {
    started,
    read: () => new Promise<string>((resolve, reject) => started.push({ resolve, reject })),
  };
}

function setup(timeoutMs?: number) {
  const r = reads();
  const applied: string[] = [];
  const failures: unknown[] = [];
  const reloader = createReloader({ logger: silentLogger(), read: r.read, apply: (v) => applied.push(v), failed: (e) => failures.push(e), timeoutMs });
  return { ...r, applied, failures, reloader };
}

/** Lets promise callbacks run without moving the fake clock. */
const flush = () => vi.advanceTimersByTimeAsync(0);

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('createReloader', () => {
  it('the timeout is 5 s', () => {
    expect(RELOAD_TIMEOUT_MS).toBe(5_000);
  });

  it.each([
    ['a read that succeeds is applied', (s: ReturnType<typeof setup>) => s.started[0]!.resolve('next'), ['next'], []],
    ['a read that fails is reported, nothing applied', (s: ReturnType<typeof setup>) => s.started[0]!.reject(new Error('bad toml')), [], ['bad toml']],
  ] as const)('%s', async (_name, settle, applied, failures) => {
    const s = setup();
    const done = s.reloader.run();
    settle(s);
    await done;
    expect(s.applied).toEqual(applied);
    expect(s.failures.map((e) => (e as Error).message)).toEqual(failures);
  });

  it('an apply that throws is reported as a failed reload', async () => {
    const failures: unknown[] = [];
    const reloader = createReloader({
      logger: silentLogger(),
      read: async () => 'x',
      apply: () => {
        throw new Error('boom');
      },
      failed: (e) => failures.push(e),
    });
    await reloader.run();
    expect(failures.map((e) => (e as Error).message)).toEqual(['boom']);
  });

  it('a read that never returns: run() ends at the timeout with a ReloadTimeoutError, not before', async () => {
    const s = setup();
    let over = false;
    void s.reloader.run().then(() => (over = true));
    await vi.advanceTimersByTimeAsync(RELOAD_TIMEOUT_MS - 1);
    expect(over).toBe(false);
    expect(s.failures).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(over).toBe(true);
    expect(s.failures).toHaveLength(1);
    expect(s.failures[0]).toBeInstanceOf(ReloadTimeoutError);
    expect((s.failures[0] as Error).message).toBe('reading the config file took longer than 5 s (a hung network file system?); gave up waiting');
    expect(s.applied).toEqual([]);
  });

  it('while an abandoned read is still pending, a reload is skipped without starting a second read', async () => {
    const s = setup();
    const first = s.reloader.run();
    await vi.advanceTimersByTimeAsync(RELOAD_TIMEOUT_MS);
    await first;
    for (let i = 0; i < 10; i++) await s.reloader.run();
    expect(s.started).toHaveLength(1); // one blocked fs thread, not eleven
    expect(s.failures.slice(1).every((e) => e instanceof ReloadSkippedError)).toBe(true);
    expect(s.failures).toHaveLength(11);
    expect((s.failures[1] as Error).message).toMatch(
      /^not started: the config read of a reload 5 s ago is still blocked in the file system .*send SIGHUP again/,
    );
  });

  it('when the abandoned read finally returns, its result is discarded and the next reload reads again', async () => {
    const s = setup();
    const first = s.reloader.run();
    await vi.advanceTimersByTimeAsync(RELOAD_TIMEOUT_MS);
    await first;
    s.started[0]!.resolve('stale');
    await flush();
    expect(s.applied).toEqual([]);
    const second = s.reloader.run();
    expect(s.started).toHaveLength(2);
    s.started[1]!.resolve('fresh');
    await second;
    expect(s.applied).toEqual(['fresh']);
  });

  it('an abandoned read that fails later also frees the way', async () => {
    const s = setup();
    const first = s.reloader.run();
    await vi.advanceTimersByTimeAsync(RELOAD_TIMEOUT_MS);
    await first;
    s.started[0]!.reject(new Error('EIO'));
    await flush();
    void s.reloader.run();
    expect(s.started).toHaveLength(2);
    expect(s.failures).toHaveLength(1); // the late failure is logged, not reported as a second failed reload
  });

  it('after close() (stopping) a read that returns is not applied, and no reload starts', async () => {
    const s = setup();
    const done = s.reloader.run();
    s.reloader.close();
    s.started[0]!.resolve('late');
    await done;
    await s.reloader.run();
    expect(s.applied).toEqual([]);
    expect(s.failures).toEqual([]);
    expect(s.started).toHaveLength(1);
  });
});

describe('SIGHUPs through catchSignals into the reloader, with a read that never returns', () => {
  class FakeSignals extends EventEmitter implements SignalSource {}

  it('many SIGHUPs start one read; the queued one after the timeout is skipped; SIGTERM still stops', async () => {
    const s = setup();
    const source = new FakeSignals();
    const forced: number[] = [];
    const gate = catchSignals({ source, onForcedExit: (c) => forced.push(c) });
    let stopped = false;
    const exited = gate.handle({
      logger: silentLogger(),
      onReload: () => s.reloader.run(),
      onStop: async () => {
        s.reloader.close();
        stopped = true;
      },
    });
    for (let i = 0; i < 200; i++) source.emit('SIGHUP', 'SIGHUP');
    await vi.advanceTimersByTimeAsync(RELOAD_TIMEOUT_MS);
    await flush();
    expect(s.started).toHaveLength(1);
    expect(s.failures.map((e) => (e as Error).name)).toEqual(['ReloadTimeoutError', 'ReloadSkippedError']);
    source.emit('SIGTERM', 'SIGTERM');
    expect(await exited).toBe(0);
    expect(stopped).toBe(true);
    expect(forced).toEqual([]);
  });
});

describe('within', () => {
  it.each([
    ['settles first', 10, 'ok'],
    ['times out', 10_000, 'reading /x/goavail.toml took longer than 5 s (a hung network file system?); gave up waiting'],
  ])('%s', async (_name, settleAfterMs, expected) => {
    const p = within(new Promise<string>((r) => setTimeout(() => r('ok'), settleAfterMs)), 5_000, 'reading /x/goavail.toml');
    const outcome = p.then(
      (v) => v,
      (e: unknown) => (e as Error).message,
    );
    await vi.advanceTimersByTimeAsync(10_000);
    expect(await outcome).toBe(expected);
  });
});
