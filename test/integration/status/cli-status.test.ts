import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../../src/status/view.js';
import { MAX_STATUS_BYTES, status, statusUrl, stripControls } from '../../../src/cli/status.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/status/metrics.js';
import { startStatusServer, type StatusServer } from '../../../src/status/server.js';
import { freePort } from '../../support/net.js';

const NOW = 1_700_000_000_000;
const STATUS: AgentStatus = {
  id: 'self',
  dryRun: true,
  startedAt: NOW - 10_000,
  configFile: '/x/goavail.toml',
  running: true,
  lastRoundAt: NOW - 500,
  intervalMs: 2000,
  minPeersAgree: 0,
  freshnessMs: 17_000,
  selfCheck: { state: 'healthy', since: undefined, detail: 'ok' },
  targets: [
    {
      ip: '127.0.0.1',
      role: 'primary',
      local: { verdict: 'up', misses: 0, successes: 3, since: NOW - 5000, lastProbeAt: NOW - 500, lastRttMs: 0.1, lastError: undefined },
      vote: 'up',
      peers: [],
      cluster: { verdict: 'up', since: NOW - 5000, agreed: ['self'] },
      inDns: { 'www.example.com': true },
      lastAction: undefined,
      why: undefined,
    },
  ],
  canaries: [],
  peers: [],
  lastReconcile: undefined,
  consecutiveReconcileFailures: 0,
  held: [],
};

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => ((out.stdout += s), true) }, stderr: { write: (s: string) => ((out.stderr += s), true) } } };
}

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function agentServer(): Promise<StatusServer> {
  const s = await startStatusServer({ addr: '127.0.0.1:0', agent: { status: () => STATUS }, metrics: new Metrics(), logger: silentLogger(), now: () => NOW });
  closers.push(() => s.close());
  return s;
}

async function rawServer(handler: Parameters<typeof createServer>[1]): Promise<string> {
  const s: Server = createServer(handler);
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  closers.push(
    () =>
      new Promise((r) => {
        s.closeAllConnections();
        s.close(() => r());
      }),
  );
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

describe('statusUrl', () => {
  it.each([
    ['127.0.0.1:9100', 'http://127.0.0.1:9100/status'],
    ['[::1]:9100', 'http://[::1]:9100/status'],
    ['localhost:8080', 'http://localhost:8080/status'],
  ])('%s → %s', (addr, url) => {
    expect(String(statusUrl(addr))).toBe(url);
  });

  it.each(['127.0.0.1', '127.0.0.1:0', '127.0.0.1:70000', '::1:9100', 'http://127.0.0.1:9100', ''])('%j is not an address', (addr) => {
    expect(typeof statusUrl(addr)).toBe('string');
  });
});

describe('goavail status (in process)', () => {
  it('prints the table', async () => {
    const s = await agentServer();
    const { out, io } = capture();
    expect(await status({ addr: s.address, json: false }, io)).toBe(0);
    expect(out.stderr).toBe('');
    expect(out.stdout).toContain('agent self · dry-run · running 10s');
    expect(out.stdout).toMatch(/^127\.0\.0\.1 +up 0\/3 +0\.10 ms +- +up 5\.0s +✓$/m);
  });

  it('--json prints the document as served', async () => {
    const s = await agentServer();
    const { out, io } = capture();
    expect(await status({ addr: s.address, json: true }, io)).toBe(0);
    const doc = JSON.parse(out.stdout) as { now: number; targets: Array<{ ip: string }> };
    expect(doc.now).toBe(NOW);
    expect(doc.targets.map((t) => t.ip)).toEqual(['127.0.0.1']);
  });

  it('works on a port that fetch() refuses (WHATWG "bad ports" such as 6665-6669)', async (ctx) => {
    let s: StatusServer | undefined;
    for (const port of [6665, 6666, 6667, 6668, 6669]) {
      s = await startStatusServer({
        addr: `127.0.0.1:${port}`,
        agent: { status: () => STATUS },
        metrics: new Metrics(),
        logger: silentLogger(),
        now: () => NOW,
      }).catch(() => undefined);
      if (s) break;
    }
    if (!s) return ctx.skip();
    closers.push(() => s.close());
    const { out, io } = capture();
    expect(await status({ addr: s.address, json: true }, io)).toBe(0);
    expect(out.stderr).toBe('');
  });

  it('nobody listening → 1 and one line naming the address', async () => {
    const addr = `127.0.0.1:${await freePort()}`;
    const { out, io } = capture();
    expect(await status({ addr, json: false }, io)).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(`goavail: cannot reach the agent at ${addr} (connection refused); is \`goavail monitor\` running there with that status_addr?\n`);
  });

  it('a bad --addr → 2', async () => {
    const { out, io } = capture();
    expect(await status({ addr: 'nonsense', json: false }, io)).toBe(2);
    expect(out.stderr).toMatch(/^goavail: --addr "nonsense": .*port.*\n$/);
  });

  it('an error answer → 1 with the status', async () => {
    const addr = await rawServer((_req, res) => res.writeHead(500).end('internal error\n'));
    const { out, io } = capture();
    expect(await status({ addr, json: false }, io)).toBe(1);
    expect(out.stderr).toBe(`goavail: the agent at ${addr} answered 500 Internal Server Error: internal error\n`);
  });

  it('something that is not goavail → 1', async () => {
    const addr = await rawServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>'));
    const { out, io } = capture();
    expect(await status({ addr, json: true }, io)).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toMatch(new RegExp(`^goavail: the agent at ${addr} did not answer with a status document`));
  });

  it('no answer in time → 1', async () => {
    const addr = await rawServer(() => undefined); // never answers
    const { out, io } = capture();
    expect(await status({ addr, json: false, timeoutMs: 300 }, io)).toBe(1);
    expect(out.stderr).toContain(`cannot reach the agent at ${addr} (no answer in time)`);
  });
});

/** Any C0 control but tab and newline, DEL, or a C1 control: what must not reach a terminal. */
// eslint-disable-next-line no-control-regex -- the test looks for the control characters themselves
const RAW_CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/;

describe('stripControls', () => {
  it.each([
    ['plain text\twith tab\nand newline', 'plain text\twith tab\nand newline'],
    ['\u001b[31mred\u001b[0m', 'red'],
    ['\u001b[2J\u001b[1;1Hcleared', 'cleared'],
    ['\u001b]0;window title\u0007after', 'after'],
    ['\u001b]8;;http://x\u001b\\link\u001b]8;;\u001b\\', 'link'],
    ['over\rwrite\u0008\u0008', 'overwrite'],
    ['c1 \u009b31m csi, \u0085 nel, \u007f del', 'c1 31m csi,  nel,  del'],
    ['\u001bcreset, \u001b(Bascii, lone \u001b', 'reset, ascii, lone '],
    ['✓ ✗ · … stay', '✓ ✗ · … stay'],
  ])('%j → %j', (input, expected) => {
    expect(stripControls(input)).toBe(expected);
  });
});

describe('goavail status against a hostile or broken server', () => {
  it('a body that never ends is cut off at 16 MiB: fails fast with the cap, memory stays bounded', async () => {
    expect(MAX_STATUS_BYTES).toBe(16 * 1024 * 1024);
    let sent = 0;
    let closed!: () => void;
    const gone = new Promise<void>((r) => (closed = r));
    const chunk = Buffer.alloc(64 * 1024, 0x20);
    const addr = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"targets":[');
      res.on('close', () => closed());
      // 256 MiB, written as fast as the client reads
      const pump = (): void => {
        while (sent < 256 * 1024 * 1024 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end(']}');
      };
      pump();
    });
    const rssBefore = process.memoryUsage().rss;
    const started = Date.now();
    const { out, io } = capture();
    expect(await status({ addr, json: false }, io)).toBe(1);
    const tookMs = Date.now() - started;
    await gone;
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(
      `goavail: the answer from ${addr} went past 16777216 bytes, more than the 16777216 bytes (16 MiB) a status document may be; stopped reading\n`,
    );
    expect(tookMs).toBeLessThan(3_000);
    // The client stopped reading: what the server got out is the cap plus socket buffers, not 256 MiB.
    expect(sent).toBeLessThan(48 * 1024 * 1024);
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(200 * 1024 * 1024);
  });

  it('a Content-Length above 16 MiB is refused before reading the body', async () => {
    const addr = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(400 * 1024 * 1024) });
      res.write('{'); // and then nothing: a client that waited for the body would time out instead
    });
    const { out, io } = capture();
    const started = Date.now();
    expect(await status({ addr, json: true, timeoutMs: 2_000 }, io)).toBe(1);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(out.stderr).toBe(
      `goavail: the answer from ${addr} declares 419430400 bytes, more than the 16777216 bytes (16 MiB) a status document may be; stopped reading\n`,
    );
  });

  it('headers and then a stalled body: the timeout covers the body too', async () => {
    const addr = await rawServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"targets":'); // never ends
    });
    const { out, io } = capture();
    const started = Date.now();
    expect(await status({ addr, json: false, timeoutMs: 300 }, io)).toBe(1);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain(`cannot reach the agent at ${addr} (no answer in time)`);
  }, 10_000);

  it('a 500 whose body holds escape sequences: none reach the terminal, the text does', async () => {
    const body = '\u001b]0;owned\u0007\u001b[2J\u001b[31mdisk \u009bfull\u001b[0m\r\u0008 retry later\n\u001b[1Asecond line';
    const addr = await rawServer((_req, res) => res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(body));
    const { out, io } = capture();
    expect(await status({ addr, json: false }, io)).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).not.toMatch(RAW_CONTROL);
    expect(out.stderr).toBe(`goavail: the agent at ${addr} answered 500 Internal Server Error: disk full retry later\n`);
  });

  it('a long error body is cut to one short line', async () => {
    const addr = await rawServer((_req, res) => res.writeHead(503).end('x'.repeat(100_000)));
    const { out, io } = capture();
    expect(await status({ addr, json: false }, io)).toBe(1);
    expect(out.stderr.length).toBeLessThan(400);
  });

  it('a body that is not JSON: the parse error (which quotes the body) is cleaned too', async () => {
    const addr = await rawServer((_req, res) => res.writeHead(200).end('\u001b[2J\u001b]0;x\u0007not json'));
    const { out, io } = capture();
    expect(await status({ addr, json: false }, io)).toBe(1);
    expect(out.stderr).toMatch(/did not answer with a status document/);
    expect(out.stderr).not.toMatch(RAW_CONTROL);
  });

  describe('a status document whose strings hold escape sequences', () => {
    const evil = {
      ...STATUS,
      now: NOW,
      gossipDrops: undefined,
      id: '\u001b]0;owned\u0007self',
      configFile: '/x/\u001b[2Jgoavail.toml',
      selfCheck: { state: 'healthy', since: undefined, detail: 'ok\u001b[8m hidden\u009b2J' },
      targets: [{ ...STATUS.targets[0]!, why: 'because\r\u001b[1Aup', inDns: { 'www\u001b[31m.example.com': true } }],
      peers: [{ id: 'p\u001b[5m1', addr: '127.0.0.1:1\u0085', connected: false, lastHeard: undefined }],
    };
    const raw = JSON.stringify(evil, (_k, v: unknown) => (v === undefined ? null : v));

    it('the table has none of them, and still the content', async () => {
      const addr = await rawServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(raw));
      const { out, io } = capture();
      expect(await status({ addr, json: false }, io)).toBe(0);
      expect(out.stderr).toBe('');
      expect(out.stdout).not.toMatch(RAW_CONTROL);
      expect(out.stdout).toContain('agent self · dry-run');
      expect(out.stdout).toContain('self-check: healthy (ok hidden2J)');
      expect(out.stdout).toMatch(/becauseup$/m);
      expect(out.stdout).toMatch(/^ {2}p1 +127\.0\.0\.1:1 +no +-$/m);
    });

    it('--json keeps the document as served (same JSON value) with no raw control character', async () => {
      const addr = await rawServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(`${raw}\r\n`));
      expect(raw).toMatch(RAW_CONTROL); // JSON.stringify leaves C1 controls raw
      const { out, io } = capture();
      expect(await status({ addr, json: true }, io)).toBe(0);
      expect(out.stdout).not.toMatch(RAW_CONTROL);
      expect(JSON.parse(out.stdout)).toEqual(JSON.parse(raw));
    });
  });
});
