import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { catchSignals, type SignalSource } from '../../../src/cli/signals.js';
import { silentLogger } from '../../../src/log.js';

/** A signal source the test drives; counts listeners so a gap would show. */
class FakeSignals extends EventEmitter implements SignalSource {
  send(signal: NodeJS.Signals): void {
    this.emit(signal, signal);
  }
}

function setup() {
  const source = new FakeSignals();
  const forced: number[] = [];
  const calls: string[] = [];
  let releaseStop: () => void = () => undefined;
  let releaseReload: () => void = () => undefined;
  const gate = catchSignals({ source, onForcedExit: (code) => forced.push(code) });
  const handlers = {
    logger: silentLogger(),
    onReload: () => {
      calls.push('reload');
      return new Promise<void>((r) => (releaseReload = r));
    },
    onStop: () => {
      calls.push('stop');
      return new Promise<void>((r) => (releaseStop = r));
    },
  };
  return { source, gate, forced, calls, handlers, releaseStop: () => releaseStop(), releaseReload: () => releaseReload() };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('catchSignals', () => {
  it('listens to SIGHUP, SIGTERM and SIGINT from the moment it is called', () => {
    const { source } = setup();
    for (const s of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) expect(source.listenerCount(s)).toBe(1);
  });

  it('holds signals during startup without acting on them', () => {
    const { source, gate, calls, forced } = setup();
    source.send('SIGHUP');
    source.send('SIGTERM');
    expect(gate.pending).toEqual(['SIGHUP', 'SIGTERM']);
    expect(calls).toEqual([]);
    expect(forced).toEqual([]);
  });

  it('a second stop signal during startup forces the exit (130)', () => {
    const { source, forced } = setup();
    source.send('SIGINT');
    source.send('SIGHUP');
    expect(forced).toEqual([]);
    source.send('SIGINT');
    expect(forced).toEqual([130]);
  });

  it('a stop caught during startup runs when the handlers take over, and wins over a pending reload', async () => {
    const s = setup();
    s.source.send('SIGHUP');
    s.source.send('SIGTERM');
    const exited = s.gate.handle(s.handlers);
    expect(s.calls).toEqual(['stop']);
    s.releaseStop();
    expect(await exited).toBe(0);
  });

  it('a SIGHUP caught during startup reloads once the handlers take over (several coalesce into one)', async () => {
    const s = setup();
    s.source.send('SIGHUP');
    s.source.send('SIGHUP');
    void s.gate.handle(s.handlers);
    expect(s.calls).toEqual(['reload']);
    s.releaseReload();
    await tick();
    expect(s.calls).toEqual(['reload']);
  });

  it('nothing caught: handle() does nothing until a signal comes', () => {
    const s = setup();
    void s.gate.handle(s.handlers);
    expect(s.calls).toEqual([]);
  });

  it('hands over without a gap: exactly one listener per signal before and after', () => {
    const s = setup();
    void s.gate.handle(s.handlers);
    for (const sig of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) expect(s.source.listenerCount(sig)).toBe(1);
  });

  it('after startup: a SIGHUP during a reload runs one more reload after it', async () => {
    const s = setup();
    void s.gate.handle(s.handlers);
    s.source.send('SIGHUP');
    s.source.send('SIGHUP');
    s.source.send('SIGHUP');
    expect(s.calls).toEqual(['reload']);
    s.releaseReload();
    await tick();
    expect(s.calls).toEqual(['reload', 'reload']);
    s.releaseReload();
    await tick();
    expect(s.calls).toEqual(['reload', 'reload']);
  });

  it('after startup: SIGTERM stops (exit 0), SIGHUP while stopping is ignored, listeners are removed', async () => {
    const s = setup();
    const exited = s.gate.handle(s.handlers);
    s.source.send('SIGTERM');
    s.source.send('SIGHUP');
    expect(s.calls).toEqual(['stop']);
    s.releaseStop();
    expect(await exited).toBe(0);
    for (const sig of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) expect(s.source.listenerCount(sig)).toBe(0);
  });

  it('after startup: a second SIGINT while stopping exits 130 at once', async () => {
    const s = setup();
    const exited = s.gate.handle(s.handlers);
    s.source.send('SIGINT');
    s.source.send('SIGINT');
    expect(await exited).toBe(130);
  });

  it('after startup: a second SIGTERM while stopping forces the exit (130) at once, even if something still holds the process', () => {
    const s = setup();
    void s.gate.handle(s.handlers);
    s.source.send('SIGTERM');
    expect(s.forced).toEqual([]);
    s.source.send('SIGTERM');
    expect(s.forced).toEqual([130]);
  });

  it('a stop that overruns the deadline still exits 0', async () => {
    const s = setup();
    const exited = s.gate.handle({ ...s.handlers, stopDeadlineMs: 20 });
    s.source.send('SIGTERM');
    expect(await exited).toBe(0);
  });

  it('release() (startup failed) removes the early listeners', () => {
    const s = setup();
    s.gate.release();
    for (const sig of ['SIGHUP', 'SIGTERM', 'SIGINT'] as const) expect(s.source.listenerCount(sig)).toBe(0);
  });
});
