import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBlackhole, labSubnet } from '../support/netns.js';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { scratch, sleep, waitFor } from '../support/kit.js';
import { LABS } from '../support/labs.js';

/**
 * Notifications and the observer self-check, through the running agent:
 * a webhook receiver on loopback counts deliveries (the first one fails),
 * a blackholed canary makes the agent abstain, and most targets down at once
 * freezes removals. Dead targets are addresses in 198.18.0.0/15 that no
 * namespace holds: the blackhole route drops them on this machine.
 */
interface Hook {
  type: string;
  [k: string]: unknown;
}

const NET = labSubnet(LABS['e2e/operations'].subnetIndex);
const D1 = `${NET}.11`;
const D2 = `${NET}.12`;
const D3 = `${NET}.13`;
const D4 = `${NET}.14`;
const noCreds = { CLOUDFLARE_API_TOKEN: '', CF_API_KEY: '', CF_API_EMAIL: '', CLOUDFLARE_API_KEY: '', CLOUDFLARE_EMAIL: '' };

describe('notifications and self-check end to end', () => {
  let server: Server;
  let url: string;
  const received: Hook[] = [];
  let requests = 0;
  let dir: Awaited<ReturnType<typeof scratch>>;
  const procs: GoavailProcess[] = [];

  beforeAll(async () => {
    assertBuilt();
    await ensureBlackhole();
    dir = await scratch('ops');
    server = createServer((req, res) => {
      let body = '';
      req
        .setEncoding('utf8')
        .on('data', (c: string) => (body += c))
        .on('end', () => {
          requests += 1;
          if (requests === 1) {
            res.writeHead(500).end('not yet'); // the first delivery fails: it must be retried
            return;
          }
          received.push(JSON.parse(body) as Hook);
          res.writeHead(204).end();
        });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
  });
  afterAll(async () => {
    for (const p of procs) p.kill();
    await new Promise<void>((r) => server.close(() => r()));
    await dir?.cleanup();
  });

  function config(ips: string[], extra: string): string {
    return `
failure_threshold = 2
interval = 0.4
timeout = 0.2
reconcile_interval = 1
status_addr = "127.0.0.1:0"
webhooks = ["${url}"]
${extra}
[Cloudflare]
dns_proxied = false
dns_domain = "example.com"
hostnames = ["www"]
ip_addresses = [${ips.map((i) => `"${i}"`).join(', ')}]
`;
  }

  it('a failing canary silences the agent; when it is healthy again the change is made and announced', async () => {
    const file = await dir.write('canary.toml', config(['127.0.0.1', '127.0.0.2', D1], `canaries = ["${D2}"]`));
    const p = new GoavailProcess(['monitor', '-f', file], { env: noCreds });
    procs.push(p);
    await p.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('self-check: all 1 canaries are down'));
    await p.waitForLog((l) => l.msg === `local verdict: ${D1} is down`);
    await waitFor('self_check webhook', () => received.some((h) => h.type === 'self_check' && h.to === 'canaries-failing'));
    await sleep(1500);
    expect(p.logs.some((l) => typeof l.msg === 'string' && l.msg.startsWith('would remove'))).toBe(false);
    expect(received.some((h) => h.type === 'dns_change')).toBe(false);

    // the canary goes away from the config: healthy, and the down IP is (would be) removed
    await dir.write('canary.toml', config(['127.0.0.1', '127.0.0.2', D1], ''));
    p.child.kill('SIGHUP');
    await p.waitForLog((l) => l.msg === `would remove A www.example.com ${D1}`);
    await waitFor('dns_change webhook', () => received.some((h) => h.type === 'dns_change'));
    const change = received.find((h) => h.type === 'dns_change')!;
    expect(change).toMatchObject({ version: 1, ip: D1, hostname: 'www.example.com', dryRun: true });
    expect(String(change.text)).toContain('would remove');
    expect(received.some((h) => h.type === 'self_check' && h.to === 'healthy')).toBe(true);
    expect(received.some((h) => h.type === 'cluster_verdict' && h.ip === D1 && h.to === 'down')).toBe(true);
    // the first POST failed with 500 and was retried: every event arrived exactly once
    const keys = received.map((h) => JSON.stringify(h));
    expect(new Set(keys).size).toBe(keys.length);
    expect(requests).toBe(received.length + 1);
    expect((await p.stop()).code).toBe(0);
  }, 60_000);

  it('most targets down at once freezes removals', async () => {
    const file = await dir.write('share.toml', config(['127.0.0.1', D1, D3, D4], 'freeze_min_targets = 4\nfreeze_share = 0.5'));
    const p = new GoavailProcess(['monitor', '-f', file], { env: noCreds });
    procs.push(p);
    await p.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('self-check: 3 of 4 IPs look down at once'));
    await sleep(2000);
    expect(p.logs.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('would remove'))).toEqual([]);
    expect(p.logs.some((l) => l.msg === `cluster verdict: ${D1} is down`)).toBe(false);
    expect((await p.stop()).code).toBe(0);
  }, 60_000);
});
