import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { AgentStatus } from '../../../src/agent.js';
import { status, statusUrl } from '../../../src/cli/status.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/status/metrics.js';
import { startStatusServer, type StatusServer } from '../../../src/status/server.js';

const NOW = 1_700_000_000_000;
const STATUS: AgentStatus = {
  id: 'self', dryRun: true, startedAt: NOW - 10_000, configFile: '/x/goavail.toml', running: true, lastRoundAt: NOW - 500,
  intervalMs: 2000, minPeersAgree: 0, freshnessMs: 17_000, selfCheck: { state: 'healthy', since: undefined, detail: 'ok' },
  targets: [{
    ip: '127.0.0.1', local: { verdict: 'up', misses: 0, successes: 3, since: NOW - 5000, lastProbeAt: NOW - 500, lastRttMs: 0.1, lastError: undefined },
    vote: 'up', peers: [], cluster: { verdict: 'up', since: NOW - 5000, agreed: ['self'] }, inDns: { 'www.example.com': true }, lastAction: undefined, why: undefined,
  }],
  canaries: [], peers: [], lastReconcile: undefined, consecutiveReconcileFailures: 0, held: [],
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
  closers.push(() => new Promise((r) => {
    s.closeAllConnections();
    s.close(() => r());
  }));
  return `127.0.0.1:${(s.address() as AddressInfo).port}`;
}

/** A port that was free a moment ago: nothing listens there. */
async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
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
      s = await startStatusServer({ addr: `127.0.0.1:${port}`, agent: { status: () => STATUS }, metrics: new Metrics(), logger: silentLogger(), now: () => NOW }).catch(() => undefined);
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
