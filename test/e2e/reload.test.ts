import { execFile } from 'node:child_process';
import { rename, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, GoavailProcess, runCli } from '../support/cli.js';
import { scratch } from '../support/kit.js';
import { freePort } from '../support/net.js';

/**
 * SIGHUP and SIGTERM against files that do not behave: a FIFO (whose
 * blocking open() waits for a writer for ever) and a file-system request
 * that never returns (what a hung NFS mount does). Built CLI, TCP probes to
 * 127.0.0.1 only, dry-run without credentials.
 */
const mkfifo = (path: string) => promisify(execFile)('mkfifo', [path]);
const noCreds = { CLOUDFLARE_API_TOKEN: '', CF_API_KEY: '', CF_API_EMAIL: '', CLOUDFLARE_API_KEY: '', CLOUDFLARE_EMAIL: '' };

describe('reload and stop with files that block', () => {
  let dir: Awaited<ReturnType<typeof scratch>>;
  let port: number;
  const config = (hostname: string) => `
interval = 0.5
timeout = 0.2
status_addr = ""
port = ${port}
[Cloudflare]
dns_proxied = false
dns_domain = "example.com"
hostnames = ["${hostname}"]
ip_addresses = ["127.0.0.1"]
`;
  const running: GoavailProcess[] = [];
  const start = (args: string[], command?: string[]) => {
    const p = new GoavailProcess(['monitor', '--type', 'tcp', ...args], { env: noCreds, command });
    running.push(p);
    return p;
  };
  /** A preload that leaves one fs request blocked for good: open() of a FIFO nobody writes to. */
  let hangCommand: string[];

  beforeAll(async () => {
    assertBuilt();
    dir = await scratch('reload');
    port = await freePort();
    const fifo = join(dir.dir, 'hang.fifo');
    await mkfifo(fifo);
    const preload = await dir.write('hang.mjs', `import { open } from 'node:fs';\nopen(${JSON.stringify(fifo)}, 'r', () => {});\n`);
    hangCommand = [process.execPath, '--import', pathToFileURL(preload).href];
  });
  afterAll(async () => {
    for (const p of running) p.kill();
    await dir?.cleanup();
  });

  it('SIGHUP on a FIFO is refused at once, the agent keeps running, a later SIGHUP with a valid file reloads, SIGTERM exits 0 in time', async () => {
    const file = await dir.write('fifo-reload.toml', config('www'));
    const p = start(['-f', file]);
    await p.waitForLog((l) => l.msg === 'agent started');

    await rm(file);
    await mkfifo(file);
    const sent = Date.now();
    p.child.kill('SIGHUP');
    const failed = await p.waitForLog((l) => l.msg.startsWith('config reload failed'), 3_000);
    expect(Date.now() - sent).toBeLessThan(2_000);
    expect(failed.msg).toBe(`config reload failed, still running on the previous config:\n${file}: (file): is a FIFO (named pipe), not a regular file`);
    expect(p.child.exitCode).toBe(null);

    // A valid file again (renamed into place, as editors and config managers do).
    const from = p.logs.length;
    await dir.write('next.toml', config('api'));
    await rename(join(dir.dir, 'next.toml'), file);
    p.child.kill('SIGHUP');
    const reloaded = await p.waitForLog((l) => l.msg === 'config reloaded', 5_000, from);
    expect(reloaded.file).toBe(file);

    const stopAt = Date.now();
    const { code, signal } = await p.stop('SIGTERM');
    expect({ code, signal }, p.tail()).toEqual({ code: 0, signal: null });
    expect(Date.now() - stopAt).toBeLessThan(5_000);
  }, 30_000);

  it('200 SIGHUPs in a row (a FIFO in between) leave the agent running on the last valid file; SIGTERM exits 0', async () => {
    const file = await dir.write('burst.toml', config('www'));
    const p = start(['-f', file]);
    await p.waitForLog((l) => l.msg === 'agent started');
    await rm(file);
    await mkfifo(file);
    for (let i = 0; i < 100; i++) p.child.kill('SIGHUP');
    await dir.write('burst-next.toml', config('api'));
    await rename(join(dir.dir, 'burst-next.toml'), file);
    const from = p.logs.length;
    for (let i = 0; i < 100; i++) p.child.kill('SIGHUP');
    await p.waitForLog((l) => l.msg === 'config reloaded', 10_000, from);
    expect(p.child.exitCode).toBe(null);
    const { code, signal } = await p.stop('SIGTERM');
    expect({ code, signal }, p.tail()).toEqual({ code: 0, signal: null });
  }, 30_000);

  it('a FIFO as the config at start-up: monitor and check-config exit 2 at once, naming it', async () => {
    const fifo = join(dir.dir, 'start.fifo');
    await mkfifo(fifo);
    for (const args of [
      ['monitor', '-f', fifo],
      ['check-config', fifo],
    ]) {
      const t0 = Date.now();
      const r = await runCli(args, { env: noCreds, timeoutMs: 10_000 });
      expect({ code: r.code, args }).toEqual({ code: 2, args });
      expect(r.stderr).toContain(`${fifo}: (file): is a FIFO (named pipe), not a regular file`);
      expect(Date.now() - t0).toBeLessThan(5_000);
    }
  }, 30_000);

  /** Ends with the first of: the process exits, or `ms` pass ('still running'). */
  const exitWithin = (p: GoavailProcess, ms: number) => Promise.race([p.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), ms))]);

  it('a file-system request that never returns does not keep the process alive after SIGTERM: it ends within the stop deadline, and says why', async () => {
    const file = await dir.write('hang-stop.toml', config('www'));
    const p = start(['-f', file], hangCommand);
    await p.waitForLog((l) => l.msg === 'agent started');
    const stopAt = Date.now();
    p.child.kill('SIGTERM');
    const exited = await exitWithin(p, 6_000);
    // Node cannot exit with a code while a threadpool thread is blocked in
    // the kernel (process.exit joins it): it ends by SIGTERM, the clean one.
    expect(exited, p.tail()).toEqual({ code: null, signal: 'SIGTERM' });
    expect(Date.now() - stopAt).toBeLessThan(5_000);
    expect(p.logs.some((l) => l.msg === 'agent stopped')).toBe(true);
    expect(p.stderr).toBe(
      'goavail: 1 file-system request(s) still pending (a hung network file system?): the process cannot exit while they are, so it ends by SIGTERM instead of exit code 0\n',
    );
  }, 30_000);

  describe('a second SIGTERM while the stop waits for a webhook that never answers', () => {
    let hookUrl: string;
    let hook: Server;
    beforeAll(async () => {
      hook = createServer(() => undefined); // takes the POST, never answers: flush() waits its 1.5 s
      await new Promise<void>((r) => hook.listen(0, '127.0.0.1', () => r()));
      hookUrl = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/hook`;
    });
    afterAll(async () => {
      hook.closeAllConnections();
      await new Promise((r) => hook.close(r));
    });

    /** Starts an agent whose first verdict (127.0.0.1 down: nothing listens on `port`) is being delivered, then sends SIGTERM twice. */
    async function stopTwice(command?: string[]) {
      const file = await dir.write('twice.toml', `webhooks = ["${hookUrl}"]\n${config('www')}`);
      const p = start(['-f', file], command);
      await p.waitForLog((l) => l.msg === 'cluster verdict: 127.0.0.1 is down');
      p.child.kill('SIGTERM');
      await p.waitForLog((l) => l.msg === 'agent stopped', 3_000);
      const secondAt = Date.now();
      p.child.kill('SIGTERM');
      return { p, exited: await exitWithin(p, 3_000), afterMs: Date.now() - secondAt };
    }

    it('exits 130 at once', async () => {
      const { p, exited, afterMs } = await stopTwice();
      expect(exited, p.tail()).toEqual({ code: 130, signal: null });
      expect(afterMs).toBeLessThan(1_000);
    }, 30_000);

    it('ends at once with a file-system request that never returns (by SIGINT: 130 to a shell)', async () => {
      const { p, exited, afterMs } = await stopTwice(hangCommand);
      expect(exited, p.tail()).toEqual({ code: null, signal: 'SIGINT' });
      expect(afterMs).toBeLessThan(1_000);
      expect(p.stderr).toContain('so it ends by SIGINT instead of exit code 130');
    }, 30_000);
  });
});
