import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import type { Scheduler } from '../../../src/model.js';
import { Observer } from '../../../src/observer/observer.js';
import { testConfig } from '../../support/config.js';
import { TimedProber } from '../../support/fake-prober.js';
import { advance } from '../agent/fake-time.js';

/*
 * What one recheck answer costs the observer: it concerns one IP, so it must
 * not look at every target again (the self-check over all verdicts, every
 * vote). At 10,000 targets and 200 rechecks/s that full pass per answer was
 * most of the agent's work on a loaded machine. The self-check is counted
 * through its module.
 */
const calls = vi.hoisted(() => ({ selfCheck: 0 }));
vi.mock('../../../src/detect/selfcheck.js', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/detect/selfcheck.js')>();
  return {
    ...real,
    selfCheck: (...args: Parameters<typeof real.selfCheck>) => {
      calls.selfCheck++;
      return real.selfCheck(...args);
    },
  };
});

const scheduler: Scheduler = { now: () => Date.now(), setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (t) => clearTimeout(t as NodeJS.Timeout) };

describe('a recheck answer concerns one IP', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: 1_760_000_000_000 });
    calls.selfCheck = 0;
  });
  afterEach(() => vi.useRealTimers());

  it('answers that change no verdict run no self-check over every target; a round still runs one', async () => {
    const ips = Array.from({ length: 60 }, (_, i) => `203.0.113.${i + 10}`);
    const prober = new TimedProber();
    const stop = new AbortController();
    const observer = new Observer(
      {
        logger: silentLogger(),
        events: {},
        scheduler,
        signal: stop.signal,
        createProber: () => prober,
        selfId: 'self',
        onVerdictChange: () => undefined,
      },
      testConfig({ ips, intervalMs: 2000, timeoutMs: 1000, failureThreshold: 3, suspectAfterMs: 100, recheckIntervalMs: 200, maxRecheckRate: 20 }),
    );
    observer.start();
    await advance(9000); // every target up (the first ups came from rounds and rechecks), the 8 s round done
    expect(observer.state().targets.size).toBe(60);
    expect([...observer.state().targets.values()].every((t) => t.verdict === 'up')).toBe(true);
    const before = { selfChecks: calls.selfCheck, rechecks: observer.state().recheckProbes ?? 0 };
    // a blip of 20 targets over the 10 s round: suspect at 10.1 s, rechecked, answering again before a third miss
    const blipped = new Set(ips.slice(0, 20));
    prober.silent = (ip, now) => blipped.has(ip) && now < 1_760_000_010_300;
    await advance(3500); // the rounds at 10 s (done at 11 s, its silent probes' timeout) and 12 s
    stop.abort();
    expect([...observer.state().targets.values()].every((t) => t.verdict === 'up')).toBe(true);
    expect((observer.state().recheckProbes ?? 0) - before.rechecks).toBeGreaterThanOrEqual(20);
    expect(calls.selfCheck - before.selfChecks).toBe(2); // one per round, none per answer
  });
});
