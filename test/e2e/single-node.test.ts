import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { createNsLab, type NsLab } from '../support/netns.js';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { scratch, sleep, waitFor } from '../support/kit.js';
import { LABS } from '../support/labs.js';

/**
 * The built CLI, --no-dry-run, real ICMP to hosts in network namespaces,
 * the real Cloudflare SDK against the local API stand-in.
 */
const ZONE = 'example.com';
const WWW = 'www.example.com';
const API = 'api.example.com';
const TOKEN = 'e2e-token';

function config(ips: string[], extra = ''): string {
  return `
failure_threshold = 2
recovery_threshold = 2
interval = 0.4
timeout = 0.2
reconcile_interval = 1
status_addr = "127.0.0.1:0"
${extra}
[Cloudflare]
dns_proxied = true
dns_domain = "${ZONE}"
hostnames = ["www", "api"]
ip_addresses = [${ips.map((ip) => `"${ip}"`).join(', ')}]
`;
}

describe('single node end to end (ICMP, namespaces, Cloudflare stand-in)', () => {
  let lab: NsLab;
  let cf: FakeCloudflare;
  let dir: Awaited<ReturnType<typeof scratch>>;
  const procs: GoavailProcess[] = [];

  beforeAll(async () => {
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/single-node'], count: 4 });
    dir = await scratch('e2e');
  });
  afterAll(async () => {
    for (const p of procs) p.kill();
    await cf?.close();
    await lab?.cleanup();
    await dir?.cleanup();
  });

  const ip = (i: number): string => lab.hosts[i]!.ip;
  const contents = (name: string): string[] =>
    cf
      .records(ZONE)
      .filter((r) => r.name === name)
      .map((r) => r.content)
      .sort();
  const sorted = (...xs: string[]): string[] => [...xs].sort();

  it('takes a down IP out, puts it back, keeps the last record, reloads on SIGHUP and stops on SIGTERM', async () => {
    cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    for (const name of [WWW, API]) for (const i of [0, 1, 2]) cf.addRecord(ZONE, { type: 'A', name, content: ip(i), proxied: true });
    const file = await dir.write('goavail.toml', config([ip(0), ip(1), ip(2)]));
    const agent = new GoavailProcess(['monitor', '--config-file', file, '--no-dry-run'], {
      env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL },
    });
    procs.push(agent);

    // every host answers: all three become up, nothing changes
    for (const i of [0, 1, 2]) await agent.waitForLog((l) => l.msg === `local verdict: ${ip(i)} is up`);
    expect(cf.mutatingCalls()).toHaveLength(0);

    // one host stops answering: its records leave both names
    await lab.hosts[0]!.down();
    await waitFor('records of host 0 removed', () => !contents(WWW).includes(ip(0)) && !contents(API).includes(ip(0)));
    expect(contents(WWW)).toEqual(sorted(ip(1), ip(2)));
    expect(contents(API)).toEqual(sorted(ip(1), ip(2)));

    // it answers again: the records come back, once
    await lab.hosts[0]!.up();
    await waitFor('records of host 0 restored', () => contents(WWW).length === 3 && contents(API).length === 3);
    await sleep(1500); // a reconcile pass or two more
    expect(contents(WWW)).toEqual(sorted(ip(0), ip(1), ip(2)));
    expect(contents(API)).toEqual(sorted(ip(0), ip(1), ip(2)));

    // every host of the names goes down: the last record stays
    await lab.hosts[1]!.down();
    await lab.hosts[2]!.linkDown();
    await waitFor('hosts 1 and 2 removed', () => contents(WWW).join() === ip(0));
    await lab.hosts[0]!.down();
    await agent.waitForLog((l) => typeof l.msg === 'string' && l.msg.includes('keeping the last records'));
    await sleep(1500);
    expect(contents(WWW)).toEqual([ip(0)]);
    expect(contents(API)).toEqual([ip(0)]);
    for (const h of lab.hosts.slice(0, 3)) await h.up();
    await lab.hosts[2]!.linkUp();
    await waitFor('all restored', () => contents(WWW).length === 3 && contents(API).length === 3);

    // SIGHUP: add host 3, drop host 2 (its records are left alone from now on)
    await dir.write('goavail.toml', config([ip(0), ip(1), ip(3)]));
    const mark = agent.logs.length;
    agent.child.kill('SIGHUP');
    await agent.waitForLog((l) => l.msg === 'config reloaded', 10_000, mark);
    await waitFor('host 3 added', () => contents(WWW).includes(ip(3)) && contents(API).includes(ip(3)));
    await lab.hosts[2]!.down();
    await sleep(2500); // well past the threshold and a reconcile pass
    expect(contents(WWW)).toContain(ip(2));

    // an invalid config on SIGHUP is refused; the agent keeps working on the old one
    await dir.write('goavail.toml', config([ip(0), 'not-an-ip']));
    const mark2 = agent.logs.length;
    agent.child.kill('SIGHUP');
    const refused = await agent.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('config reload failed'), 10_000, mark2);
    expect(refused.msg).toContain('ip_addresses');
    await lab.hosts[3]!.down();
    await waitFor('host 3 removed under the old config', () => !contents(WWW).includes(ip(3)));
    await lab.hosts[3]!.up();
    await lab.hosts[2]!.up();

    // no duplicate record was ever created
    for (const name of [WWW, API]) expect(new Set(contents(name)).size).toBe(contents(name).length);

    // SIGTERM: exits 0 within 5 s
    const t0 = Date.now();
    const { code } = await agent.stop('SIGTERM');
    expect(code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);
  }, 120_000);

  it('dry-run makes no mutating call and logs what it would do', async () => {
    const cf2 = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    try {
      for (const i of [0, 1]) cf2.addRecord(ZONE, { type: 'A', name: WWW, content: ip(i), proxied: true });
      const file = await dir.write('dry.toml', config([ip(0), ip(1)]));
      const agent = new GoavailProcess(['monitor', '-f', file], { env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf2.baseURL } });
      procs.push(agent);
      await agent.waitForLog((l) => l.msg === `local verdict: ${ip(1)} is up`);
      await lab.hosts[1]!.down();
      await agent.waitForLog((l) => l.msg === `would remove A ${WWW} ${ip(1)}`);
      await lab.hosts[1]!.up();
      await agent.waitForLog(
        (l) => l.msg === `local verdict: ${ip(1)} is up`,
        20_000,
        agent.logs.findIndex((l) => l.msg.startsWith('would remove')),
      );
      expect(cf2.calls.length).toBeGreaterThan(0); // it did read the records
      expect(cf2.mutatingCalls()).toHaveLength(0);
      expect((await agent.stop()).code).toBe(0);
    } finally {
      await cf2.close();
    }
  }, 60_000);
});
