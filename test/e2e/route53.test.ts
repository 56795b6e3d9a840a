import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsEnv } from '../support/aws-env.js';
import { assertBuilt, GoavailProcess, ROOT, runCli } from '../support/cli.js';
import { startFakeRoute53, type FakeRoute53 } from '../support/fake-route53.js';
import { scratch, sleep, waitFor, type Scratch } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { createNsLab, type NsLab } from '../support/netns.js';

/**
 * The built CLI with `-p route53 --no-dry-run` and a config in the original
 * goavail's shape (the [Route53] table only), real ICMP to namespace hosts,
 * the real AWS SDK against the Route 53 stand-in. Every process gets the
 * metadata service off and scratch shared files (test/support/aws-env.ts).
 */
const ZONE = 'example.com';
const TEST = 'test.example.com';
const API = 'api.example.com';
const MV = 'mv.example.com';

function config(ips: string[], extra = ''): string {
  return `
failure_threshold = 2
recovery_threshold = 2
interval = 0.4
timeout = 0.2
reconcile_interval = 1
status_addr = ""
${extra}
[Route53]
aws_domain = "${ZONE}"
hostnames = ["test", "api", "mv"]
ip_addresses = [${ips.map((ip) => `"${ip}"`).join(', ')}]
ttl = 30
aws_region = "us-west-2"
`;
}

describe('Route 53 end to end (ICMP, namespaces, Route 53 stand-in)', () => {
  let lab: NsLab;
  let r53: FakeRoute53;
  let dir: Scratch;
  let env: Record<string, string>;
  let awsDir: Scratch;
  const procs: GoavailProcess[] = [];

  beforeAll(async () => {
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/route53'], count: 4 });
    dir = await scratch('e2e-r53');
    r53 = await startFakeRoute53({ zones: [ZONE], insyncAfterMs: 300 });
    const a = await awsEnv(r53.url);
    env = a.env;
    awsDir = a.dir;
  });
  afterAll(async () => {
    for (const p of procs) p.kill();
    await r53?.close();
    await lab?.cleanup();
    await dir?.cleanup();
    await awsDir?.cleanup();
  });

  const ip = (i: number): string => lab.hosts[i]!.ip;
  const zone = (): string => r53.zoneId(ZONE);
  const values = (name: string): string[] => r53.values(zone(), name);
  const sorted = (...xs: string[]): string[] => [...xs].sort();
  const mvSet = (i: number, ipAddr: string) => ({
    Name: MV,
    Type: 'A',
    SetIdentifier: `mv-${i}`,
    MultiValueAnswer: true,
    TTL: 60,
    HealthCheckId: `hc-${i}`,
    ResourceRecords: [{ Value: ipAddr }],
  });
  const seed = (ips: string[]): void => {
    for (const s of r53.sets(zone())) r53.removeSet(zone(), s);
    // The original's shape: a weighted set named after the short hostname, weight 0.
    r53.putSet(zone(), { Name: TEST, Type: 'A', SetIdentifier: 'test', Weight: 0, TTL: 30, ResourceRecords: ips.map((Value) => ({ Value })) });
    r53.putSet(zone(), { Name: API, Type: 'A', TTL: 30, ResourceRecords: ips.map((Value) => ({ Value })) });
    ips.forEach((v, i) => r53.putSet(zone(), mvSet(i, v)));
  };

  it('fails over a weighted, a simple and a multivalue name; keeps the last value; heals a manual edit; reloads on SIGHUP', async () => {
    seed([ip(0), ip(1), ip(2)]);
    const mvBefore = r53.sets(zone()).filter((s) => s.Name === `${MV}.`);
    const file = await dir.write('goavail.toml', config([ip(0), ip(1), ip(2)]));
    const agent = new GoavailProcess(['monitor', '-p', 'route53', '--config-file', file, '--no-dry-run'], { env });
    procs.push(agent);

    for (const i of [0, 1, 2]) await agent.waitForLog((l) => l.msg === `local verdict: ${ip(i)} is up`);
    expect(r53.changeCalls()).toHaveLength(0);
    expect(r53.count((c) => c.path === '/hostedzonesbyname')).toBe(1); // the zone is looked up once

    // one host stops answering: its value leaves every set, in one atomic batch
    r53.resetCalls();
    await lab.hosts[0]!.down();
    await waitFor('host 0 removed', () => !values(TEST).includes(ip(0)) && !values(API).includes(ip(0)) && !values(MV).includes(ip(0)));
    expect(values(TEST)).toEqual(sorted(ip(1), ip(2)));
    expect(values(API)).toEqual(sorted(ip(1), ip(2)));
    expect(r53.changeCalls()).toHaveLength(1);
    const weighted = r53.sets(zone()).find((s) => s.Name === `${TEST}.`);
    expect(weighted).toMatchObject({ SetIdentifier: 'test', Weight: 0, TTL: 30 });
    await agent.waitForLog((l) => l.msg === `remove A ${TEST} ${ip(0)} (set test, weighted)`);
    await agent.waitForLog((l) => l.msg === 'Route 53 change is INSYNC');

    // back: it returns; the multivalue set comes back as it was (identifier, health check)
    await lab.hosts[0]!.up();
    await waitFor('host 0 restored', () => values(TEST).length === 3 && values(API).length === 3 && values(MV).length === 3);
    await sleep(1500);
    expect(values(TEST)).toEqual(sorted(ip(0), ip(1), ip(2)));
    expect(r53.sets(zone()).filter((s) => s.Name === `${MV}.`)).toEqual(mvBefore);

    // every host down: the last value stays (counted over the multivalue sets too)
    await lab.hosts[1]!.down();
    await lab.hosts[2]!.linkDown();
    await waitFor('hosts 1 and 2 removed', () => values(TEST).join() === ip(0) && values(MV).join() === ip(0));
    await lab.hosts[0]!.down();
    await agent.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('keeping the last records'));
    await sleep(1500);
    expect(values(TEST)).toEqual([ip(0)]);
    expect(values(API)).toEqual([ip(0)]);
    expect(values(MV)).toEqual([ip(0)]);
    for (const h of lab.hosts.slice(0, 3)) await h.up();
    await lab.hosts[2]!.linkUp();
    await waitFor('all restored', () => values(TEST).length === 3 && values(API).length === 3 && values(MV).length === 3);

    // a value removed by hand heals at the next reconcile pass
    const api = r53.sets(zone()).find((s) => s.Name === `${API}.`)!;
    r53.putSet(zone(), { ...api, ResourceRecords: api.ResourceRecords.filter((r) => r.Value !== ip(1)) });
    expect(values(API)).not.toContain(ip(1));
    await waitFor('manual removal healed', () => values(API).includes(ip(1)), { timeoutMs: 10_000 });

    // SIGHUP: add host 3, drop host 2 (its values are left alone from now on)
    await dir.write('goavail.toml', config([ip(0), ip(1), ip(3)]));
    const mark = agent.logs.length;
    agent.child.kill('SIGHUP');
    await agent.waitForLog((l) => l.msg === 'config reloaded', 10_000, mark);
    await waitFor('host 3 added', () => values(TEST).includes(ip(3)) && values(API).includes(ip(3)) && values(MV).includes(ip(3)));
    // host 3 went into the weighted set, and into a multivalue set of its own
    expect(r53.sets(zone()).filter((s) => s.Name === `${TEST}.`)).toHaveLength(1);
    expect(r53.sets(zone()).find((s) => s.Name === `${MV}.` && s.ResourceRecords[0]?.Value === ip(3))).toMatchObject({ MultiValueAnswer: true, TTL: 60 });
    await lab.hosts[2]!.down();
    await sleep(2500);
    expect(values(TEST)).toContain(ip(2));
    await lab.hosts[2]!.up();

    for (const name of [TEST, API, MV]) expect(new Set(values(name)).size).toBe(values(name).length);
    expect(agent.stdout).not.toContain('stand-in-secret-not-a-real-key');

    const { code } = await agent.stop('SIGTERM');
    expect(code).toBe(0);
  }, 120_000);

  it('dry-run with credentials reads the real sets, logs what it would do and makes no change call', async () => {
    seed([ip(0), ip(1)]);
    r53.resetCalls();
    const file = await dir.write('dry.toml', config([ip(0), ip(1)]));
    const agent = new GoavailProcess(['monitor', '-p', 'route53', '-f', file], { env });
    procs.push(agent);
    await agent.waitForLog((l) => l.msg === `local verdict: ${ip(1)} is up`);
    await lab.hosts[1]!.down();
    await agent.waitForLog((l) => l.msg === `would remove A ${TEST} ${ip(1)} (set test, weighted)`);
    await agent.waitForLog((l) => l.msg === `would remove A ${MV} ${ip(1)} (set mv-1, multivalue)`);
    await sleep(1500);
    expect(r53.changeCalls()).toHaveLength(0);
    expect(r53.count((c) => c.path.endsWith('/rrset'))).toBeGreaterThan(0);
    expect(values(TEST)).toEqual(sorted(ip(0), ip(1)));
    await lab.hosts[1]!.up();
    expect((await agent.stop()).code).toBe(0);
  }, 60_000);

  it('--no-dry-run without credentials exits 2 with a clear message; dry-run without them plans on a simulated zone', async () => {
    const bare = await awsEnv(r53.url, { credentials: false });
    try {
      const file = await dir.write('nocreds.toml', config([ip(0)]));
      r53.resetCalls();
      const r = await runCli(['monitor', '-p', 'route53', '-f', file, '--no-dry-run'], { env: bare.env, timeoutMs: 20_000 });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('--no-dry-run needs AWS credentials');
      expect(r53.calls).toHaveLength(0);
      const dry = new GoavailProcess(['monitor', '-p', 'route53', '-f', file], { env: bare.env });
      procs.push(dry);
      await dry.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('dry-run without credentials'));
      await dry.waitForLog((l) => l.msg === `local verdict: ${ip(0)} is up`);
      expect(r53.calls).toHaveLength(0);
      expect((await dry.stop()).code).toBe(0);
    } finally {
      await bare.dir.cleanup();
    }
  }, 60_000);

  it('credentials Route 53 refuses: logged as an auth error, the agent keeps probing and retries at the reconcile interval', async () => {
    const wrong = await awsEnv(r53.url, { accessKeyId: 'AKIDREFUSED' });
    try {
      seed([ip(0)]);
      const file = await dir.write('refused.toml', config([ip(0)]));
      const agent = new GoavailProcess(['monitor', '-p', 'route53', '-f', file, '--no-dry-run'], { env: wrong.env });
      procs.push(agent);
      const refused = await agent.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('DNS API refused our credentials'));
      expect(refused.msg).toContain('InvalidClientTokenId');
      await agent.waitForLog((l) => l.msg === `local verdict: ${ip(0)} is up`);
      const before = r53.count((c) => c.accessKeyId === 'AKIDREFUSED');
      await sleep(2500); // reconcile_interval = 1 s: a few more tries, no crash
      expect(r53.count((c) => c.accessKeyId === 'AKIDREFUSED')).toBeGreaterThan(before);
      expect(agent.child.exitCode).toBeNull();
      expect(agent.stdout).not.toContain('stand-in-secret-not-a-real-key');
      expect((await agent.stop()).code).toBe(0);
    } finally {
      await wrong.dir.cleanup();
    }
  }, 60_000);

  it('two hosted zones of the name: exits 2 naming their ids and asking for aws_zoneid', async () => {
    const other = r53.addZone(ZONE, { private: true });
    const file = await dir.write('ambiguous.toml', config([ip(0)]));
    const r = await runCli(['monitor', '-p', 'route53', '-f', file, '--no-dry-run'], { env, timeoutMs: 20_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(other);
    expect(r.stderr).toContain('aws_zoneid');
  }, 30_000);

  it('check-config -p route53 accepts the original example file', async () => {
    const r = await runCli(['check-config', '-p', 'route53', resolve(ROOT, 'test/fixtures/config/original.toml')]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).Route53).toMatchObject({ aws_domain: 'example.com', aws_zoneid: 'ZZZZZZZZZZZZZ', ttl: 30, aws_region: 'us-west-2' });
  });
});
