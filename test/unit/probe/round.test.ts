import { describe, expect, it, vi } from 'vitest';
import { runRound, type Outcome, type StartProbe } from '../../../src/probe/round.js';

/** A start function whose targets answer after the delay given in the table (undefined: never). */
function scripted(plan: Record<string, { after?: number; outcome: Outcome } | undefined>, cancelled: string[]): StartProbe {
  return (ip, report) => {
    const step = plan[ip];
    if (!step) return () => cancelled.push(ip);
    if (step.after === undefined) {
      report(step.outcome);
      return undefined;
    }
    const timer = setTimeout(() => report(step.outcome), step.after);
    return () => {
      clearTimeout(timer);
      cancelled.push(ip);
    };
  };
}

describe('runRound', () => {
  it('resolves one result per input, in input order, whatever order the answers come in', async () => {
    const cancelled: string[] = [];
    const start = scripted(
      {
        a: { after: 30, outcome: { ok: true, rttMs: 30 } },
        b: { after: 5, outcome: { ok: false, error: 'refused' } },
        c: { outcome: { ok: false, error: 'not an IP address' } }, // reports synchronously
        d: { after: 15, outcome: { ok: true, rttMs: 15 } },
      },
      cancelled,
    );
    const results = await runRound(['a', 'b', 'c', 'd', 'a'], 1000, undefined, start);
    expect(results).toEqual([
      { ip: 'a', ok: true, rttMs: 30 },
      { ip: 'b', ok: false, error: 'refused' },
      { ip: 'c', ok: false, error: 'not an IP address' },
      { ip: 'd', ok: true, rttMs: 15 },
      { ip: 'a', ok: true, rttMs: 30 },
    ]);
    expect(cancelled).toEqual([]);
  });

  it('turns silent targets into timeout misses at the deadline and cancels exactly those', async () => {
    const cancelled: string[] = [];
    const start = scripted({ up: { after: 1, outcome: { ok: true, rttMs: 1 } } }, cancelled);
    const t0 = performance.now();
    const results = await runRound(['silent1', 'up', 'silent2'], 120, undefined, start);
    const elapsed = performance.now() - t0;
    expect(results.map((r) => [r.ip, r.ok])).toEqual([
      ['silent1', false],
      ['up', true],
      ['silent2', false],
    ]);
    expect(results[0]?.error).toMatch(/timeout/);
    expect(cancelled.sort()).toEqual(['silent1', 'silent2']);
    expect(elapsed).toBeGreaterThanOrEqual(100);
    expect(elapsed).toBeLessThan(5000);
  });

  it('ignores reports that come after the deadline', async () => {
    let late: ((o: Outcome) => void) | undefined;
    const results = await runRound(['x'], 20, undefined, (_ip, report) => {
      late = report;
    });
    late?.({ ok: true, rttMs: 1 });
    expect(results).toEqual([{ ip: 'x', ok: false, error: 'timeout (no answer within 20 ms)' }]);
  });

  it('makes a start that throws a miss for that target only', async () => {
    const results = await runRound(['boom', 'fine'], 1000, undefined, (ip, report) => {
      if (ip === 'boom') throw new Error('kaput');
      report({ ok: true, rttMs: 0 });
    });
    expect(results).toEqual([
      { ip: 'boom', ok: false, error: 'kaput' },
      { ip: 'fine', ok: true, rttMs: 0 },
    ]);
  });

  it('makes a start that throws a local error (EMFILE, ENOBUFS) no observation for that target, not a miss', async () => {
    const results = await runRound(['fd', 'buf', 'route', 'fine'], 1000, undefined, (ip, report) => {
      if (ip === 'fd') throw Object.assign(new Error('socket EMFILE'), { code: 'EMFILE' });
      if (ip === 'buf') throw new Error('No buffer space available');
      if (ip === 'route') throw new Error('Invalid argument'); // blackhole route: about the target
      report({ ok: true, rttMs: 0 });
    });
    expect(results).toEqual([
      { ip: 'fd', ok: false, local: 'EMFILE', error: 'no probe sent: socket EMFILE' },
      { ip: 'buf', ok: false, local: 'ENOBUFS', error: 'no probe sent (ENOBUFS): No buffer space available' },
      { ip: 'route', ok: false, error: 'Invalid argument' },
      { ip: 'fine', ok: true, rttMs: 0 },
    ]);
  });

  it('starts targets in chunks, yielding to the event loop between them', async () => {
    const order: string[] = [];
    const ips = Array.from({ length: 10 }, (_, i) => `t${i}`);
    setImmediate(() => order.push('other work'));
    await runRound(
      ips,
      1000,
      undefined,
      (ip, report) => {
        order.push(ip);
        report({ ok: true, rttMs: 0 });
      },
      { chunk: 4 },
    );
    expect(order.indexOf('other work')).toBeGreaterThan(order.indexOf('t3'));
    expect(order.indexOf('other work')).toBeLessThan(order.indexOf('t9'));
  });

  it('rejects with the abort reason, cancels what is outstanding and starts nothing more', async () => {
    const cancelled: string[] = [];
    const started: string[] = [];
    const controller = new AbortController();
    const ips = Array.from({ length: 20 }, (_, i) => `t${i}`);
    const promise = runRound(
      ips,
      10_000,
      controller.signal,
      (ip) => {
        started.push(ip);
        if (ip === 't5') controller.abort(new Error('shutting down'));
        return () => cancelled.push(ip);
      },
      { chunk: 5 },
    );
    await expect(promise).rejects.toThrow('shutting down');
    expect(started).toEqual(['t0', 't1', 't2', 't3', 't4', 't5']);
    expect(cancelled.sort()).toEqual(['t0', 't1', 't2', 't3', 't4', 't5'].sort());
  });

  it('the deadline flushes before declaring misses: answers it brings count, the rest time out', async () => {
    const reports = new Map<string, (o: { ok: boolean; rttMs?: number }) => void>();
    const results = await runRound(
      ['late-but-there', 'silent'],
      30,
      undefined,
      (ip, report) => {
        reports.set(ip, report);
      },
      { flush: () => reports.get('late-but-there')?.({ ok: true, rttMs: 1 }) },
    );
    expect(results.map((r) => [r.ip, r.ok])).toEqual([
      ['late-but-there', true],
      ['silent', false],
    ]);
  });

  it('a flush that brings every answer resolves with them; a flush that throws changes nothing', async () => {
    let report: ((o: { ok: boolean }) => void) | undefined;
    const all = await runRound(
      ['a'],
      20,
      undefined,
      (_ip, r) => {
        report = r;
      },
      { flush: () => report?.({ ok: true }) },
    );
    expect(all).toEqual([{ ip: 'a', ok: true }]);
    const failed = await runRound(['a'], 20, undefined, () => undefined, {
      flush: () => {
        throw new Error('boom');
      },
    });
    expect(failed[0]).toMatchObject({ ip: 'a', ok: false });
    expect(failed[0]?.error).toMatch(/^timeout/);
  });

  it('rejects at once when the signal is already aborted, and returns [] for no targets', async () => {
    const start = vi.fn<StartProbe>();
    await expect(runRound(['a'], 100, AbortSignal.abort(), start)).rejects.toMatchObject({ name: 'AbortError' });
    await expect(runRound([], 100, undefined, start)).resolves.toEqual([]);
    expect(start).not.toHaveBeenCalled();
  });
});
