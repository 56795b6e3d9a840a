import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, GoavailProcess, runCli } from '../support/cli.js';
import { createCertSet } from '../support/certs.js';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { startHttpTarget, type HttpTarget } from '../support/http-target.js';
import { scratch, waitFor, type Scratch } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { canUseNetns, createNsLab, type NsLab } from '../support/netns.js';

/**
 * HTTP(S) checks end to end: the built CLI, the Cloudflare stand-in, and
 * HTTP(S) servers running inside namespace hosts, one behaviour per host,
 * with a CA and certificates made for this run.
 *
 * | host | server                          | agent www (https, ca_file, expect_status ["200"], expect_body) |
 * |------|---------------------------------|-----------------------------------------------------------------|
 * | 0    | 200, valid                      | stays                                                           |
 * | 1    | 200 → 503 → 200                 | stays → removed → restored                                      |
 * | 2    | 200, wrong body                 | removed (body)                                                  |
 * | 3    | expired certificate             | removed (tls-expired)                                           |
 * | 4    | certificate for another name    | removed (tls-name-mismatch)                                     |
 * | 5    | accepts, never answers          | removed at failure_threshold misses (too-slow)                  |
 * | 6    | 302                             | removed (status)                                                |
 * | 7    | certificate expiring in 3 days  | stays; warning: log, webhook, gauge, /status                    |
 * | 8    | self-signed                     | removed (tls-unknown-ca); agent "self" (tls_verify = false) and agent "pinned" (ca_file = that certificate) keep it |
 * | 9    | plain HTTP, 200                 | agent "web" (type = "http", port 80 by default) keeps it        |
 */
const ZONE = 'example.com';
const WWW = `www.${ZONE}`;
const TOKEN = 'http-e2e-token';
const SECRET = 'e2e-s3cret-header-value';
const NO_CREDENTIALS = { CLOUDFLARE_API_TOKEN: '', CF_API_KEY: '', CF_API_EMAIL: '', CLOUDFLARE_API_KEY: '', CLOUDFLARE_EMAIL: '' };

interface StatusDoc {
  targets: Array<{ ip: string; local: { verdict: string; lastError?: string }; cert?: { expiresAt: string; daysLeft: number; warning: boolean } }>;
}

describe.runIf(canUseNetns())('HTTP(S) checks end to end (servers in namespaces)', () => {
  let lab: NsLab;
  let dir: Scratch;
  let cf: FakeCloudflare;
  let hook: Server;
  const hooks: Array<Record<string, unknown>> = [];
  const servers: HttpTarget[] = [];
  const agents: GoavailProcess[] = [];
  const ip = (k: number): string => lab.hosts[k]!.ip;

  beforeAll(async () => {
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/http'], count: 10 });
    dir = await scratch('http-e2e');
    await createCertSet(dir.dir, WWW);
    const plan: Array<[scheme: 'http' | 'https', cert: string, mode: string]> = [
      ['https', 'valid', 'ok'],
      ['https', 'valid', 'ok'],
      ['https', 'valid', 'body'],
      ['https', 'expired', 'ok'],
      ['https', 'wrong-name', 'ok'],
      ['https', 'valid', 'hang'],
      ['https', 'valid', 'redirect'],
      ['https', 'expiring', 'ok'],
      ['https', 'self-signed', 'ok'],
      ['http', '', 'ok'],
    ];
    for (const [k, [scheme, cert, mode]] of plan.entries()) {
      const host = lab.hosts[k]!;
      const t = await startHttpTarget({ host: host.ip, port: scheme === 'https' ? 443 : 80, scheme, certDir: dir.dir, certId: cert, netns: host.ns });
      servers.push(t);
      if (mode !== 'ok') await t.set(mode);
    }
    cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    for (let k = 0; k <= 8; k++) cf.addRecord(ZONE, { type: 'A', name: WWW, content: ip(k) });
    for (const name of ['self', 'pinned']) cf.addRecord(ZONE, { type: 'A', name: `${name}.${ZONE}`, content: ip(8) });
    cf.addRecord(ZONE, { type: 'A', name: `web.${ZONE}`, content: ip(9) });
    hook = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        try {
          hooks.push(JSON.parse(body) as Record<string, unknown>);
        } catch {
          // not JSON: not ours
        }
        res.end('ok');
      });
    });
    await new Promise<void>((resolve) => hook.listen({ host: '127.0.0.1', port: 0 }, resolve));
  }, 120_000);

  afterAll(async () => {
    for (const a of agents) a.kill();
    await Promise.all(servers.map((s) => s.close()));
    await new Promise((r) => hook?.close(r));
    await cf?.close();
    await lab?.cleanup();
    await dir?.cleanup();
  });

  const contents = (name: string): string[] =>
    cf
      .records(ZONE)
      .filter((r) => r.name === name)
      .map((r) => r.content)
      .sort();
  const sorted = (ks: number[]): string[] => ks.map(ip).sort();

  function config(opts: { type: 'http' | 'https'; hostname: string; ips: string[]; http: string; extra?: string }): string {
    return `
type = "${opts.type}"
failure_threshold = 3
recovery_threshold = 2
interval = 1
timeout = 0.8
status_addr = "127.0.0.1:0"
freeze_min_targets = 100
${opts.extra ?? ''}
[HTTP]
${opts.http}
[Cloudflare]
dns_proxied = false
dns_domain = "${ZONE}"
hostnames = ["${opts.hostname}"]
ip_addresses = [${opts.ips.map((i) => `"${i}"`).join(', ')}]
`;
  }

  async function start(name: string, toml: string, args: string[] = []): Promise<{ agent: GoavailProcess; addr: string }> {
    const file = await dir.write(`${name}.toml`, toml);
    const agent = new GoavailProcess(['monitor', '-f', file, '--no-dry-run', ...args], {
      env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL },
    });
    agents.push(agent);
    const ready = await agent.waitForLog((l) => l.msg === 'status listener ready', 30_000);
    return { agent, addr: ready.statusAddr as string };
  }

  async function status(addr: string): Promise<StatusDoc> {
    return (await (await fetch(`http://${addr}/status`)).json()) as StatusDoc;
  }

  it('https: each behaviour gets its verdict, with the reason in the debug log, /status and /metrics; 503 removes, 200 restores', async () => {
    const hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    const toml = config({
      type: 'https',
      hostname: 'www',
      ips: Array.from({ length: 9 }, (_, k) => ip(k)),
      extra: `webhooks = ["${hookUrl}"]`,
      http: `path = "/health"\nexpect_status = ["200"]\nexpect_body = "status: ok"\nca_file = "ca.crt"\nheaders = { Authorization = "Bearer ${SECRET}" }`,
    });
    const { agent, addr } = await start('www', toml, ['--debug']);

    // Every behaviour reaches its verdict; DNS keeps exactly the healthy ones.
    await waitFor('www to hold hosts 0, 1 and 7 only', () => contents(WWW).join() === sorted([0, 1, 7]).join(), { timeoutMs: 30_000 });
    // The healthy ones are up (a probe slowed by a busy machine may have delayed their streak).
    const doc = await waitFor(
      'hosts 0, 1 and 7 up',
      async () => {
        const d = await status(addr);
        return [0, 1, 7].every((k) => d.targets.find((t) => t.ip === ip(k))?.local.verdict === 'up') && d;
      },
      { timeoutMs: 20_000 },
    );
    const lastError = (k: number): string | undefined => doc.targets.find((t) => t.ip === ip(k))?.local.lastError;
    expect(lastError(2)).toMatch(/^body: expect_body not found/);
    expect(lastError(3)).toMatch(/^tls-expired: CERT_HAS_EXPIRED/);
    expect(lastError(4)).toMatch(/^tls-name-mismatch: ERR_TLS_CERT_ALTNAME_INVALID/);
    expect(lastError(5)).toBe('too-slow: no response headers within 800 ms');
    expect(lastError(6)).toBe('status: 302, expected 200');
    expect(lastError(8)).toMatch(/^tls-unknown-ca: DEPTH_ZERO_SELF_SIGNED_CERT/);

    // The silent server went down at the threshold, three misses, like any other miss.
    const down5 = await agent.waitForLog((l) => l.msg === `local verdict: ${ip(5)} is down`);
    expect(down5.misses).toBe(3);

    // The debug log names the reason of each probe.
    const probe = await agent.waitForLog((l) => l.msg === 'probe' && l.ip === ip(3) && l.ok === false);
    expect(probe.reason).toBe('tls-expired');

    // /metrics: misses by reason, and the certificate gauge.
    const metrics = await (await fetch(`http://${addr}/metrics`)).text();
    for (const reason of ['body', 'tls-expired', 'tls-name-mismatch', 'too-slow', 'status', 'tls-unknown-ca']) {
      expect(metrics).toMatch(new RegExp(`^goavail_probe_misses_by_reason_total\\{reason="${reason}"\\} [1-9]`, 'm'));
    }
    const gauge = (k: number): number | undefined => {
      const line = metrics.split('\n').find((l) => l.startsWith(`goavail_cert_expiry_seconds{ip="${ip(k)}"} `));
      return line === undefined ? undefined : Number(line.split(' ')[1]);
    };
    expect(gauge(7)! / 86_400).toBeGreaterThan(3);
    expect(gauge(7)! / 86_400).toBeLessThan(4);
    expect(gauge(0)! / 86_400).toBeGreaterThan(360);

    // The certificate expiring in 3 days: the check passes, the warning is raised once, everywhere.
    const warn = await agent.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith(`certificate of ${ip(7)} for ${WWW} expires in 3 days`));
    expect(warn.level).toBe(40);
    const cert7 = doc.targets.find((t) => t.ip === ip(7))?.cert;
    expect(cert7).toMatchObject({ daysLeft: 3, warning: true });
    expect(doc.targets.find((t) => t.ip === ip(0))?.cert).toMatchObject({ warning: false });
    const event = await waitFor('the cert_expiry webhook', () => hooks.find((h) => h.type === 'cert_expiry' && h.ip === ip(7)));
    expect(event).toMatchObject({ host: WWW, daysLeft: 3, minDays: 7 });
    expect(hooks.filter((h) => h.type === 'cert_expiry')).toHaveLength(1);

    // 503 → removed; 200 again → restored.
    await servers[1]!.set('status:503');
    await waitFor('host 1 removed on 503', () => contents(WWW).join() === sorted([0, 7]).join(), { timeoutMs: 20_000 });
    expect((await status(addr)).targets.find((t) => t.ip === ip(1))?.local.lastError).toBe('status: 503, expected 200');
    await servers[1]!.set('ok');
    await waitFor('host 1 restored on 200', () => contents(WWW).join() === sorted([0, 1, 7]).join(), { timeoutMs: 20_000 });

    // The Authorization header never shows in the logs.
    expect(agent.stdout).not.toContain(SECRET);
    expect(agent.stderr).not.toContain(SECRET);
    expect((await agent.stop()).code).toBe(0);

    // check-config masks it too.
    const checked = await runCli(['check-config', await dir.write('www-check.toml', toml)], { env: NO_CREDENTIALS });
    expect(checked.code).toBe(0);
    expect(checked.stdout).not.toContain(SECRET);
    expect(JSON.parse(checked.stdout).HTTP.headers).toEqual({ Authorization: '********' });
  }, 120_000);

  it('self-signed: kept with tls_verify = false, and with the certificate as ca_file; plain http on port 80 is kept', async () => {
    const self = await start('self', config({ type: 'https', hostname: 'self', ips: [ip(8)], http: 'tls_verify = false' }));
    const pinned = await start('pinned', config({ type: 'https', hostname: 'pinned', ips: [ip(8)], http: `ca_file = "self-signed.crt"\nhost = "${WWW}"` }));
    const web = await start('web', config({ type: 'http', hostname: 'web', ips: [ip(9)], http: 'expect_body = "status: ok"' }));
    for (const [a, who] of [
      [self.agent, 'self'],
      [pinned.agent, 'pinned'],
      [web.agent, 'web'],
    ] as const) {
      const line = await a.waitForLog((l) => typeof l.msg === 'string' && l.msg.startsWith('local verdict: ') && l.msg.endsWith(' is up'), 30_000);
      expect(line.ip, who).toBe(who === 'web' ? ip(9) : ip(8));
    }
    expect(contents(`self.${ZONE}`)).toEqual([ip(8)]);
    expect(contents(`pinned.${ZONE}`)).toEqual([ip(8)]);
    expect(contents(`web.${ZONE}`)).toEqual([ip(9)]);
    for (const a of [self, pinned, web]) expect((await a.agent.stop()).code).toBe(0);
  }, 90_000);
});
