import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { awsEnv } from '../support/aws-env.js';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { startFakeRoute53, type FakeRoute53 } from '../support/fake-route53.js';
import { scratch, sleep, waitFor, type Scratch } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { freePort } from '../support/net.js';
import { createNsLab, type NsLab } from '../support/netns.js';

/**
 * Three agent processes on 127.0.0.1 gossiping over libp2p, real ICMP to
 * namespace hosts, the Route 53 stand-in: the one-writer rule holds with
 * Route 53 as with Cloudflare (one accepted ChangeResourceRecordSets per
 * outage, and per recovery).
 */
const ZONE = 'example.com';
const TEST = 'test.example.com';
const SECRET = 'e2e-route53-cluster-secret-0123456789';

describe('Route 53 cluster end to end (3 processes, libp2p, namespaces)', () => {
  let lab: NsLab;
  let r53: FakeRoute53;
  let dir: Scratch;
  let awsDir: Scratch;
  let env: Record<string, string>;
  const ports: Record<string, number> = {};
  const procs: Record<string, GoavailProcess> = {};
  const names = ['a', 'b', 'c'] as const;

  const ip = (i: number): string => lab.hosts[i]!.ip;
  const values = (): string[] => r53.values(r53.zoneId(ZONE), TEST);
  const accepted = (): number => r53.changeCalls().filter((c) => c.status === 200).length;
  const writes = (): string =>
    Object.entries(procs)
      .flatMap(([n, p]) =>
        p.logs
          .filter((l) => (l.dryRun === false && typeof l.action === 'string') || l.msg.startsWith('DNS reconcile failed'))
          .map((l) => `${String(l.time)} ${n}: ${l.msg}`),
      )
      .sort()
      .join('\n');

  function config(self: string): string {
    const peers = names.filter((n) => n !== self).map((n) => `"127.0.0.1:${ports[n]}"`);
    return `
failure_threshold = 2
recovery_threshold = 2
interval = 0.5
timeout = 0.25
reconcile_interval = 2
status_addr = ""
dns_provider = "route53"
[Members]
peers = [${peers.join(', ')}]
local_addr = "127.0.0.1:${ports[self]}"
min_peers_agree = 1
crypto_key = "${SECRET}"
[Route53]
aws_domain = "${ZONE}"
hostnames = ["test"]
ip_addresses = ["${ip(0)}", "${ip(1)}", "${ip(2)}"]
ttl = 30
`;
  }

  beforeAll(async () => {
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/route53-cluster'], count: 3 });
    dir = await scratch('r53-cluster');
    r53 = await startFakeRoute53({ zones: [ZONE], insyncAfterMs: 300 });
    const a = await awsEnv(r53.url);
    env = a.env;
    awsDir = a.dir;
    r53.putSet(r53.zoneId(ZONE), {
      Name: TEST,
      Type: 'A',
      SetIdentifier: 'test',
      Weight: 0,
      TTL: 30,
      ResourceRecords: [0, 1, 2].map((i) => ({ Value: ip(i) })),
    });
    for (const n of names) ports[n] = await freePort();
  });

  afterAll(async () => {
    for (const p of Object.values(procs)) p.kill();
    await r53?.close();
    await lab?.cleanup();
    await dir?.cleanup();
    await awsDir?.cleanup();
  });

  it('one accepted change per outage and per recovery', async () => {
    for (const n of names) {
      await mkdir(join(dir.dir, n));
      const file = await dir.write(`${n}/goavail.toml`, config(n));
      procs[n] = new GoavailProcess(['monitor', '--config-file', file, '--no-dry-run'], { env, cwd: join(dir.dir, n) });
    }
    for (const n of names) for (const i of [0, 1, 2]) await procs[n]!.waitForLog((l) => l.msg === `cluster verdict: ${ip(i)} is up`, 30_000);
    expect(r53.changeCalls(), writes()).toHaveLength(0);

    await lab.hosts[0]!.down();
    await waitFor('host 0 removed', () => !values().includes(ip(0)), { timeoutMs: 30_000 });
    await sleep(4000); // past the writer grace period
    expect(accepted(), writes()).toBe(1);
    expect(r53.changeCalls(), writes()).toHaveLength(1); // no second agent's write, not even a refused one
    expect(values()).toEqual([ip(1), ip(2)].sort());

    await lab.hosts[0]!.up();
    await waitFor('host 0 restored', () => values().includes(ip(0)), { timeoutMs: 30_000 });
    await sleep(4000);
    expect(accepted(), writes()).toBe(2);
    expect(r53.changeCalls(), writes()).toHaveLength(2);
    expect(values()).toEqual([ip(0), ip(1), ip(2)].sort());
    // The weighted set kept its shape through both rewrites.
    expect(r53.sets(r53.zoneId(ZONE))).toEqual([
      {
        Name: `${TEST}.`,
        Type: 'A',
        SetIdentifier: 'test',
        Weight: 0,
        TTL: 30,
        ResourceRecords: expect.arrayContaining([0, 1, 2].map((i) => ({ Value: ip(i) }))),
      },
    ]);

    for (const n of names) expect((await procs[n]!.stop('SIGTERM')).code).toBe(0);
  }, 120_000);
});
