import { chmod } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, GoavailProcess, ROOT, runCli } from '../support/cli.js';
import { scratch } from '../support/kit.js';

/** The command line itself: flags, exit codes, messages. */
describe('goavail CLI', () => {
  let dir: Awaited<ReturnType<typeof scratch>>;
  let good: string;
  beforeAll(async () => {
    assertBuilt();
    dir = await scratch('cli');
    good = await dir.write(
      'good.toml',
      `
failure_threshold = 2
interval = 1
status_addr = "127.0.0.1:0"
[Members]
crypto_key = "a-very-secret-shared-key-1234567890"
[Cloudflare]
dns_proxied = false
dns_domain = "example.com"
hostnames = ["www"]
ip_addresses = ["127.0.0.1", "127.0.0.2"]
`,
    );
  });
  afterAll(async () => dir?.cleanup());

  const noCreds = { CLOUDFLARE_API_TOKEN: '', CF_API_KEY: '', CF_API_EMAIL: '', CLOUDFLARE_API_KEY: '', CLOUDFLARE_EMAIL: '' };

  it('--help and --version exit 0', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('monitor');
    const mhelp = await runCli(['monitor', '--help']);
    expect(mhelp.code).toBe(0);
    expect(mhelp.stdout).toContain('--no-dry-run');
    const v = await runCli(['--version']);
    expect(v.code).toBe(0);
    expect(v.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });

  it.each([[['frobnicate']], [['monitor', '--frobnicate']], [['monitor', '--type', 'udp']], [['monitor', '--dns-provider', 'route66']]])(
    '%j exits 2 with a one-line reason',
    async (args) => {
      const r = await runCli(args);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/error/i);
    },
  );

  it('check-config prints the effective config with secrets masked', async () => {
    const r = await runCli(['check-config', '-f', good]);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('a-very-secret');
    expect(r.stdout).toContain('127.0.0.2');
    expect(r.stderr).toContain('valid');
  });

  it('check-config on a bad file exits 2 naming the file and key, without a stack trace', async () => {
    const bad = await dir.write(
      'bad.toml',
      `failure_threshold = 0\n[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["127.0.0.1"]\n`,
    );
    const r = await runCli(['check-config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(bad);
    expect(r.stderr).toContain('failure_threshold');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('check-config takes -t/--type and -p/--dns-provider like monitor, and validation sees them', async () => {
    const r = await runCli(['check-config', '-t', 'tcp', '--dns-provider', 'cloudflare', good]);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ type: 'tcp', dns_provider: 'cloudflare' });
    const udp = await runCli(['check-config', '--type', 'udp', good]);
    expect(udp.code).toBe(2);
    expect(udp.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('check-config reports peers without local_addr (monitor refuses the same file at start)', async () => {
    const bad = await dir.write(
      'peers-only.toml',
      `[Members]\npeers = ["127.0.0.1:1"]\ncrypto_key = "a-very-secret-shared-key-1234567890"\n[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["127.0.0.1"]\n`,
    );
    const line = `${bad}: Members.local_addr: required when Members.peers is set (the address this agent listens on for its peers, host:port)`;
    const r = await runCli(['check-config', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(line);
    const m = await runCli(['monitor', bad], { env: noCreds });
    expect(m.code).toBe(2);
    expect(m.stderr).toContain(line);
  });

  it('a missing config file exits 2 with its path', async () => {
    const r = await runCli(['monitor', '-f', `${dir.dir}/nope.toml`]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('nope.toml');
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('--no-dry-run without credentials exits 2 with a clear message', async () => {
    const r = await runCli(['monitor', '-f', good, '--no-dry-run'], { env: noCreds });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('CLOUDFLARE_API_TOKEN');
  });

  it('accepts the original invocation `monitor --config-file --no-dry-run <file>`', async () => {
    // no credentials: reaching the credentials check proves the path and flags were understood
    const r = await runCli(['monitor', '--config-file', '--no-dry-run', good], { env: noCreds });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--no-dry-run needs Cloudflare credentials');
  });

  it('runs the shipped goavail.toml in dry-run without credentials and stops on SIGTERM', async () => {
    const p = new GoavailProcess(['monitor'], { cwd: ROOT, env: noCreds });
    try {
      await p.waitForLog((l) => l.msg === 'local verdict: 127.0.0.2 is up', 30_000);
      const { code } = await p.stop('SIGTERM');
      expect(code).toBe(0);
      expect(p.logs.some((l) => l.msg === 'agent stopped')).toBe(true);
    } finally {
      p.kill();
    }
  }, 60_000);

  it('SIGINT also stops it cleanly', async () => {
    const p = new GoavailProcess(['monitor', good], { env: noCreds });
    try {
      await p.waitForLog((l) => l.msg === 'agent started');
      expect((await p.stop('SIGINT')).code).toBe(0);
    } finally {
      p.kill();
    }
  });

  it('signals during startup are held, not fatal: SIGHUP at the first log line reloads, SIGTERM right at "agent started" stops with 0', async () => {
    // Without a listener Node's default action for SIGHUP and SIGTERM kills
    // the process; the signals here land inside startup, or right after the
    // "agent started" line, where a listener installed late would miss them.
    for (let i = 0; i < 3; i++) {
      const sent: string[] = [];
      const p = new GoavailProcess(['monitor', good], {
        env: noCreds,
        onLog: (l, self) => {
          if (sent.length === 0) {
            sent.push('SIGHUP');
            self.child.kill('SIGHUP');
          } else if (l.msg === 'agent started') {
            sent.push('SIGTERM');
            self.child.kill('SIGTERM');
          }
        },
      });
      try {
        const { code, signal } = await p.exited;
        expect({ code, signal, sent }, p.tail()).toEqual({ code: 0, signal: null, sent: ['SIGHUP', 'SIGTERM'] });
        expect(p.logs.some((l) => l.msg === 'stopping')).toBe(true);
      } finally {
        p.kill();
      }
    }
  }, 60_000);

  it('without raw-socket permission ICMP fails at start with a hint', async () => {
    await chmod(dir.dir, 0o755);
    await chmod(good, 0o644);
    const p = new GoavailProcess(['monitor', good], {
      env: noCreds,
      cwd: dir.dir,
      command: ['setpriv', '--reuid', '65534', '--regid', '65534', '--clear-groups', '--inh-caps', '-all', process.execPath],
    });
    const { code } = await p.exited;
    expect(code).toBe(1);
    expect(p.stderr).toMatch(/CAP_NET_RAW/);
    expect(p.stderr).toMatch(/--type tcp/);
  });
});
