import { createServer, type Server } from 'node:net';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, GoavailProcess, runCli } from '../support/cli.js';
import { scratch, waitFor } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { ensureBlackhole, labSubnet } from '../support/netns.js';

/**
 * The built CLI in dry-run without credentials (a simulated zone holding
 * every configured record), ICMP to 127.0.0.1, 127.0.0.2 and an address
 * of the blackholed lab range that nobody holds (sends fail at once), with
 * the status listener on an ephemeral port read from the logs.
 */
const DEAD = `${labSubnet(LABS['e2e/status'].subnetIndex)}.254`;
const WWW = 'www.example.com';
const API = 'api.example.com';
const NO_CREDENTIALS = { CLOUDFLARE_API_TOKEN: '', CF_API_KEY: '', CF_API_EMAIL: '', CLOUDFLARE_API_KEY: '', CLOUDFLARE_EMAIL: '' };

function config(ips: string[], statusAddr = '127.0.0.1:0'): string {
  return `
failure_threshold = 2
interval = 0.3
timeout = 0.15
status_addr = "${statusAddr}"
[Cloudflare]
dns_proxied = false
dns_domain = "example.com"
hostnames = ["www", "api"]
ip_addresses = [${ips.map((ip) => `"${ip}"`).join(', ')}]
`;
}

interface Doc {
  id: string;
  dryRun: boolean;
  running: boolean;
  now: number;
  lastRoundAt: number | null;
  intervalMs: number;
  gossipDrops: unknown;
  selfCheck: { state: string };
  peers: unknown[];
  lastReconcile: { ok: boolean } | null;
  targets: Array<{
    ip: string;
    local: { verdict: string; misses: number; successes: number; lastRttMs: number | null };
    vote: string;
    peers: unknown[];
    cluster: { verdict: string; since: number | null; agreed: string[] };
    inDns: Record<string, boolean | null>;
    lastAction: { summary: string; at: number } | null;
    why: string | null;
  }>;
}

async function fetchText(addr: string, path: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(`http://${addr}${path}`);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

async function fetchDoc(addr: string): Promise<Doc> {
  return JSON.parse((await fetchText(addr, '/status')).body) as Doc;
}

/** The value of one exposition line, e.g. `goavail_verdict{ip="…",kind="cluster"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/status, /metrics, /healthz and `goavail status` (built CLI, dry-run)', () => {
  let dir: Awaited<ReturnType<typeof scratch>>;
  const procs: GoavailProcess[] = [];
  const holders: Server[] = [];

  beforeAll(async () => {
    assertBuilt();
    await ensureBlackhole();
    dir = await scratch('status');
  });
  afterAll(async () => {
    for (const p of procs) p.kill();
    await Promise.all(holders.map((s) => new Promise((r) => s.close(r))));
    await dir?.cleanup();
  });

  it('serves what the agent sees, the CLI prints it, and it ends with the agent', async () => {
    const file = await dir.write('goavail.toml', config(['127.0.0.1', '127.0.0.2', DEAD]));
    const agent = new GoavailProcess(['monitor', '-f', file], { env: NO_CREDENTIALS });
    procs.push(agent);
    const ready = await agent.waitForLog((l) => l.msg === 'status listener ready');
    const addr = ready.statusAddr as string;
    expect(addr).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
    expect(addr).not.toBe('127.0.0.1:0');

    // The dead IP goes down by this agent's own agreement and leaves the simulated zone.
    const doc = await waitFor(
      'the dead IP down and out of the simulated zone',
      async () => {
        const d = await fetchDoc(addr);
        const dead = d.targets.find((t) => t.ip === DEAD);
        const up = d.targets.filter((t) => t.ip !== DEAD);
        const settled =
          dead?.cluster.verdict === 'down' &&
          dead.inDns[WWW] === false &&
          dead.inDns[API] === false &&
          up.every((t) => t.cluster.verdict === 'up' && t.inDns[WWW] === true);
        return settled ? d : undefined;
      },
      { timeoutMs: 30_000 },
    );

    expect(doc).toMatchObject({ id: 'self', dryRun: true, running: true, intervalMs: 300, gossipDrops: null, peers: [], selfCheck: { state: 'healthy' } });
    expect(typeof doc.now).toBe('number');
    expect(doc.lastRoundAt).toBeGreaterThan(0);
    expect(doc.targets.map((t) => t.ip)).toEqual(['127.0.0.1', '127.0.0.2', DEAD]);
    const dead = doc.targets[2]!;
    expect(dead.local.verdict).toBe('down');
    expect(dead.local.misses).toBeGreaterThanOrEqual(2);
    expect(dead.local.successes).toBe(0);
    expect(dead.local.lastRttMs).toBeNull();
    expect(dead.vote).toBe('down');
    expect(dead.cluster.agreed).toEqual(['self']);
    expect(dead.cluster.since).toBeGreaterThan(0);
    expect(dead.why).toMatch(/^down by agreement of self since \d{4}-/);
    expect(dead.lastAction?.summary).toMatch(new RegExp(`^would remove A (www|api)\\.example\\.com ${DEAD.replace(/\./g, '\\.')}$`));
    for (const t of doc.targets.slice(0, 2)) {
      expect(t.local.verdict).toBe('up');
      expect(t.local.lastRttMs).toBeGreaterThan(0);
      expect(t.inDns).toEqual({ [WWW]: true, [API]: true });
      expect(t.why).toBeNull();
      expect(t.lastAction).toBeNull();
    }
    // Dry-run logged each would-be removal once.
    for (const name of [WWW, API]) {
      expect(agent.logs.filter((l) => l.msg === `would remove A ${name} ${DEAD}`)).toHaveLength(1);
    }

    const metrics = await fetchText(addr, '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = metrics.body;
    expect(sample(m, `goavail_verdict{ip="${DEAD}",kind="cluster"}`)).toBe(0);
    expect(sample(m, `goavail_verdict{ip="${DEAD}",kind="local"}`)).toBe(0);
    expect(sample(m, 'goavail_verdict{ip="127.0.0.1",kind="cluster"}')).toBe(1);
    expect(sample(m, `goavail_probe_misses_total{ip="${DEAD}"}`)).toBeGreaterThanOrEqual(2);
    expect(sample(m, 'goavail_probe_misses_total{ip="127.0.0.1"}')).toBe(0);
    expect(sample(m, 'goavail_probe_rtt_seconds_count')).toBeGreaterThanOrEqual(2);
    expect(sample(m, 'goavail_probe_last_rtt_seconds{ip="127.0.0.2"}')).toBeGreaterThan(0);
    expect(sample(m, 'goavail_dns_changes_total{op="delete",dry_run="true"}')).toBe(2);
    expect(sample(m, 'goavail_dns_api_calls_total{operation="apply",result="ok"}')).toBeGreaterThanOrEqual(1);
    expect(sample(m, 'goavail_reconcile_consecutive_failures')).toBe(0);
    expect(sample(m, 'goavail_self_check{state="healthy"}')).toBe(1);
    expect(sample(m, 'goavail_config_reloads_total{result="ok"}')).toBe(0);
    expect(m).toContain('process_cpu_user_seconds_total');
    expect(m).not.toContain('goavail_gossip_'); // single node

    expect(await fetchText(addr, '/healthz')).toMatchObject({ status: 200, body: 'ok\n' });
    expect((await fetchText(addr, '/nope')).status).toBe(404);

    // `goavail status`: the table.
    const table = await runCli(['status', '--addr', addr]);
    expect(table.stderr).toBe('');
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toMatch(/^agent self · dry-run · running /);
    expect(lines.find((l) => l.startsWith('IP '))?.split(/ {2,}/)).toEqual(['IP', 'LOCAL miss/ok', 'RTT', 'PEER VOTES', 'CLUSTER', 'www', 'api', 'WHY']);
    expect(lines.find((l) => l.startsWith(`${DEAD} `))).toMatch(
      new RegExp(`^${DEAD.replace(/\./g, '\\.')} +down \\d+/0 +- +- +down \\S+ +✗ +✗ +down by agreement of self since `),
    );
    expect(lines.find((l) => l.startsWith('127.0.0.1 '))).toMatch(/^127\.0\.0\.1 +up 0\/\d+ +[\d.]+ ms +- +up \S+ +✓ +✓$/);
    expect(lines).toContain('peers: none (single node)');
    expect(lines.some((l) => /^last reconcile: ok /.test(l))).toBe(true);

    // `goavail status --json`: the raw document.
    const json = await runCli(['status', '--addr', addr, '--json']);
    expect(json.code).toBe(0);
    const raw = JSON.parse(json.stdout) as Doc;
    expect(raw.targets.find((t) => t.ip === DEAD)?.cluster.verdict).toBe('down');
    expect(raw.targets.find((t) => t.ip === DEAD)?.inDns).toEqual({ [WWW]: false, [API]: false });

    // SIGHUP with the dead IP dropped: the reload is counted and its series go.
    await dir.write('goavail.toml', config(['127.0.0.1', '127.0.0.2']));
    const before = agent.logs.length;
    agent.child.kill('SIGHUP');
    await agent.waitForLog((l) => l.msg === 'config reloaded', 20_000, before);
    const afterReload = (await fetchText(addr, '/metrics')).body;
    expect(sample(afterReload, 'goavail_config_reloads_total{result="ok"}')).toBe(1);
    expect(afterReload).not.toContain(`ip="${DEAD}"`);
    expect(sample(afterReload, 'goavail_verdict{ip="127.0.0.2",kind="cluster"}')).toBe(1);
    expect((await fetchDoc(addr)).targets.map((t) => t.ip)).toEqual(['127.0.0.1', '127.0.0.2']);

    // A broken file: the reload fails, is counted, and the agent keeps serving.
    await dir.write('goavail.toml', 'failure_threshold = "three"\n');
    const before2 = agent.logs.length;
    agent.child.kill('SIGHUP');
    await agent.waitForLog((l) => l.msg.startsWith('config reload failed'), 20_000, before2);
    const afterFailed = (await fetchText(addr, '/metrics')).body;
    expect(sample(afterFailed, 'goavail_config_reloads_total{result="failed"}')).toBe(1);
    expect(sample(afterFailed, 'goavail_config_reloads_total{result="ok"}')).toBe(1);

    // SIGTERM closes the listener with the agent.
    const keepAlive = await fetch(`http://${addr}/healthz`); // leaves a keep-alive connection open
    expect(keepAlive.status).toBe(200);
    await keepAlive.text();
    const t0 = Date.now();
    expect((await agent.stop()).code).toBe(0);
    expect(Date.now() - t0).toBeLessThan(5_000);

    const gone = await runCli(['status', '--addr', addr]);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toBe('');
    expect(gone.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(gone.stderr).toContain(`cannot reach the agent at ${addr} (connection refused)`);
  }, 90_000);

  it('`goavail status` with a malformed --addr exits 2', async () => {
    const r = await runCli(['status', '--addr', 'not-an-address']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^goavail: --addr "not-an-address": /);
  });

  it('a status_addr already taken stops the start with exit 1 and names the address', async () => {
    const holder = createServer();
    holders.push(holder);
    await new Promise<void>((r) => holder.listen(0, '127.0.0.1', () => r()));
    const taken = `127.0.0.1:${(holder.address() as { port: number }).port}`;
    const file = await dir.write('taken.toml', config(['127.0.0.1'], taken));
    const r = await runCli(['monitor', '-f', file], { env: NO_CREDENTIALS });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(
      `goavail: cannot listen on ${taken} for /status, /metrics, /healthz: address already in use (EADDRINUSE); set status_addr to a free address, or status_addr = "" to disable the listener\n`,
    );
    expect(r.stdout).not.toContain('agent started');
  }, 30_000);

  it('status_addr not set and the default 127.0.0.1:9470 taken: warns, runs without the listener and keeps probing', async () => {
    // Hold the default port (if something else already holds it, it is taken all the same).
    const holder = createServer();
    holders.push(holder);
    await new Promise<void>((r) => {
      holder.once('error', () => r());
      holder.listen(9470, '127.0.0.1', () => r());
    });
    const file = await dir.write('default-taken.toml', config(['127.0.0.1']).replace(/^status_addr = .*$/m, ''));
    expect(await readFile(file, 'utf8')).not.toMatch(/status_addr/);
    const agent = new GoavailProcess(['monitor', '-f', file], { env: NO_CREDENTIALS });
    procs.push(agent);
    const warned = await agent.waitForLog((l) => l.level === 40 && l.statusAddr === '127.0.0.1:9470');
    expect(warned.msg).toMatch(
      /^status_addr is not set and the default 127\.0\.0\.1:9470 cannot be used \(.*EADDRINUSE.*\): running without the status listener/,
    );
    await agent.waitForLog((l) => l.msg === 'local verdict: 127.0.0.1 is up');
    expect(agent.logs.some((l) => l.msg === 'status listener ready')).toBe(false);
    expect((await agent.stop()).code).toBe(0);
  }, 30_000);

  it('status_addr = "" runs without a listener', async () => {
    const file = await dir.write('off.toml', config(['127.0.0.1'], ''));
    const agent = new GoavailProcess(['monitor', '-f', file], { env: NO_CREDENTIALS });
    procs.push(agent);
    await agent.waitForLog((l) => l.msg === 'local verdict: 127.0.0.1 is up');
    expect(agent.logs.some((l) => l.msg === 'status listener ready')).toBe(false);
    expect((await agent.stop()).code).toBe(0);
  }, 30_000);
});
