import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../../src/agent.js';
import type { Config } from '../../../src/config/schema.js';
import { DnsError } from '../../../src/dns/types.js';
import { silentLogger } from '../../../src/log.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';
import { FakeProber } from '../../support/fake-prober.js';
import { advance, stopInFakeTime, until } from './fake-time.js';

const A = '203.0.113.1';
const B = '203.0.113.2';
const C = '203.0.113.3';
const WWW = 'www.example.com';
const rec = (content: string, name = WWW) => ({ type: 'A' as const, name, content, proxied: false, ttl: 1 });

/* Fake timers throughout: every wait (probe interval, backoff, the reconcile timer) is advanced, never slept. */
const agents: Agent[] = [];
beforeEach(() => {
  vi.useFakeTimers({ now: 1_000_000 });
});
afterEach(async () => {
  await stopInFakeTime(Promise.all(agents.splice(0).map((a) => a.stop())));
  vi.useRealTimers();
});

function setup(config: Config, seed = config.cloudflare!.ipAddresses.map((ip) => rec(ip))) {
  // every record is under www
  const prober = new FakeProber();
  const dns = new FakeDns(seed);
  const probers: FakeProber[] = [prober];
  const agent = new Agent({
    config,
    logger: silentLogger(),
    dryRun: false,
    createProber: () => probers[probers.length - 1]!,
    createProvider: () => dns,
  });
  agents.push(agent);
  return { agent, prober, dns, probers };
}

describe('agent (single node, fake prober and DNS)', () => {
  it('removes the record of a down IP after the threshold and restores it when up', async () => {
    const { agent, prober, dns } = setup(testConfig({ ips: [A, B] }));
    agent.start();
    await until(() => agent.verdicts().get(A) === 'up', 'A up');
    expect(dns.applied).toEqual([]); // up and present: nothing to do
    prober.down.add(A);
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    expect(dns.applied.flat().filter((c) => c.op === 'delete')).toHaveLength(1);
    prober.down.delete(A);
    await until(() => dns.contents(WWW).join() === [A, B].sort().join(), 'A restored');
    expect(dns.applied.flat().filter((c) => c.op === 'create')).toHaveLength(1);
  });

  it('changes nothing while targets are unknown (start-up)', async () => {
    const config = testConfig({ ips: [A, B], failureThreshold: 1000, recoveryThreshold: 1000 });
    const { agent, prober, dns } = setup(config, [rec(A)]);
    prober.down.add(A);
    agent.start();
    await until(() => prober.rounds >= 5, 'five rounds');
    expect(dns.applied).toEqual([]);
    expect(dns.listCalls).toBeGreaterThanOrEqual(1); // the start-up pass read DNS
  });

  it('keeps the last record when every IP of a hostname is down', async () => {
    const { agent, prober, dns } = setup(testConfig({ ips: [A, B] }));
    prober.down.add(A).add(B);
    agent.start();
    await until(() => agent.verdicts().get(A) === 'down' && agent.verdicts().get(B) === 'down', 'both down');
    await until(() => agent.status().held.length === 2, 'held');
    expect(dns.contents(WWW)).toEqual([A, B]);
    expect(dns.applied).toEqual([]);
  });

  it('retries a failed apply and heals', async () => {
    const { agent, prober, dns } = setup(testConfig({ ips: [A, B] }));
    agent.start();
    await until(() => agent.verdicts().get(A) === 'up', 'A up');
    dns.failNext.push(new DnsError('server', 'HTTP 500'), new DnsError('rate-limit', 'HTTP 429'));
    prober.down.add(A);
    await until(() => agent.status().consecutiveReconcileFailures >= 1, 'a failure');
    await until(() => dns.contents(WWW).join() === B, 'A removed after retries', 15_000);
    expect(agent.status().consecutiveReconcileFailures).toBe(0);
    expect(agent.status().lastReconcile?.ok).toBe(true);
  });

  it('heals a manual edit on the reconcile timer', async () => {
    const { agent, dns } = setup(testConfig({ ips: [A, B], reconcileIntervalMs: 200 }));
    agent.start();
    await until(() => agent.verdicts().get(B) === 'up', 'B up');
    await advance(50);
    dns.records = dns.records.filter((r) => r.content !== B); // someone deleted it by hand
    await until(() => dns.contents(WWW).includes(B), 'B restored by the timer');
    expect(dns.contents(WWW)).toEqual([A, B]); // no duplicate
  });

  it('reload: new IPs start unknown, removed IPs stop being probed and their records are left alone', async () => {
    const config = testConfig({ ips: [A, B] });
    const { agent, prober, dns } = setup(config, [rec(A), rec(B)]);
    agent.start();
    await until(() => agent.verdicts().get(B) === 'up', 'B up');
    agent.reload(testConfig({ ips: [A, C] }));
    expect(agent.verdicts().get(C)).toBe('unknown');
    expect(agent.verdicts().has(B)).toBe(false);
    prober.down.add(B);
    await until(() => prober.lastIps.join() === [A, C].join(), 'probing the new set');
    await until(() => dns.contents(WWW).includes(C), 'C added once up');
    await advance(100);
    expect(dns.contents(WWW)).toEqual([A, B, C]); // B is no longer managed: left alone
  });

  it('reload: a changed probe type builds a new prober and closes the old one', async () => {
    const config = testConfig({ ips: [A] });
    const { agent, probers } = setup(config);
    agent.start();
    const first = probers[0]!;
    await until(() => first.rounds >= 2, 'rounds');
    probers.push(new FakeProber());
    agent.reload({ ...config, probeType: 'tcp' });
    await until(() => probers[1]!.rounds >= 2, 'new prober used');
    await until(() => first.closed, 'old prober closed');
  });

  it('stop() ends the loops', async () => {
    const { agent, prober } = setup(testConfig());
    agent.start();
    await until(() => prober.rounds >= 2, 'rounds');
    await agent.stop();
    const n = prober.rounds;
    await advance(100);
    expect(prober.rounds).toBe(n);
    expect(prober.closed).toBe(true);
  });

  it('self-check: with its canary unreachable, the agent abstains and removes nothing; when it answers again, it acts', async () => {
    const CANARY = '198.51.100.53';
    const { agent, prober, dns } = setup(testConfig({ ips: [A, B], canaries: [CANARY] }));
    prober.down.add(CANARY);
    agent.start();
    await until(() => agent.status().selfCheck.state === 'canaries-failing', 'canaries failing');
    prober.down.add(A);
    await until(() => agent.status().targets.find((t) => t.ip === A)?.local.verdict === 'down', 'A locally down');
    await advance(200);
    expect(agent.status().targets.find((t) => t.ip === A)?.vote).toBe('unknown');
    expect(dns.applied).toEqual([]);
    prober.down.delete(CANARY);
    await until(() => dns.contents(WWW).join() === B, 'A removed once the canary answers');
    expect(agent.status().selfCheck.state).toBe('healthy');
    expect(prober.lastIps).toContain(CANARY);
  });

  it('self-check: most IPs down at once freezes removals', async () => {
    const ips = ['203.0.113.11', '203.0.113.12', '203.0.113.13', '203.0.113.14'];
    const { agent, prober, dns } = setup(testConfig({ ips, freezeMinTargets: 4 }));
    agent.start();
    await until(() => ips.every((ip) => agent.verdicts().get(ip) === 'up'), 'all up');
    for (const ip of ips.slice(0, 3)) prober.down.add(ip);
    await until(() => agent.status().selfCheck.state === 'too-many-down', 'share rule');
    await advance(200);
    expect(dns.applied).toEqual([]);
    // two recover: 1 of 4 down is below the share, so the one still down is removed
    prober.down.delete(ips[0]!);
    prober.down.delete(ips[1]!);
    await until(() => !dns.contents(WWW).includes(ips[2]!), 'the remaining down IP removed');
    expect(dns.contents(WWW)).toEqual([ips[0], ips[1], ips[3]].sort());
  });

  it.each([
    ['every probe of the round fails with EMFILE', (p: FakeProber): void => void (p.notSent = 'EMFILE'), 'no probe could be sent: EMFILE'],
    [
      'the whole round rejects with EMFILE',
      (p: FakeProber): void => void (p.reject = Object.assign(new Error('socket: too many open files'), { code: 'EMFILE' })),
      'no probe could be sent: EMFILE',
    ],
    ['the whole round rejects for another reason', (p: FakeProber): void => void (p.reject = new Error('prober bug')), 'no probe could be sent: round-failed'],
  ] as const)(
    'no observation (%s): verdicts are kept, nothing leaves DNS, the self-check abstains until probes go out again',
    async (_name, breakIt, detail) => {
      const { agent, prober, dns } = setup(testConfig({ ips: [A, B] }));
      agent.start();
      await until(() => agent.verdicts().get(A) === 'up' && agent.verdicts().get(B) === 'up', 'both up');
      const before = agent.status().targets.map((t) => t.local);
      breakIt(prober);
      const rounds = prober.rounds;
      await until(() => agent.status().selfCheck.state === 'no-observations', 'self-check abstains');
      expect(agent.status().selfCheck.detail).toBe(detail);
      await until(() => prober.rounds >= rounds + 6, 'six rounds without an observation (failure threshold 2)');
      // Not one miss counted: the detector state is exactly as before.
      expect(agent.status().targets.map((t) => t.local)).toEqual(before);
      expect(agent.verdicts().get(A)).toBe('up');
      expect(agent.verdicts().get(B)).toBe('up');
      expect(dns.applied).toEqual([]);
      expect(dns.contents(WWW)).toEqual([A, B]);
      // Observations return: healthy again, and a real failure is acted on.
      prober.notSent = undefined;
      prober.reject = undefined;
      await until(() => agent.status().selfCheck.state === 'healthy', 'healthy again');
      prober.down.add(A);
      await until(() => dns.contents(WWW).join() === B, 'A removed once it really misses');
    },
  );

  it('while the self-check abstains for no observations, an IP already down votes unknown instead of down', async () => {
    const { agent, prober } = setup(testConfig({ ips: [A, B] }));
    prober.down.add(A);
    agent.start();
    await until(() => agent.status().targets.find((t) => t.ip === A)?.vote === 'down', 'A voted down');
    prober.notSent = 'ENOBUFS';
    await until(() => agent.status().selfCheck.state === 'no-observations', 'abstaining');
    const a = agent.status().targets.find((t) => t.ip === A)!;
    expect(a.local.verdict).toBe('down');
    expect(a.vote).toBe('unknown');
  });

  it('probes that cannot be sent are warned about once for the round, not per IP, and not again every round', async () => {
    const lines: Array<{ level: number; msg: string; reasons?: Record<string, number>; notSent?: number; targets?: number }> = [];
    const logger = pino({ level: 'info' }, { write: (l: string) => void lines.push(JSON.parse(l) as (typeof lines)[number]) });
    const prober = new FakeProber();
    const agent = new Agent({
      config: testConfig({ ips: [A, B, C] }),
      logger,
      dryRun: false,
      createProber: () => prober,
      createProvider: () => new FakeDns([rec(A), rec(B), rec(C)]),
    });
    agents.push(agent);
    prober.notSent = 'EMFILE';
    agent.start();
    await until(() => prober.rounds >= 10, 'ten rounds');
    const warnings = lines.filter((l) => /could not be sent/.test(l.msg));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({
      level: 40,
      reasons: { EMFILE: 3 },
      notSent: 3,
      targets: 3,
      msg: '3 of 3 probes could not be sent (EMFILE): no observation for those targets, their verdicts are kept (not counted as misses)',
    });
    prober.notSent = undefined;
    await until(() => lines.some((l) => l.msg === 'probes are sent again: every target observed this round'), 'the all-clear');
  });

  it('status explains why an IP is out of DNS', async () => {
    const { agent, prober, dns } = setup(testConfig({ ips: [A, B] }));
    agent.start();
    await until(() => agent.verdicts().get(A) === 'up', 'A up');
    prober.down.add(A);
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    await until(() => agent.status().targets.find((t) => t.ip === A)?.inDns[WWW] === false, 'status sees it out');
    const t = agent.status().targets.find((x) => x.ip === A)!;
    expect(t.why).toMatch(/^down by agreement of self since /);
    expect(t.lastAction?.summary).toBe(`remove A ${WWW} ${A}`);
    expect(agent.status().targets.find((x) => x.ip === B)!.inDns[WWW]).toBe(true);
  });
});
