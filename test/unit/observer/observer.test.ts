import { describe, expect, it } from 'vitest';
import type { VerdictEvent } from '../../../src/events.js';
import { silentLogger } from '../../../src/log.js';
import type { Scheduler } from '../../../src/model.js';
import { Observer } from '../../../src/observer/observer.js';
import { testConfig } from '../../support/config.js';
import { FakeProber } from '../../support/fake-prober.js';

/** The observer on a hand-made scheduler: every timer it sets is one the test fires. */
class ManualScheduler implements Scheduler {
  t = 1_000_000;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): number {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(id: unknown): void {
    this.timers.delete(id as number);
  }
  get pending(): number {
    return this.timers.size;
  }
  /** Moves the clock to the soonest timer and runs it, then lets the round's promise settle. */
  async fireNext(): Promise<void> {
    const [id, timer] = [...this.timers].sort((a, b) => a[1].at - b[1].at)[0]!;
    this.timers.delete(id);
    this.t = Math.max(this.t, timer.at);
    timer.fn();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

const A = '203.0.113.1';
const B = '203.0.113.2';

describe('Observer', () => {
  it('probe rounds run on the injected scheduler only: detect, vote, quorum, and a verdict change is signalled', async () => {
    const scheduler = new ManualScheduler();
    const prober = new FakeProber();
    const local: VerdictEvent[] = [];
    let changes = 0;
    const stop = new AbortController();
    const o = new Observer(
      {
        logger: silentLogger(),
        events: { localVerdict: (e) => local.push(e) },
        scheduler,
        signal: stop.signal,
        createProber: () => prober,
        selfId: 'self',
        onVerdictChange: () => void (changes += 1),
      },
      testConfig({ ips: [A, B], intervalMs: 1000, failureThreshold: 2, recoveryThreshold: 2 }),
    );
    o.start();
    expect(scheduler.pending).toBe(1); // the first round, at once
    expect(prober.rounds).toBe(0);
    await scheduler.fireNext();
    await scheduler.fireNext();
    expect(prober.rounds).toBe(2);
    expect(local.map((e) => [e.ip, e.to, e.at])).toEqual([
      [A, 'up', 1_001_000],
      [B, 'up', 1_001_000],
    ]);
    expect(o.verdicts()).toEqual(
      new Map([
        [A, 'up'],
        [B, 'up'],
      ]),
    );
    expect(changes).toBe(1);
    prober.down.add(A);
    await scheduler.fireNext();
    await scheduler.fireNext();
    expect(o.verdicts().get(A)).toBe('down');
    expect(o.state().targets.get(A)).toMatchObject({ verdict: 'down', misses: 2, since: 1_003_000 });
    expect(o.standing(A, scheduler.now())).toEqual({ since: 1_003_000, designated: true, rank: 0 }); // alone (min_peers_agree 0): it completes its own quorum
    stop.abort();
    await o.stop();
    expect(scheduler.pending).toBe(0);
    expect(prober.closed).toBe(true);
  });
});
