import { execFile } from 'node:child_process';
import { chmod, chown, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { createNsLab, type NsLab } from '../support/netns.js';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { scratch, sleep, waitFor } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { freePort } from '../support/net.js';

/**
 * Three agent processes on 127.0.0.1 gossiping over libp2p, real ICMP to
 * namespace hosts, the Cloudflare stand-in. Agent "c" runs as uid 1001 with
 * a policy route that blackholes host 2 for that uid only: its private view.
 */
const run = promisify(execFile);
const ZONE = 'example.com';
const WWW = 'www.example.com';
const TOKEN = 'cluster-token';
const UID = 1001;
const TABLE = '1001';
const SECRET = 'e2e-cluster-shared-secret-0123456789';

describe('cluster end to end (3 processes, libp2p, namespaces)', () => {
  let lab: NsLab;
  let cf: FakeCloudflare;
  let dir: Awaited<ReturnType<typeof scratch>>;
  const ports: Record<string, number> = {};
  const dirs: Record<string, string> = {};
  const procs: Record<string, GoavailProcess> = {};
  const names = ['a', 'b', 'c'] as const;

  const ip = (i: number): string => lab.hosts[i]!.ip;
  const contents = (): string[] =>
    cf
      .records(ZONE)
      .filter((r) => r.name === WWW)
      .map((r) => r.content)
      .sort();
  const mutations = (): number => cf.mutatingCalls().length;
  /** Who wrote what, when, and which writes failed (for the failure message of a write count). */
  const writes = (): string =>
    Object.entries(procs)
      .flatMap(([n, p]) =>
        p.logs
          .filter((l) => (l.dryRun === false && typeof l.action === 'string') || l.msg.startsWith('DNS reconcile failed'))
          .map((l) => `${String(l.time)} ${n}: ${l.msg}`),
      )
      .sort()
      .join('\n');

  function config(self: string, minPeersAgree: number): string {
    const peers = names.filter((n) => n !== self).map((n) => `"127.0.0.1:${ports[n]}"`);
    return `
failure_threshold = 2
recovery_threshold = 2
interval = 0.5
timeout = 0.25
reconcile_interval = 2
status_addr = "127.0.0.1:0"
[Members]
peers = [${peers.join(', ')}]
local_addr = "127.0.0.1:${ports[self]}"
min_peers_agree = ${minPeersAgree}
crypto_key = "${SECRET}"
[Cloudflare]
dns_proxied = false
dns_domain = "${ZONE}"
hostnames = ["www"]
ip_addresses = ["${ip(0)}", "${ip(1)}", "${ip(2)}"]
`;
  }

  async function writeConfig(n: string, minPeersAgree: number): Promise<string> {
    const file = await dir.write(`${n}/goavail.toml`, config(n, minPeersAgree));
    if (n === 'c') await chown(file, UID, UID);
    return file;
  }

  function startAgent(n: string): GoavailProcess {
    const file = join(dirs[n]!, 'goavail.toml');
    const env = { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL, HOME: dirs[n]! };
    const command =
      n === 'c'
        ? [
            'setpriv',
            '--reuid',
            String(UID),
            '--regid',
            String(UID),
            '--clear-groups',
            '--inh-caps',
            '+net_raw',
            '--ambient-caps',
            '+net_raw',
            process.execPath,
          ]
        : undefined;
    const p = new GoavailProcess(['monitor', '--config-file', file, '--no-dry-run'], { env, cwd: dirs[n]!, ...(command ? { command } : {}) });
    procs[n] = p;
    return p;
  }

  const msg = (text: string) => (l: { msg: string }) => l.msg === text;

  beforeAll(async () => {
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/cluster'], count: 3 });
    // agent c's private view: host 2 unreachable for uid 1001 only
    await run('ip', ['rule', 'del', 'pref', '100']).catch(() => undefined);
    await run('ip', ['rule', 'add', 'uidrange', `${UID}-${UID}`, 'lookup', TABLE, 'pref', '100']);
    await run('ip', ['route', 'replace', 'blackhole', lab.hosts[2]!.ip, 'table', TABLE]);
    dir = await scratch('cluster');
    await chmod(dir.dir, 0o755);
    for (const n of names) {
      ports[n] = await freePort();
      dirs[n] = join(dir.dir, n);
      await mkdir(dirs[n]!);
    }
    await chown(dirs.c!, UID, UID);
    cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    for (const i of [0, 1, 2]) cf.addRecord(ZONE, { type: 'A', name: WWW, content: ip(i) });
  });

  afterAll(async () => {
    for (const p of Object.values(procs)) p.kill();
    await run('ip', ['rule', 'del', 'pref', '100']).catch(() => undefined);
    await run('ip', ['route', 'flush', 'table', TABLE]).catch(() => undefined);
    await cf?.close();
    await lab?.cleanup();
    await dir?.cleanup();
  });

  it('agrees before acting, writes once, survives kill -9, honours min_peers_agree', async () => {
    for (const n of names) await writeConfig(n, 1);
    for (const n of names) startAgent(n);

    // everyone agrees hosts 0 and 1 are up; c alone sees host 2 down
    for (const n of names) for (const i of [0, 1]) await procs[n]!.waitForLog(msg(`cluster verdict: ${ip(i)} is up`), 30_000);
    await procs.c!.waitForLog(msg(`local verdict: ${ip(2)} is down`));
    for (const n of ['a', 'b']) await procs[n]!.waitForLog(msg(`cluster verdict: ${ip(2)} is up`), 30_000);
    await sleep(2500);
    expect(contents()).toEqual([ip(0), ip(1), ip(2)].sort()); // one agent's view changes nothing
    expect(mutations(), writes()).toBe(0);

    // host 0 down for everyone: removed, by one request
    await lab.hosts[0]!.down();
    await waitFor('host 0 removed', () => !contents().includes(ip(0)), { timeoutMs: 30_000 });
    await sleep(4000); // past the writer grace period
    expect(mutations(), writes()).toBe(1);
    expect(contents()).toEqual([ip(1), ip(2)].sort());

    // back up: restored once
    await lab.hosts[0]!.up();
    await waitFor('host 0 restored', () => contents().includes(ip(0)), { timeoutMs: 30_000 });
    await sleep(4000);
    expect(mutations(), writes()).toBe(2);

    // kill -9 an agent during an outage and restart it: no flap
    await lab.hosts[1]!.down();
    await waitFor('host 1 removed', () => !contents().includes(ip(1)), { timeoutMs: 30_000 });
    await sleep(4000);
    expect(mutations(), writes()).toBe(3);
    procs.b!.kill();
    await procs.b!.exited;
    const b2 = startAgent('b');
    await b2.waitForLog(msg(`cluster verdict: ${ip(1)} is down`), 30_000);
    await sleep(3000);
    expect(mutations(), writes()).toBe(3);
    expect(contents()).toEqual([ip(0), ip(2)].sort());
    await lab.hosts[1]!.up();
    await waitFor('host 1 restored', () => contents().includes(ip(1)), { timeoutMs: 30_000 });
    await sleep(4000);
    expect(mutations(), writes()).toBe(4);

    // min_peers_agree = 2 (SIGHUP everywhere), then one peer goes away: no change
    for (const n of names) await writeConfig(n, 2);
    for (const n of names) {
      const mark = procs[n]!.logs.length;
      procs[n]!.child.kill('SIGHUP');
      await procs[n]!.waitForLog(msg('config reloaded'), 10_000, mark);
    }
    await procs.c!.stop('SIGTERM');
    await lab.hosts[0]!.down();
    for (const n of ['a', 'b']) await procs[n]!.waitForLog(msg(`local verdict: ${ip(0)} is down`), 20_000);
    await sleep(3000);
    expect(contents()).toContain(ip(0));
    expect(mutations(), writes()).toBe(4);
    await lab.hosts[0]!.up();

    for (const n of ['a', 'b']) expect((await procs[n]!.stop('SIGTERM')).code).toBe(0);
  }, 180_000);
});
