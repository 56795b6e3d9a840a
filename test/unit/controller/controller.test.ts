import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Controller, type Desired } from '../../../src/controller/controller.js';
import { DryRunProvider } from '../../../src/dns/dryrun.js';
import type { DnsProvider } from '../../../src/dns/types.js';
import type { DnsChangeEvent, HeldRemovalsEvent, ReconcileEvent } from '../../../src/events.js';
import type { Scheduler, Verdict } from '../../../src/model.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';

/** One controller pass (read → plan → policies → apply → report), one way for real and dry-run providers. */

const A = '203.0.113.1';
const B = '203.0.113.2';
const WWW = 'www.example.com';
const rec = (content: string) => ({ type: 'A' as const, name: WWW, content, proxied: false, ttl: 1 });

function harness(provider: DnsProvider, verdicts: Record<string, Verdict>) {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    new Writable({
      write(chunk, _e, cb) {
        lines.push(JSON.parse(String(chunk)));
        cb();
      },
    }),
  );
  let t = 5_000;
  const scheduler: Scheduler = { now: () => t++, setTimer: () => undefined, clearTimer: () => undefined };
  const changes: DnsChangeEvent[] = [];
  const passes: ReconcileEvent[] = [];
  const held: HeldRemovalsEvent[] = [];
  const desired: Desired = { verdicts: () => new Map(Object.entries(verdicts)) };
  const config = testConfig({ ips: [A, B], hostnames: [WWW] });
  const controller = new Controller(
    { logger, scheduler, desired, events: { dnsChange: (e) => changes.push(e), reconcile: (e) => passes.push(e), heldRemovals: (e) => held.push(e) } },
    config,
    provider,
  );
  return { controller, lines, changes, passes, held, verdicts, run: () => controller.runOnce('test', new AbortController().signal) };
}

describe('Controller.runOnce', () => {
  it('reports the held removals when their set changes, and only then', async () => {
    const dns = new FakeDns([rec(A), rec(B)]);
    const h = harness(dns, { [A]: 'down', [B]: 'down' });
    await h.run();
    await h.run(); // the same set: no second event
    expect(dns.contents(WWW)).toEqual([A, B]);
    expect(h.held).toHaveLength(1);
    expect(h.held[0]!.held).toEqual([
      { type: 'A', hostname: WWW, ip: A },
      { type: 'A', hostname: WWW, ip: B },
    ]);
    h.verdicts[B] = 'up';
    await h.run(); // B is up: A may go, nothing is held
    expect(dns.contents(WWW)).toEqual([B]);
    expect(h.held.map((e) => e.held.length)).toEqual([2, 0]);
  });

  it('a real provider: the change is logged, reported and read as done', async () => {
    const dns = new FakeDns([rec(A), rec(B)]);
    const h = harness(dns, { [A]: 'down', [B]: 'up' });
    expect(await h.run()).toEqual({ ok: true, nextInMs: undefined });
    expect(dns.contents(WWW)).toEqual([B]);
    expect(h.lines.filter((l) => l.action)).toEqual([
      expect.objectContaining({ msg: `remove A ${WWW} ${A}`, action: 'delete', type: 'A', hostname: WWW, ip: A, dryRun: false }),
    ]);
    expect(h.changes).toEqual([expect.objectContaining({ op: 'delete', ip: A, dryRun: false, summary: `remove A ${WWW} ${A}` })]);
    const s = h.controller.state();
    expect(s.lastActions.get(A)?.summary).toBe(`remove A ${WWW} ${A}`);
    expect([...s.lastRead!.get(WWW)!]).toEqual([B]);
    expect(s.lastReconcile).toMatchObject({ ok: true, changes: [`remove A ${WWW} ${A}`] });
    expect(h.passes).toMatchObject([{ ok: true, changes: 1, consecutiveFailures: 0 }]);
  });

  it('dry-run with a simulated zone: logged as "would …", and the zone follows', async () => {
    const h = harness(new DryRunProvider(undefined, [rec(A), rec(B)]), { [A]: 'down', [B]: 'up' });
    await h.run();
    expect(h.lines.filter((l) => l.action)).toEqual([expect.objectContaining({ msg: `would remove A ${WWW} ${A}`, action: 'delete', dryRun: true })]);
    expect(h.changes).toEqual([expect.objectContaining({ op: 'delete', ip: A, dryRun: true, summary: `remove A ${WWW} ${A}` })]);
    expect(h.controller.state().lastActions.get(A)?.summary).toBe(`would remove A ${WWW} ${A}`);
    expect([...h.controller.state().lastRead!.get(WWW)!]).toEqual([B]);
    // the next pass finds nothing to do: each would-be change is reported once
    await h.run();
    expect(h.changes).toHaveLength(1);
  });

  it('dry-run reading a real zone: nothing is written, and the read stays what DNS holds', async () => {
    const dns = new FakeDns([rec(A), rec(B)]);
    const h = harness(new DryRunProvider(dns, []), { [A]: 'down', [B]: 'up' });
    await h.run();
    expect(dns.applied).toEqual([]);
    expect(h.lines.filter((l) => l.action).map((l) => l.msg)).toEqual([`would remove A ${WWW} ${A}`]);
    expect([...h.controller.state().lastRead!.get(WWW)!].sort()).toEqual([A, B]);
  });

  it('a failed read is an outcome, never a rejection', async () => {
    const dns = new FakeDns([rec(A)]);
    dns.failNext.push(new Error('boom'));
    const h = harness(dns, {});
    expect(await h.run()).toEqual({ ok: false, error: new Error('boom') });
    h.controller.reportFailure({ error: new Error('boom'), failures: 1, retryInMs: 990 });
    expect(h.controller.state()).toMatchObject({ consecutiveReconcileFailures: 1, lastReconcile: { ok: false, error: 'boom' } });
    expect(h.lines.at(-1)).toMatchObject({ msg: 'DNS reconcile failed: boom', failures: 1, retryInMs: 990 });
  });
});
