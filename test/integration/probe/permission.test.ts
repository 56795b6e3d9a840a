/**
 * Without raw-socket rights, the ICMP prober must fail at start-up with a
 * ProberSetupError that tells the operator what to do. The real failure is
 * produced in a child process running as an unprivileged uid (nobody,
 * 65534), against the prober's own source transpiled on the fly.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { icmpSetupError } from '../../../src/probe/icmp.js';
import { ProberSetupError } from '../../../src/probe/types.js';

const run = promisify(execFile);
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const canDropPrivileges = process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('setpriv', ['--version'], { stdio: 'ignore' }).status === 0;

const HINT = /CAP_NET_RAW.*setcap cap_net_raw\+ep.*AmbientCapabilities=CAP_NET_RAW.*--type tcp/s;

describe('icmpSetupError', () => {
  it.each([
    ['Operation not permitted', true],
    ['Permission denied', true],
    ['EPERM', true],
    ['Address family not supported by protocol', false],
  ])('%s → permission hint: %s', (reason, permission) => {
    const error = icmpSetupError(new Error(reason));
    expect(error).toBeInstanceOf(ProberSetupError);
    expect(error.name).toBe('ProberSetupError');
    expect(error.message).toContain(reason);
    expect(error.message).toContain('--type tcp');
    if (permission) expect(error.message).toMatch(HINT);
    else expect(error.message).not.toMatch(/CAP_NET_RAW/);
    expect((error.cause as Error).message).toBe(reason);
  });
});

describe.skipIf(!canDropPrivileges && !process.env.CI)('as an unprivileged user (setpriv to nobody)', () => {
  let dir: string;

  /** Runs a module as uid/gid 65534 with no capabilities; returns its stdout, parsed. */
  async function asNobody(module: string, netRaw = false): Promise<{ name?: string; message?: string; opened?: boolean }> {
    const caps = netRaw ? ['--inh-caps', '+net_raw', '--ambient-caps', '+net_raw'] : ['--inh-caps', '-all'];
    const { stdout } = await run('setpriv', ['--reuid', '65534', '--regid', '65534', '--clear-groups', ...caps, process.execPath, join(dir, module)], {
      cwd: dir,
      env: { PATH: process.env.PATH ?? '', HOME: dir },
    });
    return JSON.parse(stdout.trim()) as { name?: string; message?: string };
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'goavail-perm-'));
    // The child resolves raw-socket through this link, as it would in the repo.
    await symlink(join(repo, 'node_modules'), join(dir, 'node_modules'));
    await writeFile(join(dir, 'package.json'), '{"type":"module"}\n');
    await mkdir(join(dir, 'src/probe'), { recursive: true });
    await mkdir(join(dir, 'src/net'), { recursive: true });
    // Every module of the two folders the ICMP prober's imports stay in (type-only imports elsewhere vanish).
    const files = (
      await Promise.all(
        ['probe', 'net'].map(async (d) => (await readdir(join(repo, 'src', d))).filter((f) => f.endsWith('.ts')).map((f) => `${d}/${f.slice(0, -3)}`)),
      )
    ).flat();
    for (const file of files) {
      const source = await readFile(join(repo, 'src', `${file}.ts`), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, verbatimModuleSyntax: false },
      });
      await writeFile(join(dir, 'src', `${file}.js`), outputText);
    }
    await writeFile(
      join(dir, 'raw.mjs'),
      `
import raw from 'raw-socket';
try { raw.createSocket({ protocol: raw.Protocol.ICMP }).close(); console.log(JSON.stringify({ opened: true })); }
catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }
`,
    );
    await writeFile(
      join(dir, 'prober.mjs'),
      `
import { createIcmpProber } from './src/probe/icmp.js';
const noop = () => {};
const logger = { debug: noop, info: noop, warn: noop, error: noop, trace: noop };
try { createIcmpProber({ logger }).close(); console.log(JSON.stringify({ opened: true })); }
catch (e) { console.log(JSON.stringify({ name: e.name, message: e.message })); }
`,
    );
    await chmod(dir, 0o755);
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('raw-socket itself throws "Operation not permitted" synchronously', async () => {
    expect(await asNobody('raw.mjs')).toEqual({ name: 'Error', message: 'Operation not permitted' });
  });

  it('createIcmpProber throws ProberSetupError with the remedies', async () => {
    const result = await asNobody('prober.mjs');
    expect(result.name).toBe('ProberSetupError');
    expect(result.message).toContain('Operation not permitted');
    expect(result.message).toMatch(HINT);
  });

  it('opens when the same user is given CAP_NET_RAW (the documented remedy works)', async () => {
    expect(await asNobody('prober.mjs', true)).toEqual({ opened: true });
  });
});
