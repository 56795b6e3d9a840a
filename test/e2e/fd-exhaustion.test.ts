import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { assertBuilt, GoavailProcess, ROOT } from '../support/cli.js';
import { scratch, sleep, waitFor } from '../support/kit.js';
import { closeServer, listenTcp } from '../support/net.js';

/**
 * Real descriptor exhaustion, on loopback only. Finding: any local process
 * could hold the agent a few descriptors below its limit through the status
 * listener; TCP probes then failed with EMFILE, each counted as a miss, and
 * a healthy IP was deleted from and re-created in DNS over and over.
 */
const PRLIMIT = ['/usr/bin/prlimit', '/bin/prlimit'].find((p) => existsSync(p));
const canProc = existsSync(`/proc/${process.pid}/fd`);
const run = promisify(execFile);

describe.skipIf(!PRLIMIT || !canProc)('descriptor exhaustion (prlimit, loopback)', () => {
  const servers: Server[] = [];
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
    await Promise.all(servers.splice(0).map(closeServer));
  });

  it('the TCP prober in a process out of descriptors reports no observation (EMFILE), not misses, and probes again once one is free', async () => {
    assertBuilt();
    const server = await listenTcp('127.0.0.1', 0);
    servers.push(server);
    const port = (server.address() as { port: number }).port;
    const dir = await scratch('fd-prober');
    cleanups.push(dir.cleanup);
    const script = await dir.write(
      'starve.mjs',
      `
import { closeSync, openSync } from 'node:fs';
const { createTcpProber } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/probe/tcp.js')).href)});
const { silentLogger } = await import(${JSON.stringify(pathToFileURL(join(ROOT, 'dist/src/log.js')).href)});
const prober = createTcpProber({ logger: silentLogger(), port: ${port} });
const warm = await prober.probe(['127.0.0.1'], 2000);
const held = [];
try { for (;;) held.push(openSync('/dev/null', 'r')); } catch (err) { if (err.code !== 'EMFILE') throw err; }
const starved = await prober.probe(['127.0.0.1', '127.0.0.1', '127.0.0.1'], 2000);
for (const fd of held.splice(0, 8)) closeSync(fd);
const fed = await prober.probe(['127.0.0.1'], 2000);
process.stdout.write(JSON.stringify({ held: held.length, warm, starved, fed }) + '\\n');
`,
    );
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(PRLIMIT!, ['--nofile=128:128', process.execPath, script], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
      child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      child.on('exit', (code) => {
        clearTimeout(timer);
        if (code === 0) resolve(stdout);
        else reject(new Error(`child exited ${code}: ${stderr}`));
      });
    });
    const r = JSON.parse(out) as { held: number; warm: unknown[]; starved: Array<Record<string, unknown>>; fed: unknown[] };
    expect(r.held).toBeGreaterThan(50); // the descriptors really were used up by the child itself
    expect(r.warm).toEqual([expect.objectContaining({ ip: '127.0.0.1', ok: true })]);
    expect(r.starved).toHaveLength(3);
    for (const x of r.starved) {
      expect(x).toMatchObject({ ip: '127.0.0.1', ok: false, local: 'EMFILE' });
      expect(x.error).toMatch(/^no probe sent: EMFILE/);
    }
    expect(r.fed).toEqual([expect.objectContaining({ ip: '127.0.0.1', ok: true })]);
  }, 30_000);

  /**
   * An agent probing two healthy loopback listeners over TCP; its descriptor
   * limit is lowered while it runs (`prlimit --pid`) to what it uses plus
   * `spare`, then local clients flood its status listener from many source
   * addresses, reconnecting whatever gets closed.
   */
  async function floodAgent(spare: number): Promise<{ agent: GoavailProcess; cf: FakeCloudflare; contents: () => string[]; stopFlood: () => Promise<number> }> {
    assertBuilt();
    const first = await listenTcp('127.0.0.1', 0);
    servers.push(first);
    const port = (first.address() as { port: number }).port;
    servers.push(await listenTcp('127.0.0.2', port));
    const ZONE = 'example.com';
    const WWW = 'www.example.com';
    const TOKEN = 'fd-token';
    const cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    cleanups.push(() => cf.close());
    for (const ip of ['127.0.0.1', '127.0.0.2']) cf.addRecord(ZONE, { type: 'A', name: WWW, content: ip });
    const dir = await scratch('fd-agent');
    cleanups.push(dir.cleanup);
    const file = await dir.write(
      'goavail.toml',
      `
failure_threshold = 2
interval = 0.2
timeout = 0.1
status_addr = "127.0.0.1:0"
port = ${port}
[Cloudflare]
dns_proxied = false
dns_domain = "${ZONE}"
hostnames = ["www"]
ip_addresses = ["127.0.0.1", "127.0.0.2"]
`,
    );
    const agent = new GoavailProcess(['monitor', '-f', file, '--no-dry-run', '--type', 'tcp'], {
      env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL },
    });
    cleanups.push(() => agent.kill());
    const ready = await agent.waitForLog((l) => l.msg === 'status listener ready');
    const [host, statusPort] = (ready.statusAddr as string).split(':');
    await agent.waitForLog((l) => l.msg === 'local verdict: 127.0.0.1 is up');
    await agent.waitForLog((l) => l.msg === 'local verdict: 127.0.0.2 is up');
    await sleep(500); // let the first reconcile and its connection settle
    const pid = agent.child.pid!;
    const used = readdirSync(`/proc/${pid}/fd`).length;
    await run(PRLIMIT!, ['--pid', String(pid), `--nofile=${used + spare}:${used + spare}`]);

    let flooding = true;
    const open = new Set<Socket>();
    let opened = 0;
    const one = (i: number): void => {
      if (!flooding) return;
      const s = connect({ host: host!, port: Number(statusPort), localAddress: `127.0.1.${1 + (i % 40)}` });
      opened++;
      open.add(s);
      s.on('error', () => undefined);
      s.resume();
      s.once('close', () => {
        open.delete(s);
        setTimeout(() => one(i), 20); // reconnect: the attacker keeps the pressure on
      });
    };
    for (let i = 0; i < 600; i++) one(i);
    const contents = () =>
      cf
        .records(ZONE)
        .filter((r) => r.name === WWW)
        .map((r) => r.content)
        .sort();
    const stopFlood = async (): Promise<number> => {
      flooding = false;
      for (const s of open) s.destroy();
      await waitFor('flood sockets closed', () => open.size === 0, { timeoutMs: 5_000 });
      return opened;
    };
    cleanups.push(stopFlood);
    return { agent, cf, contents, stopFlood };
  }

  it('out of descriptors under a status-listener flood, the agent keeps its verdicts, changes no record and abstains; it recovers after', async () => {
    const { agent, cf, contents, stopFlood } = await floodAgent(12);
    const from = agent.logs.length;
    await agent.waitForLog((l) => /probes could not be sent \(EMFILE\)/.test(l.msg), 10_000, from);
    await agent.waitForLog((l) => l.msg.startsWith('self-check: no probe could be sent: EMFILE'), 10_000, from);
    await sleep(3_000); // 15 rounds at 0.2 s with failure_threshold 2
    expect(contents()).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(cf.calls.filter((c) => c.method !== 'GET')).toEqual([]);
    expect(agent.logs.slice(from).filter((l) => /local verdict: .* is down/.test(l.msg))).toEqual([]);
    await stopFlood();
    await agent.waitForLog((l) => l.msg === 'probes are sent again: every target observed this round', 10_000, from);
    await agent.waitForLog((l) => /self-check healthy again/.test(l.msg), 10_000, from);
    expect(contents()).toEqual(['127.0.0.1', '127.0.0.2']);
    expect((await agent.stop()).code).toBe(0);
  }, 60_000);

  it('with descriptors to spare beyond the listener cap, a flood of the status listener leaves every probe its descriptor', async () => {
    const { agent, cf, contents, stopFlood } = await floodAgent(64 + 40);
    const from = agent.logs.length;
    await sleep(3_000);
    const opened = await stopFlood();
    expect(opened).toBeGreaterThan(600); // the flood ran and was cut again and again
    expect(contents()).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(cf.calls.filter((c) => c.method !== 'GET')).toEqual([]);
    const after = agent.logs.slice(from);
    expect(after.filter((l) => /could not be sent|local verdict|self-check/.test(l.msg))).toEqual([]);
    expect((await agent.stop()).code).toBe(0);
  }, 60_000);
});
