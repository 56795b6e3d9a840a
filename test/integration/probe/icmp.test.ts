import { execFile } from 'node:child_process';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import raw, { type Socket } from 'raw-socket';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createIcmpProber, icmpSessionId } from '../../../src/probe/icmp.js';
import { createProber } from '../../../src/probe/index.js';
import type { Prober } from '../../../src/probe/types.js';
import { canUseNetns, createNsLab, labSubnet, type NsLab } from '../../support/netns.js';
import { LABS } from '../../support/labs.js';

const root = canUseNetns();
const hasIpv6Loopback = Object.values(networkInterfaces())
  .flat()
  .some((a) => a?.internal && a.family === 'IPv6' && a.address === '::1');

describe('icmpSessionId', () => {
  it.each([
    // base, offset → identifier (1..65534)
    [1, 0, 1],
    [1, 1, 2],
    [4242, 0, 4242],
    [4242, 1, 4243],
    [65534, 0, 65534],
    [65534, 1, 1],
    [65535, 0, 1],
    [0, 0, 65534],
    [0, 1, 1],
    [131068, 0, 65534],
    [4_194_304, 0, ((4_194_304 - 1) % 65534) + 1],
  ])('base %i offset %i → %i', (base, offset, id) => {
    expect(icmpSessionId(base, offset)).toBe(id);
  });

  it('gives the two families of one base different identifiers, always', () => {
    for (let base = 0; base < 200_000; base += 7) {
      expect(icmpSessionId(base, 0)).not.toBe(icmpSessionId(base, 1));
    }
  });
});

describe.skipIf(!root && !process.env.CI)('ICMP prober against real hosts (root)', () => {
  let lab: NsLab;
  let prober: Prober;

  beforeAll(async () => {
    lab = await createNsLab({ ...LABS['probe/icmp'], count: 2 });
    prober = createIcmpProber({ logger: silentLogger() });
  });
  afterAll(async () => {
    prober?.close();
    await lab?.cleanup();
  });

  it('sees loopback addresses up, with a round-trip time', async () => {
    const results = await prober.probe(['127.0.0.1', '127.0.0.2'], 1000);
    expect(results.map((r) => [r.ip, r.ok, r.error])).toEqual([
      ['127.0.0.1', true, undefined],
      ['127.0.0.2', true, undefined],
    ]);
    for (const r of results) {
      expect(r.rttMs).toBeGreaterThanOrEqual(0);
      expect(r.rttMs).toBeLessThan(1000);
    }
  });

  it.skipIf(!hasIpv6Loopback)('sees ::1 up over ICMPv6 (skipped: no IPv6 loopback here)', async () => {
    const [r] = await prober.probe(['::1'], 1000);
    expect(r).toMatchObject({ ip: '::1', ok: true });
  });

  it('follows a namespace host going down and coming back', async () => {
    const host = lab.hosts[0]!;
    expect((await prober.probe([host.ip], 1000))[0]).toMatchObject({ ok: true });
    await host.down();
    try {
      const [r] = await prober.probe([host.ip], 300);
      expect(r).toMatchObject({ ip: host.ip, ok: false });
      expect(r?.error).toMatch(/timeout/);
    } finally {
      await host.up();
    }
    expect((await prober.probe([host.ip], 1000))[0]).toMatchObject({ ok: true });
  });

  it('misses an address nobody holds (blackhole route: the send fails at once)', async () => {
    const t0 = performance.now();
    const [r] = await prober.probe([lab.unusedIp], 5000);
    expect(r).toMatchObject({ ip: lab.unusedIp, ok: false });
    expect(r?.error).toMatch(/invalid argument/i);
    expect(performance.now() - t0).toBeLessThan(4000); // an error, not the 5 s timeout
  });

  it('never routes an IPv4 target through the IPv6 session (that would ping the local host)', async () => {
    const dead = lab.hosts[1]!;
    await dead.down();
    try {
      // ::1 first, so the IPv6 session exists when the dead IPv4 host comes.
      const targets = hasIpv6Loopback ? ['::1', dead.ip, lab.unusedIp] : [dead.ip, lab.unusedIp];
      const results = await prober.probe(targets, 400);
      expect(results.map((r) => r.ip)).toEqual(targets);
      const byIp = new Map(results.map((r) => [r.ip, r]));
      expect(byIp.get(dead.ip)?.ok).toBe(false);
      expect(byIp.get(lab.unusedIp)?.ok).toBe(false);
      if (hasIpv6Loopback) expect(byIp.get('::1')?.ok).toBe(true);
    } finally {
      await dead.up();
    }
  });

  it('misses what is not an IP address instead of resolving or throwing', async () => {
    const results = await prober.probe(['localhost', '127.0.0.1', '300.1.1.1'], 1000);
    expect(results.map((r) => [r.ip, r.ok])).toEqual([
      ['localhost', false],
      ['127.0.0.1', true],
      ['300.1.1.1', false],
    ]);
    expect(results[0]?.error).toBe('not an IP address');
  });

  it('an event loop blocked past the deadline does not turn replies that arrived in time into misses', async () => {
    // The replies sit in the socket; when the loop frees up, the deadline
    // timer runs before the readable event. The round reads them first.
    const ips = Array.from({ length: 200 }, (_, i) => `127.0.${Math.floor(i / 250)}.${(i % 250) + 1}`);
    const round = prober.probe(ips, 50);
    await new Promise((r) => setImmediate(r)); // the requests are out (one chunk)
    const until = performance.now() + 300;
    while (performance.now() < until) {
      // busy: a long GC pause, a huge /metrics render...
    }
    const results = await round;
    expect(results.filter((r) => !r.ok).map((r) => `${r.ip}: ${r.error}`)).toEqual([]);
  });

  it('answers 1,000 loopback targets, all up, in input order', async () => {
    const ips: string[] = [];
    for (let i = 0; i < 1000; i++) ips.push(`127.0.${(i * 7) % 250}.${1 + (i % 250)}`);
    ips.reverse(); // not sorted: order must follow the input, not the answers
    const t0 = performance.now();
    const results = await prober.probe(ips, 2000);
    const elapsed = performance.now() - t0;
    expect(results.map((r) => r.ip)).toEqual(ips);
    expect(results.filter((r) => !r.ok)).toEqual([]);
    expect(elapsed).toBeLessThan(2000); // resolved on answers, not on the deadline
  });

  it('resolves within the timeout (plus slack) when every target is dead, whatever the timeout was before', async () => {
    const dead = lab.hosts[1]!;
    await dead.down();
    try {
      const targets = [dead.ip, dead.ip, dead.ip, lab.unusedIp];
      for (const timeout of [250, 600]) {
        const t0 = performance.now();
        const results = await prober.probe(targets, timeout);
        const elapsed = performance.now() - t0;
        expect(results.every((r) => !r.ok)).toBe(true);
        expect(elapsed).toBeGreaterThanOrEqual(timeout - 5); // the dead host really got its time
        expect(elapsed).toBeLessThan(timeout + 1500);
      }
    } finally {
      await dead.up();
    }
  });

  it('keeps two probers of one process apart when their identifiers differ', async () => {
    // Two sessions with one identifier would take each other's replies: a
    // dead host probed by one would look alive when the other pings a live one.
    const other = createIcmpProber({ logger: silentLogger(), sessionIdBase: process.pid + 1000 });
    const dead = lab.hosts[1]!;
    await dead.down();
    try {
      const [a, b] = await Promise.all([other.probe([dead.ip], 400), prober.probe(['127.0.0.1', dead.ip], 400)]);
      expect(a?.[0]?.ok).toBe(false);
      expect(b?.map((r) => r.ok)).toEqual([true, false]);
    } finally {
      other.close();
      await dead.up();
    }
  });

  it('rejects an aborted round with the abort reason, promptly', async () => {
    const dead = lab.hosts[1]!;
    await dead.down();
    try {
      const controller = new AbortController();
      const t0 = performance.now();
      const round = prober.probe([dead.ip], 10_000, controller.signal);
      setTimeout(() => controller.abort(), 50);
      await expect(round).rejects.toMatchObject({ name: 'AbortError' });
      expect(performance.now() - t0).toBeLessThan(5000);
    } finally {
      await dead.up();
    }
  });

  it('still hears live hosts when 250 dead on-link hosts hold the send buffer', async () => {
    // Requests to on-link hosts that never answer ARP wait ~3 s in the
    // neighbour queue, charged to the socket's send buffer. With the default
    // buffer, ~128 of them block every later send: live hosts time out too.
    const onLink = labSubnet(LABS['probe/icmp on-link'].subnetIndex); // a /24 put on the first host's link; only .1 (us) and nobody else
    const host = lab.hosts[0]!;
    await promisify(execFile)('ip', ['addr', 'add', `${onLink}.1/24`, 'dev', host.hostVeth]);
    try {
      const dead = Array.from({ length: 250 }, (_, i) => `${onLink}.${3 + i}`);
      const results = await prober.probe([...dead, host.ip, '127.0.0.1'], 1000);
      expect(results.slice(0, 250).every((r) => !r.ok)).toBe(true);
      expect(results.slice(250).map((r) => [r.ip, r.ok, r.error])).toEqual([
        [host.ip, true, undefined],
        ['127.0.0.1', true, undefined],
      ]);
    } finally {
      await promisify(execFile)('ip', ['addr', 'del', `${onLink}.1/24`, 'dev', host.hostVeth]).catch(() => undefined);
    }
  });

  describe('when sockets fail', () => {
    /** Real sockets, recorded so a test can break them. */
    function recording(failIpv6?: string): { sockets: Socket[]; families: number[]; open: (family: 4 | 6) => Socket } {
      const sockets: Socket[] = [];
      const families: number[] = [];
      return {
        sockets,
        families,
        open(family) {
          families.push(family);
          if (failIpv6 && family === 6) throw new Error(failIpv6);
          const socket = raw.createSocket({
            protocol: family === 4 ? raw.Protocol.ICMP : raw.Protocol.ICMPv6,
            addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
          });
          sockets.push(socket);
          return socket;
        },
      };
    }

    it('opens IPv4 at once, IPv6 only when needed', async () => {
      const rec = recording();
      const p = createIcmpProber({ logger: silentLogger(), sessionIdBase: 4000, openSocket: rec.open });
      try {
        expect(rec.families).toEqual([4]);
        await p.probe(['127.0.0.1'], 500);
        expect(rec.families).toEqual([4]);
        if (hasIpv6Loopback) {
          expect((await p.probe(['::1'], 500))[0]?.ok).toBe(true);
          expect(rec.families).toEqual([4, 6]);
        }
      } finally {
        p.close();
      }
    });

    it('makes IPv6 targets misses that say why when IPv6 cannot open, and keeps probing IPv4', async () => {
      const rec = recording('Address family not supported by protocol');
      const p = createIcmpProber({ logger: silentLogger(), sessionIdBase: 4100, openSocket: rec.open });
      try {
        for (let round = 0; round < 2; round++) {
          const results = await p.probe(['::1', '127.0.0.1'], 500);
          expect(results.map((r) => [r.ip, r.ok])).toEqual([
            ['::1', false],
            ['127.0.0.1', true],
          ]);
          expect(results[0]?.error).toBe('cannot open a raw ICMPv6 socket: Address family not supported by protocol');
        }
      } finally {
        p.close();
      }
    });

    it('makes IPv6 targets no observation (not misses) when the IPv6 socket cannot open for lack of descriptors', async () => {
      const rec = recording('Too many open files');
      const p = createIcmpProber({ logger: silentLogger(), sessionIdBase: 4150, openSocket: rec.open });
      try {
        const results = await p.probe(['::1', '127.0.0.1'], 500);
        expect(results[0]).toEqual({
          ip: '::1',
          ok: false,
          local: 'EMFILE',
          error: 'no probe sent (EMFILE): cannot open a raw ICMPv6 socket: Too many open files',
        });
        expect(results[1]).toMatchObject({ ip: '127.0.0.1', ok: true });
      } finally {
        p.close();
      }
    });

    it.each([
      // what sendto() throws, the result
      ['Cannot allocate memory', { ok: false, local: 'ENOMEM', error: 'no probe sent (ENOMEM): Cannot allocate memory' }],
      ['Too many open files in system', { ok: false, local: 'ENFILE', error: 'no probe sent (ENFILE): Too many open files in system' }],
      ['Invalid argument', { ok: false, error: 'Invalid argument' }], // a blackhole route: about the target, a miss
      ['Network is unreachable', { ok: false, error: 'Network is unreachable' }],
    ])('a send that fails with "%s" → %j', async (message, outcome) => {
      const rec = recording();
      const p = createIcmpProber({ logger: silentLogger(), sessionIdBase: 4170, openSocket: rec.open });
      try {
        const wrap = rec.sockets[0]!.wrap;
        const send = wrap.send.bind(wrap);
        wrap.send = (buffer, offset, length, address, callback) => {
          if (address === '127.0.0.2') throw new Error(message);
          send(buffer, offset, length, address, callback);
        };
        const results = await p.probe(['127.0.0.2', '127.0.0.1'], 500);
        expect(results[0]).toEqual({ ip: '127.0.0.2', ...outcome });
        expect(results[1]).toMatchObject({ ip: '127.0.0.1', ok: true });
      } finally {
        p.close();
      }
    });

    it('a send that waited for buffer space and still fails with ENOBUFS is no observation', async () => {
      const rec = recording();
      const p = createIcmpProber({ logger: silentLogger(), sessionIdBase: 4180, openSocket: rec.open });
      try {
        const socket = rec.sockets[0]!;
        const wrap = socket.wrap;
        const send = wrap.send.bind(wrap);
        // The direct send finds the buffer full; raw-socket's queued retry fails again.
        wrap.send = (buffer, offset, length, address, callback) => {
          if (address === '127.0.0.2') throw new Error('No buffer space available');
          send(buffer, offset, length, address, callback);
        };
        const results = await p.probe(['127.0.0.2', '127.0.0.1'], 500);
        expect(results[0]).toEqual({ ip: '127.0.0.2', ok: false, local: 'ENOBUFS', error: 'no probe sent (ENOBUFS): No buffer space available' });
        expect(results[1]).toMatchObject({ ip: '127.0.0.1', ok: true });
      } finally {
        p.close();
      }
    });

    it.each(['error', 'close'] as const)('re-opens the socket after a socket %s; requests in flight become misses at once', async (event) => {
      const rec = recording();
      const p = createIcmpProber({ logger: silentLogger(), sessionIdBase: 4200, openSocket: rec.open });
      const dead = lab.hosts[1]!;
      await dead.down();
      try {
        expect((await p.probe(['127.0.0.1', '127.0.0.2'], 500)).every((r) => r.ok)).toBe(true);
        const first = rec.sockets[0]!;

        const t0 = performance.now();
        const inFlight = p.probe([dead.ip], 10_000);
        await new Promise((resolve) => setTimeout(resolve, 50));
        if (event === 'error') first.emit('error', new Error('recv failed'));
        else first.close(); // the socket closes under the prober's feet
        const [r] = await inFlight;
        expect(r).toMatchObject({ ip: dead.ip, ok: false });
        expect(r?.error).toMatch(event === 'error' ? /ICMP socket error: recv failed/ : /ICMP socket closed/);
        expect(performance.now() - t0).toBeLessThan(5000); // not the 10 s timeout

        const results = await p.probe(['127.0.0.1', '127.0.0.2'], 500);
        expect(results.map((x) => x.ok)).toEqual([true, true]);
        expect(rec.sockets).toHaveLength(2);
      } finally {
        p.close();
        await dead.up();
      }
    });
  });

  it('is what createProber gives for "ip"', async () => {
    prober.close(); // one default-identifier session per process at a time
    const p = createProber('ip', { logger: silentLogger(), port: 80 });
    try {
      expect(p.kind).toBe('ip');
      expect((await p.probe(['127.0.0.1'], 500))[0]?.ok).toBe(true);
    } finally {
      p.close();
      prober = createIcmpProber({ logger: silentLogger() });
    }
  });

  it('refuses to probe once closed', async () => {
    const p = createIcmpProber({ logger: silentLogger(), sessionIdBase: process.pid + 2000 });
    expect((await p.probe(['127.0.0.1'], 1000))[0]?.ok).toBe(true);
    p.close();
    await expect(p.probe(['127.0.0.1'], 1000)).rejects.toThrow(/closed/);
  });
});
