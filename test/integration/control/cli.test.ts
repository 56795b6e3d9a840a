import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { drain, drains, undrain } from '../../../src/cli/drain.js';
import { agentTarget } from '../../../src/cli/target.js';
import type { DrainAnswer, DrainControl, DrainEntry, DrainRequest, UndrainRequest } from '../../../src/drain/types.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/status/metrics.js';
import { startStatusServer, type StatusServer } from '../../../src/status/server.js';
import type { AgentStatus } from '../../../src/status/view.js';
import { scratch, type Scratch } from '../../support/kit.js';
import { freePort } from '../../support/net.js';

/**
 * The CLI's drain commands (the functions behind `goavail drain/undrain/drains`)
 * against a real status server on 127.0.0.1 with a fake DrainControl: what
 * they print, their exit codes, how they find the agent and the token.
 */
const NOW = Date.UTC(2026, 11, 2, 10, 0, 0);
const TOKEN = 'cli-test-control-token-0123456789abcdef';
const IP = '198.18.111.5';

class FakeControl implements DrainControl {
  readonly seen: Array<DrainRequest | UndrainRequest> = [];
  next: DrainAnswer | undefined;
  drain(req: DrainRequest, now: number): DrainAnswer {
    this.seen.push(req);
    return (
      this.next ?? {
        ok: true,
        entry: {
          ip: req.ip,
          drained: true,
          at: now,
          origin: 'self',
          until: req.forMs !== undefined ? now + req.forMs : undefined,
          by: req.by ?? '',
          reason: req.reason ?? '',
          source: 'operator',
        },
      }
    );
  }
  undrain(req: UndrainRequest, now: number): DrainAnswer {
    this.seen.push(req);
    return { ok: true, entry: { ip: req.ip, drained: false, at: now, origin: 'self', until: undefined, by: req.by ?? '', reason: '', source: 'operator' } };
  }
  list(): readonly DrainEntry[] {
    return [{ ip: IP, drained: true, at: NOW, origin: 'self', until: NOW + 3_600_000, by: 'alice@ops', reason: 'kernel update', source: 'operator' }];
  }
}

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => ((out.stdout += s), true) }, stderr: { write: (s: string) => ((out.stderr += s), true) } } };
}

let dir: Scratch;
let server: StatusServer;
let control: FakeControl;
let tokenFile: string;
beforeEach(async () => {
  dir = await scratch('control-cli');
  control = new FakeControl();
  server = await startStatusServer({
    addr: '127.0.0.1:0',
    agent: { status: () => ({}) as AgentStatus },
    metrics: new Metrics(),
    logger: silentLogger(),
    now: () => NOW,
    control,
    controlToken: TOKEN,
  });
  tokenFile = join(dir.dir, 'goavail.control-token');
  await writeFile(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
});
afterEach(async () => {
  await server.close();
  await dir.cleanup();
});

const NOENV = {};

describe('goavail drain', () => {
  it('drains with --for and --reason: one line, exit 0; the agent got user@host as `by`', async () => {
    const { out, io } = capture();
    const code = await drain({ ip: IP, for: '2h', reason: 'kernel update', addr: server.address, tokenFile }, io, NOENV);
    expect(out.stderr).toBe('');
    expect(code).toBe(0);
    expect(out.stdout).toBe(`drained ${IP} until 2026-12-02T12:00:00Z (reason: kernel update)\n`);
    expect(control.seen).toEqual([{ ip: IP, forMs: 7_200_000, reason: 'kernel update', by: expect.stringMatching(/^[^@]+@.+$/) as unknown }]);
  });

  it("without --for: until undrained; --force is sent; the agent's note is printed", async () => {
    control.next = {
      ok: true,
      entry: { ip: IP, drained: true, at: NOW, origin: 'self', until: undefined, by: 'x', reason: '', source: 'operator' },
      note: 'the last up IP of www.example.com: its record stays (keep-last)',
    };
    const { out, io } = capture();
    expect(await drain({ ip: IP, force: true, addr: server.address, tokenFile }, io, NOENV)).toBe(0);
    expect(out.stdout).toBe(`drained ${IP} until undrained\nnote: the last up IP of www.example.com: its record stays (keep-last)\n`);
    expect(control.seen[0]).toMatchObject({ force: true });
  });

  it("refused by the agent: exit 1 with the agent's reason", async () => {
    control.next = { ok: false, status: 409, error: `${IP} is the last up IP of www.example.com; pass --force to drain it anyway` };
    const { out, io } = capture();
    expect(await drain({ ip: IP, addr: server.address, tokenFile }, io, NOENV)).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      `goavail: the agent at ${server.address} refused (409): ${IP} is the last up IP of www.example.com; pass --force to drain it anyway\n`,
    );
  });

  it('a wrong token: exit 1, saying where the token came from', async () => {
    await writeFile(tokenFile, 'another-token-that-is-long-enough\n');
    const { out, io } = capture();
    expect(await drain({ ip: IP, addr: server.address, tokenFile }, io, NOENV)).toBe(1);
    expect(out.stderr).toContain(`goavail: the agent at ${server.address} refused the control token from ${tokenFile} (401)`);
    expect(control.seen).toEqual([]);
  });

  it('GOAVAIL_CONTROL_TOKEN wins over the file', async () => {
    await writeFile(tokenFile, 'another-token-that-is-long-enough\n');
    const { io } = capture();
    expect(await drain({ ip: IP, addr: server.address, tokenFile }, io, { GOAVAIL_CONTROL_TOKEN: TOKEN })).toBe(0);
  });

  it('a token file that does not exist: exit 1 naming it', async () => {
    const missing = join(dir.dir, 'nope');
    const { out, io } = capture();
    expect(await drain({ ip: IP, addr: server.address, tokenFile: missing }, io, NOENV)).toBe(1);
    expect(out.stderr).toContain(`goavail: cannot read the control token file ${missing}: it does not exist`);
  });

  it('an agent that is not there: exit 1, a clear message', async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    const { out, io } = capture();
    expect(await drain({ ip: IP, addr, tokenFile }, io, NOENV)).toBe(1);
    expect(out.stderr).toBe(`goavail: cannot reach the agent at ${addr} (connection refused); is \`goavail monitor\` running there with that status_addr?\n`);
  });

  it.each([
    [{ ip: 'www.example.com' }, '"www.example.com" is not an IPv4 or IPv6 address'],
    [{ ip: IP, for: '30' }, '--for: expected a duration like 90s'],
    [{ addr: '127.0.0.1' }, '--addr "127.0.0.1": must be "host:port"'],
  ])('bad flags %j: exit 2, nothing sent', async (flags, message) => {
    const { out, io } = capture();
    expect(await drain({ ip: IP, tokenFile, ...flags }, io, NOENV)).toBe(2);
    expect(out.stderr).toContain(message);
    expect(control.seen).toEqual([]);
  });
});

describe('goavail undrain and drains', () => {
  it('undrain: one line, exit 0', async () => {
    const { out, io } = capture();
    expect(await undrain({ ip: IP, addr: server.address, tokenFile }, io, NOENV)).toBe(0);
    expect(out.stdout).toBe(`undrained ${IP}\n`);
    expect(control.seen).toEqual([{ ip: IP, by: expect.stringContaining('@') as unknown }]);
  });

  it('drains: the table', async () => {
    const { out, io } = capture();
    expect(await drains({ addr: server.address, tokenFile }, io, NOENV)).toBe(0);
    expect(out.stdout.split('\n')).toEqual([
      expect.stringMatching(/^IP +STATE +BY +SINCE +UNTIL +REASON +SOURCE$/),
      expect.stringMatching(/^198\.18\.111\.5 +drained +alice@ops +2026-12-02T10:00:00Z +2026-12-02T11:00:00Z +kernel update +operator$/),
      '',
    ]);
  });

  it('drains --json', async () => {
    const { out, io } = capture();
    expect(await drains({ addr: server.address, tokenFile, json: true }, io, NOENV)).toBe(0);
    expect(JSON.parse(out.stdout)).toMatchObject({ now: NOW, drains: [{ ip: IP, by: 'alice@ops' }] });
  });
});

describe('-f: the agent from its config file', () => {
  const config = (extra: string) => `${extra}\n[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["${IP}"]\n`;

  it("reads status_addr and control_token_file (relative to the config's folder)", async () => {
    const file = await dir.write('goavail.toml', config(`status_addr = "${server.address}"\ncontrol_token_file = "goavail.control-token"`));
    const { out, io } = capture();
    expect(await drains({ configFile: file }, io, NOENV)).toBe(0);
    expect(out.stdout).toContain('kernel update');
  });

  it('the default control_token_file: beside the key file, beside the config', async () => {
    const file = await dir.write('goavail.toml', config(`status_addr = "${server.address}"`));
    const { io } = capture();
    expect(await undrain({ ip: IP, configFile: file }, io, NOENV)).toBe(0);
  });

  it('--addr wins over status_addr', async () => {
    const file = await dir.write('goavail.toml', config('status_addr = "127.0.0.1:1"'));
    expect(await agentTarget({ configFile: file, addr: server.address })).toEqual({ addr: server.address, configTokenFile: tokenFile });
  });

  it('status_addr = "" (no listener): exit 2, saying so', async () => {
    const file = await dir.write('goavail.toml', config('status_addr = ""'));
    const { out, io } = capture();
    expect(await drain({ ip: IP, configFile: file }, io, NOENV)).toBe(2);
    expect(out.stderr).toContain(`${file}: status_addr is "" (the listener is off)`);
  });

  it('an invalid config: exit 2 with its errors', async () => {
    const file = await dir.write('goavail.toml', 'interval = "2s"\n');
    const { out, io } = capture();
    expect(await drains({ configFile: file }, io, NOENV)).toBe(2);
    expect(out.stderr).toContain(`${file}: interval: must be a number of seconds`);
  });
});
