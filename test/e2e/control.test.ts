import { execFile } from 'node:child_process';
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { assertBuilt, GoavailProcess, ROOT, runCli } from '../support/cli.js';
import { scratch, sleep, waitFor, type Scratch } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { createNsLab, labSubnet, type NsLab } from '../support/netns.js';
import { freePort } from '../support/net.js';

/**
 * The control endpoint and the drain commands with the built CLI:
 *
 * - the token file is the key: a user who cannot read it (`nobody`, the
 *   file root's and 0600) cannot drain, and a request without the token
 *   from that user is refused too;
 * - the token is needed from a non-loopback address as well (a request
 *   from inside a namespace to the agent's status_addr on the lab link),
 *   while /status stays open;
 * - `goavail drain` on one agent of three removes the record once, every
 *   agent shows the drain, it survives a kill -9 and restart of the agent
 *   that set it and of another one, and it expires by itself.
 *
 * Run as root under the netns lock: `flock /tmp/goavail-netns.lock npx vitest run test/e2e/control.test.ts`.
 */
const run = promisify(execFile);
const ZONE = 'example.com';
const WWW = 'www.example.com';
const CF_TOKEN = 'control-e2e-token';
const SECRET = 'e2e-control-shared-secret-0123456789';
const NOBODY = ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'];

describe('control endpoint and drain CLI (built CLI, 3 agents, namespaces)', () => {
  let lab: NsLab;
  let cf: FakeCloudflare;
  let dir: Scratch;
  const names = ['a', 'b', 'c'] as const;
  type Name = (typeof names)[number];
  const gossipPorts = {} as Record<Name, number>;
  const statusPorts = {} as Record<Name, number>;
  const dirs = {} as Record<Name, string>;
  const procs = {} as Record<Name, GoavailProcess>;
  /** Agent a's status listener is on the lab link (root side of host 0's veth), not on loopback. */
  let linkAddr: string;

  const ip = (i: number): string => lab.hosts[i]!.ip;
  const contents = (): string[] =>
    cf
      .records(ZONE)
      .filter((r) => r.name === WWW)
      .map((r) => r.content)
      .sort();
  const statusAddr = (n: Name): string => (n === 'a' ? `${linkAddr}:${statusPorts.a}` : `127.0.0.1:${statusPorts[n]}`);
  const configFile = (n: Name): string => join(dirs[n], 'goavail.toml');

  function config(self: Name): string {
    const peers = names.filter((n) => n !== self).map((n) => `"127.0.0.1:${gossipPorts[n]}"`);
    return `
failure_threshold = 2
recovery_threshold = 2
interval = 0.5
timeout = 0.25
reconcile_interval = 2
status_addr = "${statusAddr(self)}"
[Members]
peers = [${peers.join(', ')}]
local_addr = "127.0.0.1:${gossipPorts[self]}"
min_peers_agree = 1
crypto_key = "${SECRET}"
[Cloudflare]
dns_proxied = false
dns_domain = "${ZONE}"
hostnames = ["www"]
ip_addresses = ["${ip(0)}", "${ip(1)}", "${ip(2)}"]
`;
  }

  function startAgent(n: Name): GoavailProcess {
    const env = { CLOUDFLARE_API_TOKEN: CF_TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL, HOME: dirs[n], GOAVAIL_CONTROL_TOKEN: undefined };
    const p = new GoavailProcess(['monitor', '-f', configFile(n), '--no-dry-run'], { env, cwd: dirs[n] });
    procs[n] = p;
    return p;
  }

  const ready = (p: GoavailProcess) => p.waitForLog((l) => l.msg === 'status listener ready', 30_000);
  const cli = (args: string[], opts: { command?: string[] } = {}) =>
    runCli(args, { env: { GOAVAIL_CONTROL_TOKEN: undefined, HOME: dir.dir }, cwd: dir.dir, ...opts });
  /** `goavail drains -f <n's config> --json`, parsed. */
  async function drainsOn(n: Name): Promise<Array<{ ip: string; drained: boolean; by: string; reason: string; until: number | null }>> {
    const r = await cli(['drains', '-f', configFile(n), '--json']);
    if (r.code !== 0) throw new Error(`drains on ${n}: exit ${r.code}: ${r.stderr}`);
    return (JSON.parse(r.stdout) as { drains: Array<{ ip: string; drained: boolean; by: string; reason: string; until: number | null }> }).drains;
  }

  beforeAll(async () => {
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/control'], count: 3 });
    linkAddr = `${labSubnet(LABS['e2e/control'].subnetIndex)}.1`;
    dir = await scratch('control');
    // nobody must reach the configs (to be refused by the token file, not by the folder).
    await chmod(dir.dir, 0o755);
    for (const n of names) {
      gossipPorts[n] = await freePort();
      statusPorts[n] = await freePort();
      dirs[n] = join(dir.dir, n);
      await mkdir(dirs[n], { mode: 0o755 });
      await chmod(dirs[n], 0o755);
    }
    for (const n of names) await dir.write(`${n}/goavail.toml`, config(n));
    cf = await startFakeCloudflare({ zones: [ZONE], token: CF_TOKEN });
    for (const i of [0, 1, 2]) cf.addRecord(ZONE, { type: 'A', name: WWW, content: ip(i) });
    for (const n of names) startAgent(n);
    for (const n of names) await ready(procs[n]);
    for (const n of names) for (const i of [0, 1, 2]) await procs[n].waitForLog((l) => l.msg === `cluster verdict: ${ip(i)} is up`, 30_000);
  }, 90_000);

  afterAll(async () => {
    for (const p of Object.values(procs)) p.kill();
    await Promise.all(Object.values(procs).map((p) => p.exited));
    await cf?.close();
    await lab?.cleanup();
    await dir?.cleanup();
  });

  it('each agent created its control token file, 0600, beside its key file', async () => {
    for (const n of names) {
      const st = await stat(join(dirs[n], 'goavail.control-token'));
      expect(st.mode & 0o777, n).toBe(0o600);
      expect(st.uid, n).toBe(0);
    }
  });

  it.each([
    ['too short', 'short-token\n', 0o600, 'is too short (11 characters; at least 16)'],
    ['empty', '', 0o600, 'is empty'],
    ['readable by others', 'a-token-that-is-long-enough-0123\n', 0o644, 'has mode 0644: group/others may read it'],
  ])('an agent whose token file is %s does not start: exit 2, saying why', async (_what, content, mode, message) => {
    const sub = join(dir.dir, `bad-${mode}-${content.length}`);
    await mkdir(sub);
    const token = await dir.write(`${sub.slice(dir.dir.length + 1)}/t`, content);
    await chmod(token, mode);
    const file = await dir.write(
      `${sub.slice(dir.dir.length + 1)}/goavail.toml`,
      `status_addr = "127.0.0.1:${await freePort()}"\ncontrol_token_file = "t"\n[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["127.0.0.1"]\n`,
    );
    const r = await runCli(['monitor', '-f', file], { env: { CLOUDFLARE_API_TOKEN: '', GOAVAIL_CONTROL_TOKEN: undefined } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`goavail: control token file ${token} ${message}`);
  });

  it('a user who cannot read the token file cannot drain: refused, non-zero, and it says which file', async () => {
    // What nobody runs must be readable by nobody: node, the built CLI, the config.
    const check = await run(NOBODY[0]!, [
      ...NOBODY.slice(1),
      process.execPath,
      '-e',
      `require('node:fs').accessSync(${JSON.stringify(join(ROOT, 'dist/src/cli/main.js'))}, 4)`,
    ]);
    expect(check.stderr).toBe('');
    const token = join(dirs.b, 'goavail.control-token');
    const r = await cli(['drain', ip(1), '-f', configFile('b')], { command: [...NOBODY, process.execPath] });
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`goavail: cannot read the control token file ${token}: permission denied\n`);
    // And without the token file at all, nobody's request is refused by the agent.
    const bare = await run(NOBODY[0]!, [
      ...NOBODY.slice(1),
      'curl',
      '-s',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '-X',
      'POST',
      '-H',
      'content-type: application/json',
      '--data',
      JSON.stringify({ ip: ip(1) }),
      `http://${statusAddr('b')}/drain`,
    ]);
    expect(bare.stdout).toBe('401');
    expect(contents()).toEqual([ip(0), ip(1), ip(2)].sort());
    expect(await drainsOn('b')).toEqual([]);
  });

  it('from a non-loopback address (inside a namespace) a request without the token, or with a wrong one, gets 401; /status stays open', async () => {
    const url = `http://${statusAddr('a')}`;
    const curl = (...args: string[]) =>
      run('ip', ['netns', 'exec', lab.hosts[0]!.ns, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '5', ...args]);
    const body = ['-H', 'content-type: application/json', '--data', JSON.stringify({ ip: ip(1) })];
    expect((await curl('-X', 'POST', ...body, `${url}/drain`)).stdout).toBe('401');
    expect((await curl('-X', 'POST', '-H', 'authorization: Bearer not-the-token-but-long-enough', ...body, `${url}/drain`)).stdout).toBe('401');
    expect((await curl('-X', 'POST', ...body, `${url}/undrain`)).stdout).toBe('401');
    expect((await curl(`${url}/drains`)).stdout).toBe('401');
    expect((await curl(`${url}/status`)).stdout).toBe('200');
    // The agent saw them from the lab link, not from loopback.
    const refused = await procs.a.waitForLog((l) => l.msg.startsWith('control request without the right token refused'));
    expect(refused.remote).toBe(lab.hosts[0]!.ip);
    expect(contents()).toEqual([ip(0), ip(1), ip(2)].sort());
  });

  it('drain on one agent: the record goes once, every agent shows it, it survives kill -9 and restart of any agent, and it expires', async () => {
    const deletesBefore = cf.mutatingCalls().length;
    const drained = await cli(['drain', ip(1), '--for', '45s', '--reason', 'kernel update', '-f', configFile('c')]);
    expect(drained.stderr).toBe('');
    expect(drained.code).toBe(0);
    expect(drained.stdout).toMatch(
      new RegExp(`^drained ${ip(1).replace(/\./g, '\\.')} until \\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\dZ \\(reason: kernel update\\)\\n$`),
    );
    const setAt = Date.now();

    await waitFor('the drained record removed', () => !contents().includes(ip(1)), { timeoutMs: 15_000 });
    for (const n of names) {
      await waitFor(`${n} shows the drain`, async () => (await drainsOn(n)).some((e) => e.ip === ip(1) && e.drained && e.reason === 'kernel update'), {
        timeoutMs: 10_000,
      });
    }
    await sleep(3_000);
    // Once: one write for the three agents.
    expect(cf.mutatingCalls().length - deletesBefore).toBe(1);
    expect(contents()).toEqual([ip(0), ip(2)].sort());

    // The table for a person.
    const table = await cli(['drains', '-f', configFile('a')]);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/^IP +STATE +BY +SINCE +UNTIL +REASON +SOURCE\n/);
    expect(table.stdout).toContain(`${ip(1)}  drained`);

    // kill -9 and restart: another agent (b), then the one that set it (c).
    for (const n of ['b', 'c'] as const) {
      procs[n].kill();
      await procs[n].exited;
      startAgent(n);
      await ready(procs[n]);
      await waitFor(`${n} shows the drain after its restart`, async () => (await drainsOn(n)).some((e) => e.ip === ip(1) && e.drained), { timeoutMs: 15_000 });
      for (const i of [0, 2]) await procs[n].waitForLog((l) => l.msg === `cluster verdict: ${ip(i)} is up`, 30_000);
      await sleep(2_000);
      expect(contents(), `after restarting ${n}`).toEqual([ip(0), ip(2)].sort());
      expect(cf.mutatingCalls().length - deletesBefore, `after restarting ${n}`).toBe(1);
    }
    expect(Date.now() - setAt).toBeLessThan(42_000); // the checks above ran while it was in force

    // It expires by itself: the record comes back, once.
    await waitFor('the record back after the drain expired', () => contents().includes(ip(1)), { timeoutMs: 45_000 + 20_000 - (Date.now() - setAt) });
    expect(Date.now() - setAt).toBeGreaterThanOrEqual(44_000);
    await sleep(2_000);
    expect(contents()).toEqual([ip(0), ip(1), ip(2)].sort());
    expect(cf.mutatingCalls().length - deletesBefore).toBe(2);
    for (const n of names) expect((await drainsOn(n)).filter((e) => e.drained)).toEqual([]);
  }, 150_000);

  it('undrain ends a drain at once; draining the last up IPs is refused without --force, and with it the note says the record stays', async () => {
    // `goavail status -f` finds the agent by its config too.
    const st = await cli(['status', '-f', configFile('b')]);
    expect(st.code, st.stderr).toBe(0);
    expect(st.stdout).toContain(ip(0));
    expect((await cli(['drain', ip(0), '-f', configFile('a')])).code).toBe(0);
    expect((await cli(['drain', ip(1), '-f', configFile('b')])).code).toBe(0);
    await waitFor('two records removed', () => contents().length === 1, { timeoutMs: 15_000 });
    const refused = await cli(['drain', ip(2), '-f', configFile('c')]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^goavail: the agent at 127\.0\.0\.1:\d+ refused \(409\): .+\n$/);
    const forced = await cli(['drain', ip(2), '--force', '-f', configFile('c')]);
    expect(forced.code).toBe(0);
    expect(forced.stdout).toMatch(/\nnote: .+keep-last.+\n$/);
    await sleep(2_000);
    expect(contents()).toEqual([ip(2)]);
    for (const i of [0, 1, 2]) {
      const u = await cli(['undrain', ip(i), '-f', configFile('a')]);
      expect(u.stdout, u.stderr).toBe(`undrained ${ip(i)}\n`);
    }
    await waitFor('every record back', () => contents().length === 3, { timeoutMs: 15_000 });
  }, 60_000);
});

describe('drain commands: command-line errors (built CLI, no agent needed)', () => {
  it.each([
    [['drain'], "error: missing required argument 'ip'"],
    [['undrain'], "error: missing required argument 'ip'"],
    [['drain', '198.18.111.5', '--for'], "error: option '--for <duration>' argument missing"],
    [['drain', '198.18.111.5', '--reason'], "error: option '--reason <text>' argument missing"],
    [['drains', '--frobnicate'], "error: unknown option '--frobnicate'"],
    [['drain', '198.18.111', '--addr', '127.0.0.1:1'], 'goavail: "198.18.111" is not an IPv4 or IPv6 address'],
    [['drain', '198.18.111.5', '--for', '30', '--addr', '127.0.0.1:1'], 'goavail: --for: expected a duration like 90s, 30m, 2h, 1d or 1h30m'],
    [['drain', '198.18.111.5', '--for', '1.5h', '--addr', '127.0.0.1:1'], 'goavail: --for: expected a duration like 90s'],
    [['undrain', '198.18.111.5', '--addr', 'localhost'], 'goavail: --addr "localhost": must be "host:port"'],
    [['drains', '-f', '/nonexistent/goavail.toml'], '/nonexistent/goavail.toml: (file):'],
    [['status', '-f', '/nonexistent/goavail.toml'], '/nonexistent/goavail.toml: (file):'],
  ])('goavail %j → exit 2: %s', async (args, message) => {
    assertBuilt();
    const r = await runCli(args, { env: { GOAVAIL_CONTROL_TOKEN: 'a-token-long-enough-for-the-cli-0123' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stdout).toBe('');
  });
});
