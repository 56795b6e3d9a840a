import { createServer as createHttpServer, type IncomingHttpHeaders, type Server as HttpServer } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import type { StatusRange } from '../../../src/probe/http-check.js';
import { createHttpProber, type HttpProbeSettings } from '../../../src/probe/http.js';
import { createProber } from '../../../src/probe/index.js';
import type { ProbeResult } from '../../../src/probe/types.js';
import { createCertSet, type CertSet } from '../../support/certs.js';
import { startHttpTarget, type HttpTarget } from '../../support/http-target.js';
import { scratch, waitFor, type Scratch } from '../../support/kit.js';

/**
 * The HTTP(S) prober against real servers on loopback (child processes, see
 * test/support/http-target.ts) and certificates made with openssl for each
 * run. Silent hosts (connect timeouts) need a namespace: ./http-netns.test.ts.
 */
const HOST = 'www.example.com';
const hasIpv6Loopback = Object.values(networkInterfaces())
  .flat()
  .some((a) => a?.internal && a.family === 'IPv6' && a.address === '::1');

function settings(over: Partial<HttpProbeSettings> = {}): HttpProbeSettings {
  return {
    path: '/health',
    method: 'GET',
    host: HOST,
    expectStatus: [{ min: 200, max: 399 }] as StatusRange[],
    expectBody: undefined,
    headers: {},
    tlsVerify: true,
    ...over,
  };
}

async function probeOnce(scheme: 'http' | 'https', ip: string, port: number, over: Partial<HttpProbeSettings> = {}, timeoutMs = 2_000): Promise<ProbeResult> {
  const prober = createHttpProber({ logger: silentLogger(), scheme, port, settings: settings(over) });
  try {
    const [r] = await prober.probe([ip], timeoutMs);
    return r!;
  } finally {
    prober.close();
  }
}

let dir: Scratch;
let certs: CertSet;
const targets: HttpTarget[] = [];
const servers: Array<Server | HttpServer> = [];

async function target(scheme: 'http' | 'https', mode = 'ok', certId = 'valid', host = '127.0.0.1'): Promise<HttpTarget> {
  const t = await startHttpTarget({ host, port: 0, scheme, certDir: dir.dir, certId });
  targets.push(t);
  if (mode !== 'ok') await t.set(mode);
  return t;
}

beforeAll(async () => {
  dir = await scratch('http-probe');
  certs = await createCertSet(dir.dir, HOST);
}, 60_000);

afterAll(async () => {
  await Promise.all(targets.map((t) => t.close()));
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  await dir?.cleanup();
});

/** A port on which nothing listens: bound, then released. */
async function closedPort(host: string): Promise<number> {
  const server = createNetServer();
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('HTTP prober: status, body, method', () => {
  it('200 is up, with an RTT; each probe is a fresh connection', async () => {
    const t = await target('http');
    const prober = createHttpProber({ logger: silentLogger(), scheme: 'http', port: t.port, settings: settings() });
    const before = await t.connections();
    for (let i = 0; i < 3; i++) {
      const [r] = await prober.probe(['127.0.0.1'], 2_000);
      expect(r).toMatchObject({ ip: '127.0.0.1', ok: true });
      expect(r!.rttMs).toBeGreaterThan(0);
      expect(r!.reason).toBeUndefined();
    }
    prober.close();
    expect((await t.connections()) - before).toBe(3);
  });

  it('503 is a miss that names the status', async () => {
    const t = await target('http', 'status:503');
    const r = await probeOnce('http', '127.0.0.1', t.port);
    expect(r).toMatchObject({ ok: false, reason: 'status' });
    expect(r.error).toBe('status: 503, expected 200-399');
    expect(r.local).toBeUndefined();
  });

  it('a 302 is judged by expect_status, never followed', async () => {
    const t = await target('http', 'redirect');
    expect(await probeOnce('http', '127.0.0.1', t.port)).toMatchObject({ ok: true });
    const only200 = await probeOnce('http', '127.0.0.1', t.port, { expectStatus: [{ min: 200, max: 200 }] });
    expect(only200).toMatchObject({ ok: false, reason: 'status', error: 'status: 302, expected 200' });
  });

  it('expect_body: found is up, absent is a body miss; HEAD never reads a body', async () => {
    const good = await target('http');
    expect(await probeOnce('http', '127.0.0.1', good.port, { expectBody: 'status: ok' })).toMatchObject({ ok: true });
    const bad = await target('http', 'body');
    const r = await probeOnce('http', '127.0.0.1', bad.port, { expectBody: 'status: ok' });
    expect(r).toMatchObject({ ok: false, reason: 'body' });
    expect(r.error).toContain('expect_body not found in the body (16 bytes)');
    expect(await probeOnce('http', '127.0.0.1', bad.port, { method: 'HEAD', expectBody: 'status: ok' })).toMatchObject({ ok: true });
  });

  it('sends Host = host (with a non-default port), the extra headers, a User-Agent, Connection: close; the path as given', async () => {
    let seen: { url?: string; method?: string; headers: IncomingHttpHeaders } | undefined;
    const server = createHttpServer((req, res) => {
      seen = { url: req.url, method: req.method, headers: req.headers };
      res.end('ok');
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (server.address() as AddressInfo).port;
    const r = await probeOnce('http', '127.0.0.1', port, { path: '/healthz?deep=1', headers: { Authorization: 'Bearer s3cret', 'X-Probe': 'yes' } });
    expect(r.ok).toBe(true);
    expect(seen?.url).toBe('/healthz?deep=1');
    expect(seen?.method).toBe('GET');
    expect(seen?.headers.host).toBe(`${HOST}:${port}`);
    expect(seen?.headers.authorization).toBe('Bearer s3cret');
    expect(seen?.headers['x-probe']).toBe('yes');
    expect(seen?.headers['user-agent']).toBe('goavail-health-check');
    expect(seen?.headers.connection).toBe('close');
    // A configured User-Agent replaces the default one.
    await probeOnce('http', '127.0.0.1', port, { headers: { 'user-agent': 'mine/1' } });
    expect(seen?.headers['user-agent']).toBe('mine/1');
  });

  it('refused is a miss with reason refused', async () => {
    const r = await probeOnce('http', '127.0.0.1', await closedPort('127.0.0.1'));
    expect(r).toMatchObject({ ok: false, reason: 'refused' });
    expect(r.error).toContain('ECONNREFUSED');
  });

  it('a name is never resolved: not an IP address', async () => {
    const r = await probeOnce('http', 'localhost', 80);
    expect(r).toMatchObject({ ok: false, error: 'not an IP address' });
  });

  it.runIf(hasIpv6Loopback)('IPv6 targets work the same (http and https)', async () => {
    const t = await target('http', 'ok', 'valid', '::1');
    expect(await probeOnce('http', '::1', t.port)).toMatchObject({ ip: '::1', ok: true });
    const s = await target('https', 'ok', 'valid', '::1');
    expect(await probeOnce('https', '::1', s.port, { caPem: certs.ca.pem })).toMatchObject({ ip: '::1', ok: true });
  });
});

describe('HTTP prober: what a server sends cannot crash it, grow it, or stall it', () => {
  it('garbage is a bad-response miss', async () => {
    const t = await target('http', 'garbage');
    const r = await probeOnce('http', '127.0.0.1', t.port);
    expect(r).toMatchObject({ ok: false });
    expect(['bad-response', 'reset']).toContain(r.reason);
  });

  it('huge headers are a bad-response miss (the parser stops at 16 KiB)', async () => {
    const t = await target('http', 'huge-headers');
    const r = await probeOnce('http', '127.0.0.1', t.port);
    expect(r).toMatchObject({ ok: false, reason: 'bad-response' });
    expect(r.error).toContain('HPE_HEADER_OVERFLOW');
  });

  it('an endless body: expect_body gives up after 64 KiB, long before the timeout; without it the body is never read', async () => {
    const t = await target('http', 'endless');
    const started = performance.now();
    const r = await probeOnce('http', '127.0.0.1', t.port, { expectBody: 'status: ok' }, 5_000);
    expect(r).toMatchObject({ ok: false, reason: 'body', error: 'body: expect_body not found in the first 65536 bytes' });
    expect(performance.now() - started).toBeLessThan(4_000);
    expect(await probeOnce('http', '127.0.0.1', t.port, {}, 5_000)).toMatchObject({ ok: true });
  });

  it('a server that reads the request and never answers: too-slow at the deadline, the round ends on time', async () => {
    const t = await target('http', 'hang');
    const r = await probeOnce('http', '127.0.0.1', t.port, {}, 300);
    expect(r).toMatchObject({ ok: false, reason: 'too-slow', error: 'too-slow: no response headers within 300 ms' });
  });

  it('a half-open TLS connection (accepted, never read): too-slow in the handshake', async () => {
    const held: Socket[] = [];
    const server = createNetServer((s) => {
      held.push(s);
      s.on('error', () => undefined);
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const port = (server.address() as AddressInfo).port;
    const r = await probeOnce('https', '127.0.0.1', port, {}, 300);
    for (const s of held) s.destroy();
    expect(r).toMatchObject({ ok: false, reason: 'too-slow', error: 'too-slow: no TLS handshake within 300 ms' });
  });

  it('many rounds against an endless body and a hanging server leave no connection open at the server', async () => {
    const endless = await target('http', 'endless');
    const hang = await target('http', 'hang');
    const pe = createHttpProber({ logger: silentLogger(), scheme: 'http', port: endless.port, settings: settings({ expectBody: 'x-never' }) });
    const ph = createHttpProber({ logger: silentLogger(), scheme: 'http', port: hang.port, settings: settings() });
    for (let i = 0; i < 10; i++) {
      const [[e], [h]] = await Promise.all([pe.probe(['127.0.0.1'], 2_000), ph.probe(['127.0.0.1'], 200)]);
      expect(e?.reason).toBe('body');
      expect(h?.reason).toBe('too-slow');
    }
    pe.close();
    ph.close();
    expect(await endless.connections()).toBeGreaterThanOrEqual(10);
    expect(await hang.connections()).toBeGreaterThanOrEqual(10);
    // The prober closed every connection it opened (the servers keep theirs alive for 60 s otherwise).
    await waitFor('the servers to see every connection closed', async () => (await endless.open()) === 0 && (await hang.open()) === 0, { timeoutMs: 5_000 });
  });
});

describe('HTTPS prober: TLS verification', () => {
  it('a valid certificate from ca_file is up; the expiry rides on the result', async () => {
    const t = await target('https', 'ok', 'valid');
    const r = await probeOnce('https', '127.0.0.1', t.port, { caPem: certs.ca.pem, expectBody: 'status: ok' });
    expect(r).toMatchObject({ ok: true });
    expect(r.certExpiresAt).toBeGreaterThan(Date.now() + 360 * 86_400_000);
  });

  it('without ca_file the private CA is unknown', async () => {
    const t = await target('https', 'ok', 'valid');
    expect(await probeOnce('https', '127.0.0.1', t.port)).toMatchObject({ ok: false, reason: 'tls-unknown-ca' });
  });

  it.each([
    ['expired', 'tls-expired', 'CERT_HAS_EXPIRED'],
    ['wrong-name', 'tls-name-mismatch', 'ERR_TLS_CERT_ALTNAME_INVALID'],
    ['self-signed', 'tls-unknown-ca', 'DEPTH_ZERO_SELF_SIGNED_CERT'],
  ])('%s → %s', async (certId, reason, code) => {
    const t = await target('https', 'ok', certId);
    const r = await probeOnce('https', '127.0.0.1', t.port, { caPem: certs.ca.pem });
    expect(r).toMatchObject({ ok: false, reason });
    expect(r.error).toContain(code);
  });

  it('tls_verify = false accepts self-signed, wrong-name and expired certificates (their expiry is still read)', async () => {
    for (const certId of ['self-signed', 'wrong-name', 'expired']) {
      const t = await target('https', 'ok', certId);
      const r = await probeOnce('https', '127.0.0.1', t.port, { tlsVerify: false });
      expect(r, certId).toMatchObject({ ok: true });
      expect(r.certExpiresAt).toBeTypeOf('number');
    }
  });

  it('a certificate expiring in 3 days still passes, with its expiry', async () => {
    const t = await target('https', 'ok', 'expiring');
    const r = await probeOnce('https', '127.0.0.1', t.port, { caPem: certs.ca.pem });
    expect(r.ok).toBe(true);
    const days = (r.certExpiresAt! - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(3);
    expect(days).toBeLessThan(4);
  });

  it('a plain HTTP server on the https port is a TLS error', async () => {
    const t = await target('http');
    const r = await probeOnce('https', '127.0.0.1', t.port, { caPem: certs.ca.pem });
    expect(r).toMatchObject({ ok: false });
    expect(['tls-error', 'reset']).toContain(r.reason);
  });
});

describe('HTTP prober: local errors and canaries', () => {
  it('a request that fails with EMFILE is no observation, not a miss', async () => {
    const prober = createHttpProber({
      logger: silentLogger(),
      scheme: 'http',
      port: 80,
      settings: settings(),
      request: () => {
        throw Object.assign(new Error('socket: too many open files'), { code: 'EMFILE' });
      },
    });
    const [r] = await prober.probe(['127.0.0.1'], 500);
    prober.close();
    expect(r).toMatchObject({ ok: false, local: 'EMFILE' });
  });

  it('createProber: canaries of an https config get a TCP connect to the port, targets the HTTPS check', async () => {
    const t = await target('https', 'status:503', 'valid');
    const prober = createProber('https', { logger: silentLogger(), port: t.port, http: settings({ caPem: certs.ca.pem }), canaries: ['127.0.0.2'] });
    // The same server answers on 127.0.0.1 only; 127.0.0.2 is refused: a TCP miss.
    const results = await prober.probe(['127.0.0.1', '127.0.0.2'], 2_000);
    prober.close();
    expect(results.map((r) => r.ip)).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(results[0]).toMatchObject({ ok: false, reason: 'status' });
    expect(results[1]).toMatchObject({ ok: false });
    expect(results[1]!.error).toContain('ECONNREFUSED');
    expect(results[1]!.reason).toBeUndefined(); // a TCP result

    // Served on the canary's address, the canary is up by TCP even though the HTTP answer is 503.
    const c = await target('https', 'status:503', 'valid', '127.0.0.2');
    const p2 = createProber('https', { logger: silentLogger(), port: c.port, http: settings({ caPem: certs.ca.pem }), canaries: ['127.0.0.2'] });
    const [canary] = await p2.probe(['127.0.0.2'], 2_000);
    p2.close();
    expect(canary).toMatchObject({ ip: '127.0.0.2', ok: true });
  });
});
