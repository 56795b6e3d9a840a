import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { createNsLab, type NsLab } from '../support/netns.js';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { scratch, sleep } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { freePort } from '../support/net.js';

/**
 * Rapid rechecks end to end: three agent processes on the shipped timing
 * (no timing keys in the file: interval 2, timeout 1, threshold 3 and the
 * recheck defaults), min_peers_agree = 1, real ICMP to namespace hosts, the
 * Cloudflare stand-in. Asserts the order of events, never a duration.
 */
const run = promisify(execFile);
const ZONE = 'example.com';
const WWW = 'www.example.com';
const TOKEN = 'recheck-token';
const SECRET = 'e2e-recheck-shared-secret-0123456789';
const NFT_TABLE = 'goavaile2e';

describe('rapid rechecks end to end (3 processes, shipped timing)', () => {
  let lab: NsLab;
  let cf: FakeCloudflare;
  let dir: Awaited<ReturnType<typeof scratch>>;
  const names = ['a', 'b', 'c'] as const;
  const procs: Record<string, GoavailProcess> = {};

  const nft = (ns: string, ...args: string[]) => run('ip', ['netns', 'exec', ns, 'nft', ...args]);

  beforeAll(async () => {
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/recheck'], count: 2 });
    dir = await scratch('recheck');
    cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    for (const h of lab.hosts) cf.addRecord(ZONE, { type: 'A', name: WWW, content: h.ip });
    const ports = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await freePort()] as const)));
    for (const n of names) {
      const home = join(dir.dir, n);
      await mkdir(home);
      const peers = names.filter((m) => m !== n).map((m) => `"127.0.0.1:${ports[m]}"`);
      const file = await dir.write(
        `${n}/goavail.toml`,
        `reconcile_interval = 60
status_addr = ""
[Members]
peers = [${peers.join(', ')}]
local_addr = "127.0.0.1:${ports[n]}"
min_peers_agree = 1
crypto_key = "${SECRET}"
[Cloudflare]
dns_domain = "${ZONE}"
hostnames = ["www"]
ip_addresses = [${lab.hosts.map((h) => `"${h.ip}"`).join(', ')}]
`,
      );
      procs[n] = new GoavailProcess(['monitor', '--config-file', file, '--no-dry-run', '--debug'], {
        env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL, HOME: home },
        cwd: home,
      });
    }
    const clusterUp = (ip: string) => (l: { msg: string }) => l.msg === `cluster verdict: ${ip} is up`;
    for (const p of Object.values(procs)) for (const h of lab.hosts) await p.waitForLog(clusterUp(h.ip), 60_000);
  }, 90_000);

  afterAll(async () => {
    for (const p of Object.values(procs)) p.kill();
    for (const h of lab?.hosts ?? []) await nft(h.ns, 'delete', 'table', 'inet', NFT_TABLE).catch(() => undefined);
    await cf?.close();
    await lab?.cleanup();
    await dir?.cleanup();
  });

  it('under 10% reply loss for a minute: suspicions and rechecks, no DNS write', async () => {
    for (const h of lab.hosts) {
      await nft(h.ns, 'add', 'table', 'inet', NFT_TABLE);
      await nft(h.ns, 'add', 'chain', 'inet', NFT_TABLE, 'out', '{ type filter hook output priority 0; }');
      await nft(h.ns, 'add', 'rule', 'inet', NFT_TABLE, 'out', 'icmp', 'type', 'echo-reply', 'numgen', 'random', 'mod', '10', '0', 'drop');
    }
    const before = cf.mutatingCalls().length;
    const marks = Object.fromEntries(names.map((n) => [n, procs[n]!.logs.length]));
    await sleep(60_000);
    for (const h of lab.hosts) await nft(h.ns, 'delete', 'table', 'inet', NFT_TABLE);
    expect(cf.mutatingCalls().length - before).toBe(0);
    // The loss was seen: some agent suspected a host and rechecked it (the test could not pass without loss).
    const suspects = names.flatMap((n) => procs[n]!.logs.slice(marks[n]).filter((l) => l.msg === 'suspect: rechecking'));
    expect(suspects.length).toBeGreaterThan(0);
  }, 120_000);

  it('a silenced host: one agent suspects, its peers recheck, two thresholds, the cluster verdict, then one delete', async () => {
    const host = lab.hosts[0]!;
    const rec = cf.records(ZONE).find((r) => r.content === host.ip)!;
    const marks = Object.fromEntries(names.map((n) => [n, procs[n]!.logs.length]));
    const callMark = cf.calls.length;
    await host.down();
    const isDelete = () =>
      cf.calls.slice(callMark).find((c) => c.method === 'DELETE' || (c.method === 'POST' && JSON.stringify(c.body ?? '').includes(rec.id)));
    for (let i = 0; i < 200 && !isDelete(); i++) await sleep(50);
    const del = isDelete();
    expect(del).toBeDefined();
    const events = names
      .flatMap((n) =>
        procs[n]!.logs.slice(marks[n])
          .filter(
            (l) =>
              l.ip === host.ip &&
              (l.msg === 'suspect: rechecking' || l.msg === `local verdict: ${host.ip} is down` || l.msg === `cluster verdict: ${host.ip} is down`),
          )
          .map((l) => ({
            n,
            time: l.time as number,
            what: l.msg.startsWith('suspect') ? `suspect:${String(l.cause)}` : l.msg.startsWith('local') ? 'local' : 'cluster',
          })),
      )
      .sort((x, y) => x.time - y.time);
    const first = events.findIndex((e) => e.what === 'suspect:suspect');
    const peer = events.findIndex((e) => e.what === 'suspect:peer');
    const locals = events.map((e, i) => (e.what === 'local' ? i : -1)).filter((i) => i >= 0);
    const cluster = events.findIndex((e) => e.what === 'cluster');
    // One agent suspected first, a peer joined from its signal, then the thresholds, then the cluster verdict, then DNS.
    expect(first).toBe(0);
    expect(peer).toBeGreaterThan(first);
    expect(locals.length).toBeGreaterThanOrEqual(2);
    expect(peer).toBeLessThan(locals[1]!);
    expect(cluster).toBeGreaterThan(locals[1]!);
    expect(del!.at).toBeGreaterThanOrEqual(events[cluster]!.time);
    // Exactly one write for the transition, after the writer grace period.
    await sleep(7000);
    expect(cf.mutatingCalls().filter((c) => c.at >= del!.at).length).toBe(1);
    await host.up();
  }, 60_000);
});
