import { connect, createServer, Socket, type AddressInfo, type Server, type TcpNetConnectOpts } from 'node:net';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createProber } from '../../../src/probe/index.js';
import { createTcpProber } from '../../../src/probe/tcp.js';
import { canUseNetns, createNsLab, type NsLab } from '../../support/netns.js';
import { LABS } from '../../support/labs.js';

const hasIpv6Loopback = Object.values(networkInterfaces())
  .flat()
  .some((a) => a?.internal && a.family === 'IPv6' && a.address === '::1');

const servers: Server[] = [];

/** A listener on host:0; resolves with its port and counts the connections it accepted. */
async function listen(host: string): Promise<{ port: number; accepted: () => number }> {
  let accepted = 0;
  const server = createServer((socket) => {
    accepted += 1;
    socket.on('error', () => undefined);
    socket.end();
  });
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port: 0 }, resolve);
  });
  return { port: (server.address() as AddressInfo).port, accepted: () => accepted };
}

/** A port on which nothing listens: bound, then released. */
async function closedPort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

describe('TCP prober on loopback', () => {
  it('is up when the port accepts, and closes its connection at once', async () => {
    const { port, accepted } = await listen('127.0.0.1');
    const prober = createTcpProber({ logger: silentLogger(), port });
    expect(prober.kind).toBe('tcp');
    const [r] = await prober.probe(['127.0.0.1'], 1000);
    expect(r).toMatchObject({ ip: '127.0.0.1', ok: true });
    expect(r?.rttMs).toBeGreaterThanOrEqual(0);
    expect(r?.rttMs).toBeLessThan(1000);
    await vi.waitFor(() => expect(accepted()).toBe(1), { timeout: 5000 });
  });

  it('misses a closed port (refused), without waiting for the timeout', async () => {
    const port = await closedPort('127.0.0.1');
    const prober = createTcpProber({ logger: silentLogger(), port });
    const t0 = performance.now();
    const [r] = await prober.probe(['127.0.0.1'], 5000);
    expect(r).toMatchObject({ ip: '127.0.0.1', ok: false });
    expect(r?.error).toMatch(/ECONNREFUSED/);
    expect(performance.now() - t0).toBeLessThan(4000);
  });

  it.skipIf(!hasIpv6Loopback)('dials IPv6 (::1) too (skipped: no IPv6 loopback here)', async () => {
    const { port } = await listen('::1');
    const prober = createTcpProber({ logger: silentLogger(), port });
    const results = await prober.probe(['::1', '127.0.0.1'], 1000);
    // Only ::1 listens on that port: the IPv4 address must not count as up.
    expect(results.map((r) => [r.ip, r.ok])).toEqual([
      ['::1', true],
      ['127.0.0.1', false],
    ]);
  });

  it('keeps input order across mixed outcomes and misses non-addresses without a lookup', async () => {
    const { port } = await listen('127.0.0.1');
    const prober = createProber('tcp', { logger: silentLogger(), port });
    const targets = ['127.0.0.2', 'localhost', '127.0.0.1', '127.0.0.1'];
    const results = await prober.probe(targets, 1000);
    expect(results.map((r) => [r.ip, r.ok])).toEqual([
      ['127.0.0.2', false], // listener is bound to 127.0.0.1 only
      ['localhost', false],
      ['127.0.0.1', true],
      ['127.0.0.1', true],
    ]);
    expect(results[1]?.error).toBe('not an IP address');
  });

  it('answers 500 loopback targets in one round', async () => {
    const { port, accepted } = await listen('127.0.0.1');
    const prober = createTcpProber({ logger: silentLogger(), port });
    const ips = Array.from({ length: 500 }, () => '127.0.0.1');
    const results = await prober.probe(ips, 3000);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    // The server side accepts on its own schedule; every probe reached it.
    await vi.waitFor(() => expect(accepted()).toBe(500), { timeout: 5000 });
  });

  it('rejects an invalid port at construction', () => {
    for (const port of [0, -1, 65536, 80.5, Number.NaN]) {
      expect(() => createTcpProber({ logger: silentLogger(), port })).toThrow(RangeError);
    }
  });

  it('rejects an aborted round and refuses to probe once closed', async () => {
    const prober = createTcpProber({ logger: silentLogger(), port: 9 });
    await expect(prober.probe(['127.0.0.1'], 1000, AbortSignal.abort())).rejects.toMatchObject({ name: 'AbortError' });
    prober.close();
    await expect(prober.probe(['127.0.0.1'], 1000)).rejects.toThrow(/closed/);
  });
});

describe('TCP prober: local errors are no observation', () => {
  /** A connect that fails, for the listed IPs, the way Node reports it: an 'error' event on a later tick. */
  function failingConnect(codes: Record<string, string>, dialled: string[] = []): (o: TcpNetConnectOpts) => Socket {
    return (o) => {
      dialled.push(String(o.host));
      const code = codes[String(o.host)];
      if (code === undefined) return connect(o);
      const socket = new Socket();
      setImmediate(() => socket.destroy(Object.assign(new Error(`connect ${code} ${o.host}:${o.port}`), { code, syscall: 'connect' })));
      return socket;
    };
  }

  it.each(['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL'])(
    'a connect that fails with %s is no observation (local set), not a miss',
    async (code) => {
      const { port } = await listen('127.0.0.1');
      const prober = createTcpProber({ logger: silentLogger(), port, connect: failingConnect({ '127.0.0.2': code }) });
      const results = await prober.probe(['127.0.0.1', '127.0.0.2'], 1000);
      expect(results[0]).toMatchObject({ ip: '127.0.0.1', ok: true });
      expect(results[1]).toEqual({ ip: '127.0.0.2', ok: false, local: code, error: `no probe sent: ${code}: connect ${code} 127.0.0.2:${port}` });
    },
  );

  it.each(['ECONNREFUSED', 'EINVAL', 'ENETUNREACH', 'EHOSTUNREACH', 'ECONNRESET'])('a connect that fails with %s stays a miss', async (code) => {
    const prober = createTcpProber({ logger: silentLogger(), port: 9, connect: failingConnect({ '127.0.0.2': code }) });
    const [r] = await prober.probe(['127.0.0.2'], 1000);
    expect(r).toEqual({ ip: '127.0.0.2', ok: false, error: `${code}: connect ${code} 127.0.0.2:9` });
  });

  it('a connect() that throws synchronously: EMFILE is no observation, anything else a miss; other targets are still probed', async () => {
    const { port } = await listen('127.0.0.1');
    const prober = createTcpProber({
      logger: silentLogger(),
      port,
      connect: (o) => {
        if (o.host === '127.0.0.2') throw Object.assign(new Error('socket: too many open files'), { code: 'EMFILE' });
        if (o.host === '127.0.0.3') throw new TypeError('bad options');
        return connect(o);
      },
    });
    const results = await prober.probe(['127.0.0.2', '127.0.0.3', '127.0.0.1'], 1000);
    expect(results).toEqual([
      { ip: '127.0.0.2', ok: false, local: 'EMFILE', error: 'no probe sent (EMFILE): socket: too many open files' },
      { ip: '127.0.0.3', ok: false, error: 'bad options' },
      expect.objectContaining({ ip: '127.0.0.1', ok: true }),
    ]);
  });
});

describe.skipIf(!canUseNetns() && !process.env.CI)('TCP prober against namespace hosts (root)', () => {
  let lab: NsLab;
  const port = 8080;

  beforeAll(async () => {
    lab = await createNsLab({ ...LABS['probe/tcp'], count: 1 });
  });
  afterAll(async () => {
    await lab?.cleanup();
  });

  it('misses a blackholed address at once', async () => {
    const prober = createTcpProber({ logger: silentLogger(), port });
    const t0 = performance.now();
    const [r] = await prober.probe([lab.unusedIp], 5000);
    expect(r).toMatchObject({ ok: false });
    expect(r?.error).toMatch(/EINVAL/);
    expect(performance.now() - t0).toBeLessThan(4000);
  });

  it('is up while the host listens, misses within the timeout while its link is down (a hanging connect)', async () => {
    const host = lab.hosts[0]!;
    const listener = await host.listenTcp(port);
    const prober = createTcpProber({ logger: silentLogger(), port });
    try {
      expect((await prober.probe([host.ip], 2000))[0]).toMatchObject({ ip: host.ip, ok: true });

      await host.linkDown();
      const sockets = () => process.getActiveResourcesInfo().filter((r) => r === 'TCPSocketWrap').length;
      const before = sockets();
      const timeout = 400;
      const t0 = performance.now();
      const [r] = await prober.probe([host.ip], timeout);
      const elapsed = performance.now() - t0;
      expect(r).toMatchObject({ ip: host.ip, ok: false });
      expect(r?.error).toMatch(/timeout/);
      expect(elapsed).toBeGreaterThanOrEqual(timeout - 5); // it hung: no quick error
      expect(elapsed).toBeLessThan(timeout + 1500);
      // the hanging connect was given up, not left behind (handles close on a later tick)
      await vi.waitFor(() => expect(sockets()).toBe(before), { timeout: 1000 });

      const controller = new AbortController();
      const aborted = prober.probe([host.ip, host.ip], 10_000, controller.signal);
      setTimeout(() => controller.abort(), 50);
      await expect(aborted).rejects.toMatchObject({ name: 'AbortError' });
      await vi.waitFor(() => expect(sockets()).toBe(before), { timeout: 1000 });

      await host.linkUp();
      let back = false;
      for (let i = 0; i < 20 && !back; i++) back = (await prober.probe([host.ip], 1000))[0]?.ok === true;
      expect(back).toBe(true);
    } finally {
      await host.linkUp();
      await listener.close();
    }
    // The listener is gone: refused.
    expect((await prober.probe([host.ip], 2000))[0]?.error).toMatch(/ECONNREFUSED/);
  });
});
