import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsEnv } from '../support/aws-env.js';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { startFakeRoute53, type FakeRoute53 } from '../support/fake-route53.js';
import { scratch, sleep, waitFor, type Scratch } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { createNsLab, type NsLab } from '../support/netns.js';

/**
 * Standby IPs with the built CLI, --no-dry-run, real ICMP to namespace
 * hosts: two primaries and one standby. Both primaries stop answering →
 * the standby's record replaces the last primary's (in one apply, the
 * create first);
 * they answer again → the standby goes, failback_delay after they came
 * back and not before. Once with the Cloudflare stand-in, once with the
 * Route 53 one; /status shows the roles.
 */
const ZONE = 'example.com';
const WWW = 'www.example.com';
const TOKEN = 'e2e-token';
const FAILBACK_S = 4;

function config(table: 'Cloudflare' | 'Route53', primaries: string[], standby: string): string {
  const list = (xs: string[]) => xs.map((x) => `"${x}"`).join(', ');
  const zoneKey = table === 'Cloudflare' ? 'dns_domain' : 'aws_domain';
  return `
failure_threshold = 2
recovery_threshold = 2
interval = 0.4
timeout = 0.2
reconcile_interval = 30
status_addr = "127.0.0.1:0"
${table === 'Route53' ? 'dns_provider = "route53"' : ''}
[${table}]
${zoneKey} = "${ZONE}"
hostnames = ["www"]
ip_addresses = [${list(primaries)}]
standby_ips = ["${standby}"]
min_active = 1
failback_delay = ${FAILBACK_S}
`;
}

interface StatusTarget {
  ip: string;
  role: string;
  standby: { failover: boolean; presence: string; failbackAt: string | null } | null;
}

async function statusTargets(addr: string): Promise<StatusTarget[]> {
  const res = await fetch(`http://${addr}/status`);
  return ((await res.json()) as { targets: StatusTarget[] }).targets;
}

describe('standby IPs end to end (ICMP, namespaces, both providers)', () => {
  let lab: NsLab;
  let dir: Scratch;
  const procs: GoavailProcess[] = [];
  const closers: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/standby'], count: 3 });
    dir = await scratch('e2e-standby');
  });
  afterAll(async () => {
    for (const p of procs) p.kill();
    for (const c of closers) await c();
    await lab?.cleanup();
    await dir?.cleanup();
  });

  const ip = (i: number): string => lab.hosts[i]!.ip;
  const sorted = (...xs: string[]): string[] => [...xs].sort();

  /**
   * The scenario, whichever provider: `contents()` reads the stand-in's zone.
   * Reconciles run every 30 s here, so the failback on time shows that the
   * controller looks again when it is due (nextInMs), not at the interval.
   */
  async function scenario(agent: GoavailProcess, contents: () => string[]): Promise<void> {
    const [P0, P1, S] = [ip(0), ip(1), ip(2)];
    const ready = await agent.waitForLog((l) => l.msg === 'status listener ready');
    const addr = ready.statusAddr as string;
    for (const x of [P0, P1, S]) await agent.waitForLog((l) => l.msg === `local verdict: ${x} is up`);
    await sleep(1000); // a pass or two with everything up
    expect(contents()).toEqual(sorted(P0, P1)); // every primary up: no standby
    const roles = await statusTargets(addr);
    expect(roles.map((t) => [t.ip, t.role])).toEqual([
      [P0, 'primary'],
      [P1, 'primary'],
      [S, 'standby'],
    ]);
    // Not failing over; the primaries have just come up, so the policy holds (a standby in DNS would wait for failback_delay).
    expect(roles[2]!.standby?.failover).toBe(false);

    // one primary down: the other is enough (min_active 1), no standby
    await lab.hosts[0]!.down();
    await waitFor('primary 0 removed', () => !contents().includes(P0));
    expect(contents()).toEqual([P1]);

    // the last primary down: the standby comes in and replaces it (never an empty name: the create goes first)
    await lab.hosts[1]!.down();
    await waitFor('the standby in', () => contents().includes(S));
    await agent.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith(`add A ${WWW} ${S}`));
    await waitFor('the dead primary out', () => !contents().includes(P1));
    expect(contents()).toEqual([S]);
    const failing = (await statusTargets(addr)).find((t) => t.ip === S)!;
    expect(failing.standby).toMatchObject({ failover: true, presence: 'in' });

    // the primaries come back: their records return at once, the standby stays for failback_delay
    await lab.hosts[0]!.up();
    await lab.hosts[1]!.up();
    await waitFor('primaries back', () => contents().includes(P0) && contents().includes(P1));
    const backAt = Date.now();
    expect(contents()).toEqual(sorted(P0, P1, S));
    const waiting = (await statusTargets(addr)).find((t) => t.ip === S)!;
    expect(waiting.standby?.presence).toBe('hold');
    expect(waiting.standby?.failbackAt).not.toBeNull();
    await sleep(FAILBACK_S * 1000 - 1500);
    expect(contents()).toEqual(sorted(P0, P1, S)); // not before failback_delay
    await waitFor('the standby gone after failback_delay', () => !contents().includes(S), { timeoutMs: 10_000 });
    const tookMs = Date.now() - backAt;
    // Due failback_delay after the second primary came up (≤ backAt); well before the 30 s reconcile interval.
    expect(tookMs).toBeGreaterThan(FAILBACK_S * 1000 - 1500);
    expect(tookMs).toBeLessThan(FAILBACK_S * 1000 + 3000);
    expect(contents()).toEqual(sorted(P0, P1));

    const { code } = await agent.stop('SIGTERM');
    expect(code).toBe(0);
  }

  it('Cloudflare: primaries down → the standby record appears; back → it goes after failback_delay', async () => {
    const cf: FakeCloudflare = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    closers.push(() => cf.close());
    for (const i of [0, 1]) cf.addRecord(ZONE, { type: 'A', name: WWW, content: ip(i) });
    const file = await dir.write('cf.toml', config('Cloudflare', [ip(0), ip(1)], ip(2)));
    const agent = new GoavailProcess(['monitor', '--config-file', file, '--no-dry-run'], {
      env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL },
    });
    procs.push(agent);
    await scenario(agent, () =>
      cf
        .records(ZONE)
        .filter((r) => r.name === WWW)
        .map((r) => r.content)
        .sort(),
    );
  }, 90_000);

  it('Route 53: the standby value enters the weighted set and leaves it after failback_delay', async () => {
    const r53: FakeRoute53 = await startFakeRoute53({ zones: [ZONE], insyncAfterMs: 100 });
    closers.push(() => r53.close());
    const a = await awsEnv(r53.url);
    closers.push(() => a.dir.cleanup());
    const zone = r53.zoneId(ZONE);
    r53.putSet(zone, { Name: WWW, Type: 'A', SetIdentifier: 'www', Weight: 0, TTL: 30, ResourceRecords: [{ Value: ip(0) }, { Value: ip(1) }] });
    const file = await dir.write('r53.toml', config('Route53', [ip(0), ip(1)], ip(2)));
    const agent = new GoavailProcess(['monitor', '--config-file', file, '--no-dry-run'], { env: a.env });
    procs.push(agent);
    await scenario(agent, () => r53.values(zone, WWW).sort());
    // Still one weighted set, as it was: the standby came and went inside it (the values in the order the primaries came back).
    const sets = r53.sets(zone);
    expect(sets).toHaveLength(1);
    expect(sets[0]).toMatchObject({ Name: `${WWW}.`, Type: 'A', SetIdentifier: 'www', Weight: 0, TTL: 30 });
    expect(sets[0]!.ResourceRecords.map((r) => r.Value).sort()).toEqual(sorted(ip(0), ip(1)));
  }, 90_000);
});
