import { request } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { DrainAnswer, DrainControl, DrainEntry, DrainRequest, UndrainRequest } from '../../../src/drain/types.js';
import { silentLogger } from '../../../src/log.js';
import { Metrics } from '../../../src/status/metrics.js';
import { startStatusServer, type StatusServer } from '../../../src/status/server.js';
import type { AgentStatus } from '../../../src/status/view.js';

/**
 * The control routes over real HTTP on 127.0.0.1, against a fake
 * DrainControl that records what it was asked: the bearer token on every
 * route (loopback included), the body limits and checks, the agent's
 * refusals passed through, and the read-only routes still open.
 */
const NOW = 1_800_000_000_000;
const TOKEN = 'test-control-token-0123456789abcdef';
const IP = '198.18.111.5';

const STATUS = {
  id: 'self',
  dryRun: true,
  startedAt: NOW - 1000,
  configFile: '/x/goavail.toml',
  running: true,
  lastRoundAt: NOW - 100,
  intervalMs: 2000,
  minPeersAgree: 0,
  freshnessMs: 17_000,
  selfCheck: { state: 'healthy', since: undefined, detail: 'ok' },
  targets: [],
  canaries: [],
  peers: [],
  lastReconcile: undefined,
  consecutiveReconcileFailures: 0,
  held: [],
} as unknown as AgentStatus;

function entry(ip: string, over: Partial<DrainEntry> = {}): DrainEntry {
  return { ip, drained: true, at: NOW, origin: 'self', until: undefined, by: 'tester@host', reason: '', source: 'operator', ...over };
}

class FakeControl implements DrainControl {
  readonly drains: Array<{ req: DrainRequest; now: number }> = [];
  readonly undrains: Array<{ req: UndrainRequest; now: number }> = [];
  next: DrainAnswer | undefined;
  drain(req: DrainRequest, now: number): DrainAnswer {
    this.drains.push({ req, now });
    return this.next ?? { ok: true, entry: entry(req.ip, { until: req.forMs !== undefined ? now + req.forMs : undefined, reason: req.reason ?? '' }) };
  }
  undrain(req: UndrainRequest, now: number): DrainAnswer {
    this.undrains.push({ req, now });
    return this.next ?? { ok: true, entry: entry(req.ip, { drained: false }) };
  }
  list(): readonly DrainEntry[] {
    return [entry(IP, { reason: 'maintenance' })];
  }
}

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json: Record<string, unknown> | undefined;
}

function send(addr: string, method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}): Promise<Reply> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = request({ host, port, method, path, headers: opts.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | undefined;
        try {
          json = JSON.parse(body) as Record<string, unknown>;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json });
      });
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

const auth = (token = TOKEN) => ({ authorization: `Bearer ${token}` });
const jsonHeaders = (token = TOKEN) => ({ ...auth(token), 'content-type': 'application/json' });

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
});

async function server(
  over: { control?: DrainControl | null; token?: string | null } = {},
): Promise<{ s: StatusServer; control: FakeControl; metrics: Metrics }> {
  const control = new FakeControl();
  const metrics = new Metrics();
  const s = await startStatusServer({
    addr: '127.0.0.1:0',
    agent: { status: () => STATUS },
    metrics,
    logger: silentLogger(),
    now: () => NOW,
    ...(over.control === null ? {} : { control: over.control ?? control }),
    ...(over.token === null ? {} : { controlToken: over.token ?? TOKEN }),
  });
  closers.push(() => s.close());
  return { s, control, metrics };
}

async function refusedCount(metrics: Metrics, reason: string): Promise<number> {
  const m = (await metrics.registry.getSingleMetric('goavail_control_refused_total')?.get())?.values.find((v) => v.labels.reason === reason);
  return m?.value ?? 0;
}

describe('control endpoint: the bearer token', () => {
  it.each([
    ['no Authorization header', {}],
    ['a wrong token', auth('wrong-token-0123456789abcdef-xyz')],
    ['the token as a prefix', auth(TOKEN.slice(0, 20))],
    ['the token with a suffix', auth(`${TOKEN}x`)],
    ['Basic instead of Bearer', { authorization: `Basic ${TOKEN}` }],
    ['the bare token', { authorization: TOKEN }],
    ['Bearer with nothing', { authorization: 'Bearer ' }],
  ])('POST /drain with %s → 401, WWW-Authenticate, nothing drained', async (_what, headers) => {
    const { s, control, metrics } = await server();
    const r = await send(s.address, 'POST', '/drain', { headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ ip: IP }) });
    expect(r.status).toBe(401);
    expect(r.headers['www-authenticate']).toBe('Bearer realm="goavail"');
    expect(r.json?.error).toContain('missing or wrong control token');
    expect(control.drains).toEqual([]);
    expect(await refusedCount(metrics, 'unauthorized')).toBe(1);
  });

  it.each([
    ['POST', '/undrain'],
    ['GET', '/drains'],
  ])('%s %s without the token → 401', async (method, path) => {
    const { s, control } = await server();
    const r = await send(s.address, method, path, {
      headers: { 'content-type': 'application/json' },
      body: method === 'POST' ? JSON.stringify({ ip: IP }) : undefined,
    });
    expect(r.status).toBe(401);
    expect(control.undrains).toEqual([]);
  });

  it('the right token → 200, and the control saw the request as sent', async () => {
    const { s, control } = await server();
    const body = { ip: IP, for_ms: 1_800_000, reason: 'kernel update', by: 'alice@ops', force: true };
    const r = await send(s.address, 'POST', '/drain', { headers: jsonHeaders(), body: JSON.stringify(body) });
    expect(r.status).toBe(200);
    expect(control.drains).toEqual([{ req: { ip: IP, forMs: 1_800_000, reason: 'kernel update', by: 'alice@ops', force: true }, now: NOW }]);
    expect(r.json).toMatchObject({ ok: true, entry: { ip: IP, drained: true, until: NOW + 1_800_000, reason: 'kernel update' } });
  });

  it('"bearer" in any case and extra spaces are accepted (RFC 7235: the scheme is case-insensitive)', async () => {
    const { s, control } = await server();
    const r = await send(s.address, 'POST', '/undrain', {
      headers: { authorization: `bearer   ${TOKEN}`, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify({ ip: IP, by: 'bob@ops' }),
    });
    expect(r.status).toBe(200);
    expect(control.undrains).toEqual([{ req: { ip: IP, by: 'bob@ops' }, now: NOW }]);
    expect(r.json).toMatchObject({ ok: true, entry: { ip: IP, drained: false } });
  });

  it('GET /drains with the token lists the drains (until null for an open-ended one)', async () => {
    const { s } = await server();
    const r = await send(s.address, 'GET', '/drains', { headers: auth() });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ now: NOW, drains: [{ ...entry(IP, { reason: 'maintenance' }), until: null }] });
  });

  it('the read-only routes stay open without a token', async () => {
    const { s } = await server();
    for (const path of ['/status', '/healthz', '/metrics', '/events', '/']) {
      const r = await send(s.address, 'GET', path);
      expect(r.status, path).toBe(200);
    }
  });
});

describe('control endpoint: bad requests', () => {
  it.each([
    ['not JSON', '{ip:', 'body: not valid JSON'],
    ['a list', '[]', 'body: must be a JSON object, got a list'],
    ['no ip', '{}', 'ip: required'],
    ['ip a number', '{"ip": 5}', 'ip: must be an IP address as a string, got a number'],
    ['ip not an address', '{"ip": "www.example.com"}', 'ip: "www.example.com" is not an IPv4 or IPv6 address'],
    ['for_ms a string', `{"ip": "${IP}", "for_ms": "30m"}`, 'for_ms: must be a whole number of milliseconds, got a string'],
    ['for_ms zero', `{"ip": "${IP}", "for_ms": 0}`, 'for_ms: must be between 1 and'],
    ['for_ms a fraction', `{"ip": "${IP}", "for_ms": 1.5}`, 'for_ms: must be a whole number of milliseconds, got a number 1.5'],
    ['reason too long', `{"ip": "${IP}", "reason": "${'x'.repeat(201)}"}`, 'reason: must be at most 200 characters, got 201'],
    ['reason with a line break', `{"ip": "${IP}", "reason": "a\\nb"}`, 'reason: must not contain control characters'],
    ['by too long', `{"ip": "${IP}", "by": "${'u'.repeat(65)}"}`, 'by: must be at most 64 characters'],
    ['force a string', `{"ip": "${IP}", "force": "yes"}`, 'force: must be true or false, got a string'],
    ['an unknown field', `{"ip": "${IP}", "until": 5}`, '"until": unknown field; expected ip, for_ms, reason, by, force'],
  ])('POST /drain, %s → 400 naming the field', async (_what, body, message) => {
    const { s, control, metrics } = await server();
    const r = await send(s.address, 'POST', '/drain', { headers: jsonHeaders(), body });
    expect(r.status).toBe(400);
    expect(r.json?.error).toContain(message);
    expect(control.drains).toEqual([]);
    expect(await refusedCount(metrics, 'bad-request')).toBe(1);
  });

  it('POST /undrain takes only ip and by', async () => {
    const { s, control } = await server();
    const r = await send(s.address, 'POST', '/undrain', { headers: jsonHeaders(), body: JSON.stringify({ ip: IP, for_ms: 5 }) });
    expect(r.status).toBe(400);
    expect(r.json?.error).toBe('"for_ms": unknown field; expected ip, by');
    expect(control.undrains).toEqual([]);
  });

  it('a body above 4 KiB → 413, declared or streamed', async () => {
    const { s, control } = await server();
    const big = JSON.stringify({ ip: IP, reason: 'x'.repeat(5000) });
    const declared = await send(s.address, 'POST', '/drain', { headers: jsonHeaders(), body: big });
    expect(declared.status).toBe(413);
    expect(declared.json?.error).toContain('body too large');
    // Chunked: no Content-Length, so the limit is found while reading.
    const streamed = await send(s.address, 'POST', '/drain', { headers: { ...jsonHeaders(), 'transfer-encoding': 'chunked' }, body: big });
    expect(streamed.status).toBe(413);
    expect(control.drains).toEqual([]);
  });

  it('a client that goes away mid-body drains nothing, and the server goes on answering', async () => {
    const { s, control } = await server();
    const [host, port] = [s.address.split(':')[0]!, Number(s.address.split(':')[1])];
    const sock = connect({ host, port });
    await new Promise<void>((r) => sock.once('connect', () => r()));
    sock.write(`POST /drain HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${TOKEN}\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{"ip":`);
    await new Promise((r) => setTimeout(r, 50));
    sock.destroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(control.drains).toEqual([]);
    const r = await send(s.address, 'POST', '/drain', { headers: jsonHeaders(), body: JSON.stringify({ ip: IP }) });
    expect(r.status).toBe(200);
  });

  it('a body that is not UTF-8 → 400', async () => {
    const { s } = await server();
    const r = await send(s.address, 'POST', '/drain', { headers: jsonHeaders(), body: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) });
    expect(r.status).toBe(400);
    expect(r.json?.error).toBe('body: not valid UTF-8');
  });

  it.each([
    ['none', undefined],
    ['text/plain', 'text/plain'],
    ['a form', 'application/x-www-form-urlencoded'],
  ])('content-type %s → 415', async (_what, type) => {
    const { s, control } = await server();
    const r = await send(s.address, 'POST', '/drain', { headers: { ...auth(), ...(type ? { 'content-type': type } : {}) }, body: JSON.stringify({ ip: IP }) });
    expect(r.status).toBe(415);
    expect(r.json?.error).toContain('content-type must be application/json');
    expect(control.drains).toEqual([]);
  });

  it.each([
    ['GET', '/drain', 'POST'],
    ['PUT', '/undrain', 'POST'],
    ['POST', '/drains', 'GET'],
    ['DELETE', '/drains', 'GET'],
  ])('%s %s → 405 with Allow: %s', async (method, path, allow) => {
    const { s } = await server();
    const r = await send(s.address, method, path, { headers: auth() });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe(allow);
  });

  it.each([
    [404, 'IP 198.18.111.9 is not managed by this agent'],
    [409, 'IP 198.18.111.5 is the last up IP of www.example.com: pass force'],
    [400, 'bad request said the agent'],
  ] as const)('an agent refusal %s is passed on with its error', async (status, error) => {
    const { s, control, metrics } = await server();
    control.next = { ok: false, status, error };
    const r = await send(s.address, 'POST', '/drain', { headers: jsonHeaders(), body: JSON.stringify({ ip: IP }) });
    expect(r.status).toBe(status);
    expect(r.json).toEqual({ error });
    expect(await refusedCount(metrics, 'refused')).toBe(1);
  });

  it("a note in the agent's answer is passed on", async () => {
    const { s, control } = await server();
    control.next = { ok: true, entry: entry(IP), note: 'last up IP of www.example.com: its record stays (keep-last)' };
    const r = await send(s.address, 'POST', '/drain', { headers: jsonHeaders(), body: JSON.stringify({ ip: IP, force: true }) });
    expect(r.status).toBe(200);
    expect(r.json?.note).toBe('last up IP of www.example.com: its record stays (keep-last)');
  });
});

describe('control endpoint: off', () => {
  it('without a DrainControl every control route answers 503 with a clear message', async () => {
    const { s, metrics } = await server({ control: null });
    for (const [method, path] of [
      ['POST', '/drain'],
      ['POST', '/undrain'],
      ['GET', '/drains'],
    ] as const) {
      const r = await send(s.address, method, path, { headers: jsonHeaders(), body: method === 'POST' ? JSON.stringify({ ip: IP }) : undefined });
      expect(r.status, path).toBe(503);
      expect(r.json?.error).toContain('this agent has no drain control');
    }
    expect(await refusedCount(metrics, 'unavailable')).toBe(3);
  });

  it('without a token (it could not be created) → 503, never open', async () => {
    const { s, control } = await server({ token: null });
    const r = await send(s.address, 'POST', '/drain', { headers: { 'content-type': 'application/json' }, body: JSON.stringify({ ip: IP }) });
    expect(r.status).toBe(503);
    expect(r.json?.error).toContain('no control token');
    expect(control.drains).toEqual([]);
  });
});
