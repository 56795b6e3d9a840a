import { request as httpRequest, Agent as HttpAgent } from 'node:http';
import { connect, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AgentStatus } from '../../../src/status/view.js';
import { emptyDropCounts } from '../../../src/gossip/validate.js';
import { silentLogger } from '../../../src/log.js';
import { History } from '../../../src/status/history.js';
import { Metrics } from '../../../src/status/metrics.js';
import {
  CONNECTIONS_CHECK_MS,
  HEADERS_TIMEOUT_MS,
  MAX_CONNECTIONS,
  MAX_CONNECTIONS_PER_SOURCE,
  SOCKET_IDLE_TIMEOUT_MS,
  healthStaleMs,
  startStatusServer,
  StatusServerError,
  unhealthyReason,
  type StatusServer,
} from '../../../src/status/server.js';
import { sleep } from '../../support/kit.js';

const NOW = 1_700_000_000_000;

function baseStatus(over: Partial<AgentStatus> = {}): AgentStatus {
  return {
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
    ...over,
  };
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

function get(address: string, path: string, method = 'GET', agent?: HttpAgent, localAddress?: string): Promise<Reply> {
  const url = new URL(`http://${address}${path}`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      { host: url.hostname.replace(/^\[|\]$/g, ''), port: url.port, path: url.pathname + url.search, method, agent: agent ?? false, localAddress },
      (res) => {
        let body = '';
        res
          .setEncoding('utf8')
          .on('data', (c: string) => (body += c))
          .on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(method === 'POST' ? 'x=1' : undefined);
  });
}

const servers: StatusServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function start(
  status: () => AgentStatus,
  opts: { metrics?: Metrics; gossip?: boolean; addr?: string; socketIdleTimeoutMs?: number; history?: History } = {},
) {
  const metrics = opts.metrics ?? new Metrics();
  const drops = { ...emptyDropCounts(), 'bad-tag': 2 };
  const server = await startStatusServer({
    addr: opts.addr ?? '127.0.0.1:0',
    agent: { status },
    metrics,
    logger: silentLogger(),
    now: () => NOW,
    gossip: opts.gossip ? { drops: () => drops } : undefined,
    socketIdleTimeoutMs: opts.socketIdleTimeoutMs,
    history: opts.history,
  });
  servers.push(server);
  return server;
}

describe('status server routes', () => {
  it('binds an ephemeral port and reports host:port', async () => {
    const s = await start(() => baseStatus());
    expect(s.address).toMatch(/^127\.0\.0\.1:[1-9][0-9]*$/);
  });

  it('GET /status: the agent status, the snapshot time, null for absent values', async () => {
    const s = await start(() => baseStatus());
    const r = await get(s.address, '/status');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    const doc = JSON.parse(r.body) as Record<string, unknown> & { targets: Array<Record<string, unknown>> };
    expect(doc.now).toBe(NOW);
    expect(doc.id).toBe('self');
    expect(doc.running).toBe(true);
    expect(doc.lastReconcile).toBeNull();
    expect(doc.gossipDrops).toBeNull();
    expect(doc.targets[0]).toMatchObject({
      ip: '127.0.0.1',
      why: null,
      lastAction: null,
      cluster: { verdict: 'up', agreed: ['self'] },
      inDns: { 'www.example.com': true },
    });
    expect((doc.selfCheck as Record<string, unknown>).since).toBeNull();
  });

  it('GET /: the status page, self-contained, under a CSP that allows only its own script, style and origin', async () => {
    const s = await start(() => baseStatus());
    const r = await get(s.address, '/');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['x-content-type-options']).toBe('nosniff');
    expect(r.body).toMatch(/^<!doctype html>/);
    expect(r.body).toContain('<meta name="viewport" content="width=device-width, initial-scale=1">');
    // Nothing from elsewhere: no URL with a scheme or a protocol-relative one, no external script or stylesheet.
    expect(r.body).not.toMatch(/(https?:)?\/\/(?!www\.w3\.org\/2000\/svg)[a-z0-9.-]+\.[a-z]{2,}/i);
    expect(r.body).not.toMatch(/<script[^>]+src=|<link[^>]+stylesheet|@import|url\(/i);
    const csp = String(r.headers['content-security-policy']);
    expect(csp).toMatch(/^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]+'; style-src 'sha256-[A-Za-z0-9+/=]+'; connect-src 'self'; /);
    // The hashes are those of the inline script and style (else the browser would refuse to run them).
    const { createHash } = await import('node:crypto');
    const hash = (t: string): string => `'sha256-${createHash('sha256').update(t).digest('base64')}'`;
    const script = /<script>([\s\S]*)<\/script>/.exec(r.body)![1]!;
    const style = /<style>([\s\S]*)<\/style>/.exec(r.body)![1]!;
    expect(csp).toContain(`script-src ${hash(script)};`);
    expect(csp).toContain(`style-src ${hash(style)};`);
    expect((await get(s.address, '/', 'HEAD')).body).toBe('');
    expect((await get(s.address, '/?x=1')).status).toBe(200);
  });

  it('GET /events: the history document (an empty one without a history)', async () => {
    const history = new History();
    history.dnsChange({
      op: 'delete',
      type: 'A',
      hostname: 'www.example.com',
      ip: '127.0.0.9',
      dryRun: true,
      summary: 'remove A www.example.com 127.0.0.9',
      at: NOW - 10,
    });
    history.probeRound([{ ip: '127.0.0.1', ok: true, rttMs: 0.25 }], NOW - 5);
    const s = await start(() => baseStatus(), { history });
    const r = await get(s.address, '/events');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(JSON.parse(r.body)).toEqual({
      now: NOW,
      dropped: 0,
      events: [{ seq: 1, at: NOW - 10, kind: 'dns-change', ip: '127.0.0.9', text: 'would remove A www.example.com 127.0.0.9 (dry-run)' }],
      rtt: { '127.0.0.1': [[NOW - 5, 0.25]] },
    });
    const bare = await start(() => baseStatus());
    expect(JSON.parse((await get(bare.address, '/events')).body)).toEqual({ now: NOW, events: [], dropped: 0, rtt: {} });
    expect((await get(bare.address, '/events', 'POST')).status).toBe(405);
  });

  it('GET /status carries the gossip drop counters in cluster mode; a query string is ignored', async () => {
    const s = await start(() => baseStatus(), { gossip: true });
    const doc = JSON.parse((await get(s.address, '/status?pretty=1')).body) as { gossipDrops: Record<string, number> };
    expect(doc.gossipDrops['bad-tag']).toBe(2);
    expect(doc.gossipDrops.replayed).toBe(0);
  });

  it('GET /metrics: Prometheus text with the registry content type', async () => {
    const metrics = new Metrics();
    metrics.probeRound([{ ip: '127.0.0.1', ok: false }], NOW);
    const s = await start(() => baseStatus(), { metrics });
    const r = await get(s.address, '/metrics');
    expect(r.status).toBe(200);
    expect(r.headers['content-type']).toBe(metrics.contentType);
    expect(r.body).toContain('goavail_probe_misses_total{ip="127.0.0.1"} 1');
  });

  it.each([
    ['running, fresh round', {}, 200, 'ok\n'],
    ['not running', { running: false }, 503, 'agent not running\n'],
    ['last round too old', { lastRoundAt: NOW - 60_000 }, 503, 'last probe round 60.0 s ago (limit 6.0 s)\n'],
    ['first round pending shortly after start', { lastRoundAt: undefined, startedAt: NOW - 1000 }, 200, 'ok\n'],
    ['no round long after start', { lastRoundAt: undefined, startedAt: NOW - 30_000 }, 503, 'no probe round completed in 30.0 s since start (limit 6.0 s)\n'],
  ] as const)('GET /healthz: %s → %i', async (_name, over, status, body) => {
    const s = await start(() => baseStatus(over));
    const r = await get(s.address, '/healthz');
    expect(r.status).toBe(status);
    expect(r.body).toBe(body);
  });

  it.each([
    ['/nope', 404],
    ['/index.html', 404],
    ['/events/', 404],
    ['/status/', 404],
    ['/metricsx', 404],
  ])('GET %s → %i', async (path, status) => {
    const s = await start(() => baseStatus());
    expect((await get(s.address, path)).status).toBe(status);
  });

  it.each(['POST', 'PUT', 'DELETE'])('%s /status → 405 with Allow', async (method) => {
    const s = await start(() => baseStatus());
    const r = await get(s.address, '/status', method);
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET, HEAD');
  });

  it('HEAD answers like GET without a body', async () => {
    const s = await start(() => baseStatus());
    const r = await get(s.address, '/healthz', 'HEAD');
    expect(r.status).toBe(200);
    expect(r.body).toBe('');
  });

  it('a failing status() is a 500 for that request; the server keeps serving', async () => {
    let fail = true;
    const s = await start(() => {
      if (fail) throw new Error('boom');
      return baseStatus();
    });
    expect((await get(s.address, '/status')).status).toBe(500);
    expect((await get(s.address, '/healthz')).status).toBe(500);
    fail = false;
    expect((await get(s.address, '/status')).status).toBe(200);
  });

  it('a malformed request gets a 400 and does not hurt the server', async () => {
    const s = await start(() => baseStatus());
    const [host, port] = s.address.split(':');
    const reply = await new Promise<string>((resolve, reject) => {
      const sock = connect(Number(port), host!, () => sock.write('NOT HTTP AT ALL\r\n\r\n'));
      let data = '';
      sock
        .setEncoding('utf8')
        .on('data', (c: string) => (data += c))
        .on('end', () => resolve(data))
        .on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 400/);
    expect((await get(s.address, '/healthz')).status).toBe(200);
  });
});

describe('status server lifecycle', () => {
  it('a taken address fails with a clear error naming it', async () => {
    const s = await start(() => baseStatus());
    const err = await startStatusServer({ addr: s.address, agent: { status: () => baseStatus() }, metrics: new Metrics(), logger: silentLogger() }).catch(
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(StatusServerError);
    expect((err as StatusServerError).code).toBe('EADDRINUSE');
    expect((err as Error).message).toBe(`cannot listen on ${s.address} for /status, /metrics, /healthz: address already in use (EADDRINUSE)`);
  });

  it.each(['localhost', '127.0.0.1:99999', '::1:9100'])('a malformed address %s is refused before binding', async (addr) => {
    await expect(startStatusServer({ addr, agent: { status: () => baseStatus() }, metrics: new Metrics(), logger: silentLogger() })).rejects.toThrow(
      StatusServerError,
    );
  });

  it('IPv6 loopback is reported in brackets', async () => {
    let s: StatusServer;
    try {
      s = await start(() => baseStatus(), { addr: '[::1]:0' });
    } catch (err) {
      if ((err as StatusServerError).code === 'EADDRNOTAVAIL') return; // no IPv6 loopback on this machine
      throw err;
    }
    expect(s.address).toMatch(/^\[::1\]:\d+$/);
    expect((await get(s.address, '/healthz')).status).toBe(200);
  });

  it('close() ends idle keep-alive connections instead of waiting for them', async () => {
    const s = await start(() => baseStatus());
    const agent = new HttpAgent({ keepAlive: true });
    const r = await get(s.address, '/status', 'GET', agent);
    expect(r.headers.connection).toBe('keep-alive');
    const sockets = Object.values(agent.freeSockets).flat();
    expect(sockets).toHaveLength(1);
    const socketClosed = new Promise<void>((resolve) => sockets[0]!.once('close', () => resolve()));
    // The server's keep-alive timeout is 5 s: without closing connections, close() would wait that long.
    const closed = await Promise.race([s.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 1_000))]);
    expect(closed).toBe('closed');
    await socketClosed;
    agent.destroy();
    servers.splice(servers.indexOf(s), 1);
    await expect(get(s.address, '/healthz')).rejects.toThrow(/ECONNREFUSED/);
  });

  it('close() also ends a connection stuck in the middle of a request', async () => {
    const s = await start(() => baseStatus());
    const [host, port] = s.address.split(':');
    const sock = connect(Number(port), host!);
    await new Promise<void>((resolve) => sock.once('connect', () => resolve()));
    sock.write('GET /status HTTP/1.1\r\nhost: x\r\n'); // headers never finished: not an idle connection
    sock.on('error', () => undefined);
    const socketClosed = new Promise<void>((resolve) => sock.once('close', () => resolve()));
    await new Promise((r) => setTimeout(r, 100)); // let the server see the partial request
    // The headers timeout (2 s, checked every second): without cutting connections, close() would wait that long.
    expect(HEADERS_TIMEOUT_MS).toBeGreaterThan(1_000);
    const closed = await Promise.race([s.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), 1_000))]);
    expect(closed).toBe('closed');
    await socketClosed;
    servers.splice(servers.indexOf(s), 1);
  });

  it('close() twice is fine', async () => {
    const s = await start(() => baseStatus());
    await Promise.all([s.close(), s.close()]);
    servers.splice(servers.indexOf(s), 1);
  });
});

/** A raw client connection, with when it was closed (ms after `t0`) and what the server sent before that. */
interface Held {
  socket: Socket;
  closedAt?: number;
  data: string;
  closed: Promise<void>;
}

function hold(address: string, localAddress: string, t0: number): Promise<Held> {
  const [host, port] = address.split(':');
  return new Promise((resolve, reject) => {
    const socket = connect({ host: host!, port: Number(port), localAddress });
    const held: Held = { socket, data: '', closed: new Promise((r) => socket.once('close', () => r())) };
    socket.setEncoding('utf8').on('data', (c: string) => (held.data += c));
    socket.on('error', () => undefined); // a reset by the server is a close like any other here
    socket.once('close', () => (held.closedAt = performance.now() - t0));
    socket.once('connect', () => resolve(held));
    socket.once('error', (err) => (held.closedAt === undefined ? reject(err) : resolve(held)));
  });
}

describe("status server limits (a client cannot exhaust the agent's descriptors)", () => {
  const clients: Socket[] = [];
  afterEach(() => {
    for (const c of clients.splice(0)) c.destroy();
  });
  /** Upper bound for a timeout to fire: Node checks every CONNECTIONS_CHECK_MS, plus slack for a busy machine. */
  const fired = (timeoutMs: number) => timeoutMs + CONNECTIONS_CHECK_MS + 2_500;

  it(`closes connections beyond ${MAX_CONNECTIONS} at once, and idle ones that never send a byte within seconds`, async () => {
    const s = await start(() => baseStatus());
    const t0 = performance.now();
    const held: Held[] = [];
    // From five source addresses, under the per-source limit each: only the total limit applies.
    const perSource = MAX_CONNECTIONS / 4 - 2;
    for (let i = 0; held.length < MAX_CONNECTIONS + 6; i++) {
      held.push(await hold(s.address, `127.0.0.${1 + (i % 5)}`, t0));
      clients.push(held.at(-1)!.socket);
    }
    expect(perSource).toBeLessThanOrEqual(MAX_CONNECTIONS_PER_SOURCE);
    const opened = performance.now() - t0;
    await sleep(300);
    const early = held.filter((h) => h.closedAt !== undefined);
    expect(early).toHaveLength(6); // the excess: closed on accept
    for (const h of early) {
      expect(h.closedAt!).toBeLessThan(opened + 300);
      expect(h.data).toBe(''); // not answered
    }
    // The 64 it kept: idle, never a byte sent; closed by the headers timeout (with a 408).
    await Promise.all(held.map((h) => h.closed));
    for (const h of held.filter((x) => !early.includes(x))) {
      expect(h.closedAt!).toBeLessThan(fired(HEADERS_TIMEOUT_MS));
      expect(h.data).toMatch(/^HTTP\/1\.1 408/);
    }
    expect((await get(s.address, '/healthz')).status).toBe(200);
  }, 20_000);

  it('closes a slowloris connection (a header byte every 500 ms) at the headers timeout', async () => {
    const s = await start(() => baseStatus());
    const t0 = performance.now();
    const h = await hold(s.address, '127.0.0.1', t0);
    clients.push(h.socket);
    const head = `GET /status HTTP/1.1\r\nhost: x\r\nx-slow: ${'a'.repeat(100)}`;
    let i = 0;
    const drip = setInterval(() => {
      if (!h.socket.destroyed) h.socket.write(head[i++ % head.length]!);
    }, 500);
    try {
      await h.closed;
    } finally {
      clearInterval(drip);
    }
    expect(h.closedAt!).toBeGreaterThanOrEqual(HEADERS_TIMEOUT_MS - 50);
    expect(h.closedAt!).toBeLessThan(fired(HEADERS_TIMEOUT_MS));
    expect(h.data).toMatch(/^HTTP\/1\.1 408/);
    expect((await get(s.address, '/healthz')).status).toBe(200);
  }, 20_000);

  it(`limits one source address to ${MAX_CONNECTIONS_PER_SOURCE} connections; other addresses still get answers`, async () => {
    const s = await start(() => baseStatus());
    const t0 = performance.now();
    const held: Held[] = [];
    for (let i = 0; i < MAX_CONNECTIONS_PER_SOURCE + 4; i++) {
      held.push(await hold(s.address, '127.0.0.2', t0));
      clients.push(held.at(-1)!.socket);
    }
    const opened = performance.now() - t0;
    await sleep(300);
    const early = held.filter((h) => h.closedAt !== undefined);
    expect(early).toHaveLength(4);
    for (const h of early) expect(h.closedAt!).toBeLessThan(opened + 300);
    // 127.0.0.2 is at its limit: a request from it is cut; 127.0.0.3 is served.
    await expect(get(s.address, '/healthz', 'GET', undefined, '127.0.0.2')).rejects.toThrow(/ECONNRESET|socket hang up/);
    expect((await get(s.address, '/healthz', 'GET', undefined, '127.0.0.3')).status).toBe(200);
    // Its slots come back as its connections close.
    for (const h of held) h.socket.destroy();
    await Promise.all(held.map((h) => h.closed));
    await vi.waitFor(async () => expect((await get(s.address, '/healthz', 'GET', undefined, '127.0.0.2')).status).toBe(200), { timeout: 2_000 });
  }, 20_000);

  it('destroys a connection whose client asked for /metrics and never reads the answer', async () => {
    const body = 'x'.repeat(32 * 1024 * 1024); // more than the kernel buffers of both ends hold
    // The default (SOCKET_IDLE_TIMEOUT_MS) with a short one, so the test takes seconds.
    expect(SOCKET_IDLE_TIMEOUT_MS).toBeLessThanOrEqual(10_000);
    const s = await start(() => baseStatus(), {
      metrics: { metrics: async () => body, contentType: 'text/plain' } as unknown as Metrics,
      socketIdleTimeoutMs: 1_000,
    });
    const t0 = performance.now();
    const h = await hold(s.address, '127.0.0.1', t0);
    clients.push(h.socket);
    h.socket.pause();
    h.socket.write('GET /metrics HTTP/1.1\r\nhost: x\r\n\r\n');
    await sleep(5_000);
    // Read what the kernel kept: the server gave up, so the answer ends short of the body.
    let received = 0;
    h.socket.removeAllListeners('data');
    h.socket.on('data', (c: string) => (received += c.length));
    h.socket.resume();
    await h.closed;
    expect(received).toBeLessThan(body.length);
  }, 20_000);
});

describe('status server against hostile requests (still holds with the limits)', () => {
  /** Sends raw bytes on a fresh connection; resolves with everything the server sent until it closed. */
  function raw(address: string, payload: string | Buffer): Promise<string> {
    const [host, port] = address.split(':');
    return new Promise((resolve, reject) => {
      const sock = connect(Number(port), host!, () => sock.write(payload));
      let data = '';
      const timer = setTimeout(() => reject(new Error(`no close within 8 s; got ${data.slice(0, 80)}`)), 8_000);
      sock.setEncoding('latin1').on('data', (c: string) => (data += c));
      sock.on('error', () => undefined);
      sock.on('close', () => {
        clearTimeout(timer);
        resolve(data);
      });
    });
  }
  const head = (extra: string) => `GET /healthz HTTP/1.1\r\nhost: x\r\n${extra}\r\n`;

  it.each([
    ['a 100 KB header', head(`x-big: ${'a'.repeat(100_000)}\r\n`)],
    ['10,000 headers', head(Array.from({ length: 10_000 }, (_, i) => `x-h${i}: v\r\n`).join(''))],
    [
      'content-length with transfer-encoding (smuggling)',
      'POST /healthz HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nGET /status HTTP/1.1\r\nhost: x\r\n\r\n',
    ],
    ['a TLS client hello', Buffer.from(`16030100a5010000a10303${'00'.repeat(160)}`, 'hex')],
  ] as Array<[string, string | Buffer]>)('%s: 400 and closed; the server keeps serving', async (_name, payload) => {
    const s = await start(() => baseStatus());
    const reply = await raw(s.address, payload);
    expect(reply).toMatch(/^HTTP\/1\.1 400 /);
    expect(reply).not.toMatch(/HTTP\/1\.1 200/);
    expect((await get(s.address, '/healthz')).status).toBe(200);
  });

  it('1,000 pipelined requests on one connection are all answered', async () => {
    const s = await start(() => baseStatus());
    const reply = await raw(s.address, head('').repeat(1_000) + head('connection: close\r\n'));
    expect(reply.match(/HTTP\/1\.1 200 /g)).toHaveLength(1_001);
  });
});

describe('unhealthyReason', () => {
  const s = (over: Partial<AgentStatus>) => ({ ...baseStatus(), ...over });
  it.each([
    [{}, undefined],
    [{ running: false }, 'agent not running'],
    [{ lastRoundAt: NOW - 6_000 }, undefined],
    [{ lastRoundAt: NOW - 6_001 }, 'last probe round 6.0 s ago (limit 6.0 s)'],
    [{ intervalMs: 200, lastRoundAt: NOW - 2_900 }, undefined], // floor of 3 s for short intervals
    [{ intervalMs: 200, lastRoundAt: NOW - 3_100 }, 'last probe round 3.1 s ago (limit 3.0 s)'],
    [{ lastRoundAt: undefined, startedAt: undefined }, 'agent not started'],
  ] as const)('%j → %s', (over, reason) => {
    expect(unhealthyReason(s(over), NOW)).toBe(reason);
  });

  it('healthStaleMs: 3 intervals, at least 3 s', () => {
    expect(healthStaleMs(2000)).toBe(6000);
    expect(healthStaleMs(100)).toBe(3000);
  });
});
