import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../../src/agent.js';
import type { Config } from '../../../src/config/schema.js';
import { DnsError, type Change, type DnsRecord } from '../../../src/dns/types.js';
import type { DnsChangeEvent } from '../../../src/events.js';
import { silentLogger } from '../../../src/log.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';
import { FakeProber } from '../../support/fake-prober.js';

/*
 * The reconcile loop under fake timers: every wait (probe interval, backoff,
 * Retry-After, the pass time bound) is advanced, never slept.
 */

const A = '203.0.113.1';
const B = '203.0.113.2';
const WWW = 'www.example.com';
const rec = (content: string) => ({ type: 'A' as const, name: WWW, content, proxied: false, ttl: 1 });

/** FakeDns whose next applies and reads follow a script; it records when each call came. */
class ScriptedDns extends FakeDns {
  /** Run instead of the next applies: may change records itself, then throw (a partly applied plan). */
  readonly applyScript: Array<(changes: readonly Change[], dns: ScriptedDns) => void> = [];
  /** Next reads that never answer until their signal aborts. */
  hangReads = 0;
  readonly attempts: Array<{ at: number; changes: readonly Change[] }> = [];
  readonly reads: number[] = [];

  override async listRecords(names: readonly string[], signal?: AbortSignal): Promise<DnsRecord[]> {
    this.reads.push(Date.now());
    if (this.hangReads > 0) {
      this.hangReads -= 1;
      return new Promise((_, reject) => signal?.addEventListener('abort', () => reject(signal.reason), { once: true }));
    }
    return super.listRecords(names);
  }

  override async apply(changes: readonly Change[]): Promise<void> {
    this.attempts.push({ at: Date.now(), changes: [...changes] });
    const step = this.applyScript.shift();
    if (step) return step(changes, this);
    return super.apply(changes);
  }

  /** Applies one change directly, as the API would have. */
  perform(c: Change): void {
    if (c.op === 'create') this.add(c.record);
    else this.records = this.records.filter((r) => r.id !== c.record.id);
  }
}

let agent: Agent | undefined;
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(async () => {
  const stopping = agent?.stop();
  await vi.runOnlyPendingTimersAsync();
  await stopping;
  agent = undefined;
  vi.useRealTimers();
});

function setup(config: Config, seed = [rec(A), rec(B)]) {
  const prober = new FakeProber();
  const dns = new ScriptedDns(seed);
  const changes: DnsChangeEvent[] = [];
  /** dnsChange summaries and reconcile results, in order. */
  const timeline: string[] = [];
  agent = new Agent({
    config,
    logger: silentLogger(),
    dryRun: false,
    createProber: () => prober,
    createProvider: () => dns,
    // Backoff jitter at its top: each wait is (just under) its ceiling, 1 s, 2 s, …
    random: () => 0.99,
    events: {
      dnsChange: (e) => void (changes.push(e), timeline.push(e.summary)),
      reconcile: (e) => void timeline.push(e.ok ? 'pass ok' : 'pass failed'),
    },
  });
  return { agent, prober, dns, changes, timeline };
}

/** 1 s probe rounds, 2 in a row to change a verdict. */
const config = (over: Parameters<typeof testConfig>[0] = {}) => testConfig({ ips: [A, B], intervalMs: 1000, failureThreshold: 2, ...over });
const ms = (n: number) => vi.advanceTimersByTimeAsync(n);

describe('reconcile: a failed change is re-planned after the wait, never resent', () => {
  it('429 Retry-After 20 s on a delete; the IP is back up during the wait → after it, nothing is deleted and no dnsChange fires', async () => {
    const { agent, prober, dns, changes } = setup(config());
    agent.start();
    await ms(2500);
    expect(agent.verdicts().get(A)).toBe('up');
    dns.applyScript.push(() => {
      throw new DnsError('rate-limit', 'Cloudflare rate limit hit (HTTP 429)', { status: 429, retryAfterSeconds: 20 });
    });
    prober.down.add(A);
    await ms(2000);
    expect(dns.attempts).toHaveLength(1);
    expect(dns.attempts[0]!.changes.map((c) => `${c.op} ${c.record.content}`)).toEqual([`delete ${A}`]);
    const failedAt = dns.attempts[0]!.at;
    const readsBefore = dns.reads.length;
    await ms(3000);
    prober.down.delete(A); // back up well within the 20 s
    await ms(3000);
    expect(agent.verdicts().get(A)).toBe('up');
    // The verdict changes during the wait did not hit the rate-limited API.
    expect(dns.reads.filter((t) => t < failedAt + 20_000)).toHaveLength(readsBefore);
    await ms(20_000);
    expect(dns.reads.some((t) => t >= failedAt + 20_000)).toBe(true); // the pass after the wait re-read…
    expect(dns.attempts).toHaveLength(1); // …and found nothing to do
    expect(dns.contents(WWW)).toEqual([A, B]);
    expect(changes).toEqual([]);
    expect(agent.status().lastReconcile?.ok).toBe(true);
  });

  it('a 5xx on a change: the next pass comes after a backoff of at most 1 s, then 2 s (one formula, src/dns/retry.ts), and re-plans', async () => {
    const { agent, prober, dns, changes } = setup(config());
    agent.start();
    await ms(2500);
    const fail = () => {
      throw new DnsError('server', 'HTTP 500', { status: 500 });
    };
    dns.applyScript.push(fail, fail);
    prober.down.add(A);
    await ms(2000);
    expect(dns.attempts).toHaveLength(1);
    await ms(1000);
    expect(dns.attempts).toHaveLength(2);
    expect(dns.attempts[1]!.at - dns.attempts[0]!.at).toBeLessThanOrEqual(1000);
    await ms(2000);
    expect(dns.attempts).toHaveLength(3);
    expect(dns.attempts[2]!.at - dns.attempts[1]!.at).toBeLessThanOrEqual(2000);
    expect(dns.contents(WWW)).toEqual([B]);
    expect(changes.map((c) => c.summary)).toEqual([`remove A ${WWW} ${A}`]);
  });
});

describe('reconcile: a pass is bounded in time', () => {
  it('a read that never ends fails the pass after min(reconcile_interval, 60 s) with a clear error, and the next pass (after backoff) works', async () => {
    const { agent, prober, dns, changes } = setup(config({ reconcileIntervalMs: 10_000 }));
    dns.hangReads = 1; // the start-up pass hangs
    agent.start();
    await ms(9_900);
    expect(agent.status().lastReconcile).toBeUndefined();
    await ms(200);
    expect(agent.status().lastReconcile?.ok).toBe(false);
    expect(agent.status().lastReconcile?.error).toMatch(/did not finish within 10 s/);
    prober.down.add(A);
    await ms(3000);
    expect(agent.status().lastReconcile?.ok).toBe(true);
    expect(dns.contents(WWW)).toEqual([B]);
    expect(changes).toHaveLength(1);
  });

  it('60 s at most when reconcile_interval is longer', async () => {
    const { agent, dns } = setup(config({ reconcileIntervalMs: 300_000 }));
    dns.hangReads = 1;
    agent.start();
    await ms(59_900);
    expect(agent.status().lastReconcile).toBeUndefined();
    await ms(200);
    expect(agent.status().lastReconcile?.error).toMatch(/did not finish within 60 s/);
  });
});

describe('reconcile: changes a failed apply made anyway are reported', () => {
  const cases: { name: string; perform: (changes: readonly Change[]) => Change[]; error: DnsError; reportedAtOnce: string[]; reportedLater: string[] }[] = [
    {
      name: 'one by one: the create went through, then the delete failed',
      perform: (changes) => changes.filter((c) => c.op === 'create'),
      error: new DnsError('server', 'HTTP 500 while deleting', { status: 500 }),
      reportedAtOnce: [`add A ${WWW} ${B}`],
      reportedLater: [`remove A ${WWW} ${A}`],
    },
    {
      name: 'a batch the server applied but whose answer was lost',
      perform: (changes) => [...changes],
      error: new DnsError('timeout', 'no answer within 10000 ms'),
      reportedAtOnce: [`add A ${WWW} ${B}`, `remove A ${WWW} ${A}`],
      reportedLater: [],
    },
    {
      name: 'nothing applied (batch rejected)',
      perform: () => [],
      error: new DnsError('conflict', 'DNS changed since it was planned'),
      reportedAtOnce: [],
      reportedLater: [`add A ${WWW} ${B}`, `remove A ${WWW} ${A}`],
    },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      // B's record is missing and B is up; A goes down: the plan is "remove A, add B".
      const { agent, prober, dns, changes, timeline } = setup(config(), [rec(A)]);
      prober.down.add(A);
      dns.applyScript.push((planned, d) => {
        for (const change of c.perform(planned)) d.perform(change);
        throw c.error;
      });
      agent.start();
      await ms(5000);
      expect(dns.attempts[0]!.changes).toHaveLength(2);
      expect(dns.contents(WWW)).toEqual([B]);
      // The start-up pass, then the failed one (what it did reported before its error took its path), then the healing pass.
      const failed = timeline.indexOf('pass failed');
      expect(timeline.slice(0, 1)).toEqual(['pass ok']);
      expect(timeline.slice(1, failed).sort()).toEqual([...c.reportedAtOnce].sort());
      expect(timeline.slice(failed + 1, failed + 1 + c.reportedLater.length).sort()).toEqual([...c.reportedLater].sort());
      expect(timeline.slice(failed + 1 + c.reportedLater.length)).toEqual(['pass ok']);
      for (const e of changes) expect(e).toMatchObject({ hostname: WWW, type: 'A', dryRun: false });
      expect(agent.status().lastReconcile?.ok).toBe(true);
    });
  }
});
