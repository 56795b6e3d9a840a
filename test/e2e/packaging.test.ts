import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assertBuilt, GoavailProcess, ROOT } from '../support/cli.js';
import { scratch } from '../support/kit.js';

/**
 * The Dockerfile cannot be built here (no Docker engine): check what can be
 * checked — its inputs exist, its runtime command runs by hand — and that the
 * systemd unit is valid.
 */
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const unit = readFileSync(join(ROOT, 'contrib/goavail.service'), 'utf8');

describe('Dockerfile', () => {
  it('builds on the current Node LTS (24) in both stages', () => {
    const froms = [...dockerfile.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]);
    expect(froms).toHaveLength(2);
    for (const f of froms) expect(f).toMatch(/^node:24[-.]/);
  });

  it('copies only files that exist', () => {
    const sources = [...dockerfile.matchAll(/^COPY\s+(?!--from)(.+)\s+\S+$/gm)].flatMap((m) => m[1]!.trim().split(/\s+/));
    expect(sources.length).toBeGreaterThan(3);
    for (const s of sources) expect(existsSync(join(ROOT, s)), `${s} exists`).toBe(true);
  });

  it('runs npm scripts that package.json has', () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    for (const m of dockerfile.matchAll(/npm run (\S+)/g)) expect(pkg.scripts[m[1]!], m[1]).toBeDefined();
  });

  it('its runtime command works when run by hand', async () => {
    assertBuilt();
    const entry = /^ENTRYPOINT\s+(\[.*\])$/m.exec(dockerfile);
    expect(entry).not.toBeNull();
    const argv = JSON.parse(entry![1]!) as string[];
    expect(argv[0]).toBe('node');
    // map the image's paths onto this checkout
    const dir = await scratch('docker');
    try {
      const shipped = readFileSync(join(ROOT, 'goavail.toml'), 'utf8');
      expect(shipped).toMatch(/^# status_addr = .*$/m);
      const conf = await dir.write('goavail.toml', shipped.replace(/^# status_addr = .*$/m, 'status_addr = "127.0.0.1:0"'));
      const args = argv.slice(2).map((a) => (a === '/etc/goavail/goavail.toml' ? conf : a));
      expect(argv[1]).toBe('/app/dist/src/cli/main.js');
      const p = new GoavailProcess(args, { cwd: dir.dir, env: { CLOUDFLARE_API_TOKEN: '', CF_API_KEY: '', CF_API_EMAIL: '' } });
      try {
        await p.waitForLog((l) => l.msg === 'agent started', 20_000);
        expect((await p.stop('SIGTERM')).code).toBe(0);
      } finally {
        p.kill();
      }
    } finally {
      await dir.cleanup();
    }
  }, 40_000);
});

describe('systemd unit', () => {
  it('reloads with SIGHUP, runs with CAP_NET_RAW only, restarts on failure', () => {
    expect(unit).toMatch(/^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    expect(unit).toMatch(/^AmbientCapabilities=CAP_NET_RAW$/m);
    expect(unit).toMatch(/^CapabilityBoundingSet=CAP_NET_RAW$/m);
    expect(unit).toMatch(/^Restart=on-failure$/m);
    expect(unit).toMatch(/^User=goavail$/m);
    expect(unit).toMatch(/^ExecStart=.*monitor -f \/etc\/goavail\/goavail.toml/m);
  });

  it('passes systemd-analyze verify where systemd is installed', () => {
    if (spawnSync('systemd-analyze', ['--version']).status !== 0) {
      console.warn('systemd-analyze not installed: unit syntax not verified');
      return;
    }
    const out = execFileSync('systemd-analyze', ['verify', join(ROOT, 'contrib/goavail.service')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    expect(out).toBe('');
  });
});
