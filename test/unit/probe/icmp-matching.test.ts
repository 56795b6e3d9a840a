import { EventEmitter } from 'node:events';
import type { Socket, SocketWrap } from 'raw-socket';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { internetChecksum } from '../../../src/probe/icmp-packet.js';
import { createIcmpProber, icmpSetupError, missingSocketCalls } from '../../../src/probe/icmp.js';
import { ProberSetupError } from '../../../src/probe/types.js';
import raw from 'raw-socket';

/**
 * The prober's reply matching, without the network: a fake raw socket
 * records what is sent and delivers the packets a test makes up (replies,
 * forgeries, ICMP errors), the way raw-socket would.
 */
class FakeSocket extends EventEmitter {
  readonly buffer = Buffer.alloc(4096);
  readonly sent: { packet: Buffer; to: string; via: 'direct' | 'queue' }[] = [];
  /** Packets waiting to be read by `wrap.recv`. */
  readonly inbox: { packet: Buffer; from: string }[] = [];
  /** Makes the next direct sends throw this (a text as raw-socket throws, or an error with a code). */
  failSends: (string | Error)[] = [];
  recvCalls = 0;
  readonly wrap: SocketWrap = {
    send: (buf, offset, length, address, cb) => {
      const failure = this.failSends.shift();
      if (failure) throw typeof failure === 'string' ? new Error(failure) : failure;
      this.sent.push({ packet: Buffer.from(buf.subarray(offset, offset + length)), to: address, via: 'direct' });
      cb(length);
    },
    recv: (buf, cb) => {
      this.recvCalls++;
      const next = this.inbox.shift();
      if (!next) throw new Error('Resource temporarily unavailable');
      next.packet.copy(buf);
      cb(buf, next.packet.length, next.from);
    },
  };

  send(buf: Buffer, offset: number, length: number, address: string, after: (error: Error | null, bytes: number) => void): this {
    setImmediate(() => {
      this.sent.push({ packet: Buffer.from(buf.subarray(offset, offset + length)), to: address, via: 'queue' });
      after(null, length);
    });
    return this;
  }

  setOption(): void {}

  close(): this {
    this.emit('close');
    return this;
  }

  /** Delivers packets as raw-socket does: one 'message' per readable event, the rest left for `recv`. */
  deliver(...packets: { packet: Buffer; from: string }[]): void {
    const [first, ...rest] = packets;
    if (!first) return;
    this.inbox.push(...rest);
    this.emit('message', first.packet, first.from);
  }
}

function ipv4Header(src: string, dst: string, payloadLength: number): Buffer {
  const h = Buffer.alloc(20);
  h[0] = 0x45;
  h.writeUInt16BE(20 + payloadLength, 2);
  h[8] = 64;
  h[9] = 1;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  return h;
}

/** The echo reply the target would send for `request` (an ICMP message), as an IPv4 raw socket reads it. */
function reply4(request: Buffer, from: string, tweak?: (icmp: Buffer) => void): { packet: Buffer; from: string } {
  const icmp = Buffer.from(request);
  icmp[0] = 0;
  tweak?.(icmp);
  icmp.writeUInt16BE(0, 2);
  icmp.writeUInt16BE(internetChecksum(icmp), 2);
  return { packet: Buffer.concat([ipv4Header(from, '127.0.0.1', icmp.length), icmp]), from };
}

function unreachable4(request: Buffer, to: string, router: string): { packet: Buffer; from: string } {
  const quoted = Buffer.concat([ipv4Header('198.18.0.2', to, request.length), request]);
  const icmp = Buffer.concat([Buffer.from('0301000000000000', 'hex'), quoted]);
  return { packet: Buffer.concat([ipv4Header(router, '198.18.0.2', icmp.length), icmp]), from: router };
}

function setup() {
  const sockets: Record<number, FakeSocket> = {};
  const prober = createIcmpProber({
    logger: silentLogger(),
    sessionIdBase: 777,
    openSocket: (family) => (sockets[family] = new FakeSocket()) as unknown as Socket,
  });
  return { prober, v4: () => sockets[4]!, v6: () => sockets[6] };
}

/** Waits until a round's requests are on the (fake) wire; returns the round (wrapped, or await would wait for it). */
async function started<T>(round: Promise<T>): Promise<{ round: Promise<T> }> {
  await new Promise((r) => setImmediate(r));
  return { round };
}

describe('ICMP reply matching', () => {
  it('an echo reply from the target with everything matching: up, with a round-trip time', async () => {
    const { prober, v4 } = setup();
    const { round } = await started(prober.probe(['198.18.1.1'], 200));
    const [req] = v4().sent;
    expect(req?.to).toBe('198.18.1.1');
    expect(req?.packet.readUInt16BE(4)).toBe(777); // the identifier
    v4().deliver(reply4(req!.packet, '198.18.1.1'));
    const [r] = await round;
    expect(r).toMatchObject({ ip: '198.18.1.1', ok: true });
    expect(r?.rttMs).toBeGreaterThanOrEqual(0);
  });

  it.each<[string, (icmp: Buffer) => void, string?]>([
    ['another identifier (another process pinging)', (icmp) => icmp.writeUInt16BE(778, 4)],
    ['another sequence number', (icmp) => icmp.writeUInt16BE(icmp.readUInt16BE(6) + 1, 6)],
    ['another token (another prober, or a forgery)', (icmp) => icmp.writeUInt32BE((icmp.readUInt32BE(8) ^ 1) >>> 0, 8)],
    ['another send counter (a late reply to an earlier request with this sequence number)', (icmp) => icmp.writeUInt32BE(icmp.readUInt32BE(12) + 65536, 12)],
    ['the right packet from another address', () => undefined, '198.18.1.2'],
    ['an echo request instead of a reply', (icmp) => (icmp[0] = 8)],
  ])('ignores a reply with %s: the target stays a miss', async (_name, tweak, from) => {
    const { prober, v4 } = setup();
    const { round } = await started(prober.probe(['198.18.1.1'], 100));
    v4().deliver(reply4(v4().sent[0]!.packet, from ?? '198.18.1.1', tweak));
    const [r] = await round;
    expect(r).toMatchObject({ ip: '198.18.1.1', ok: false });
    expect(r?.error).toMatch(/^timeout/);
  });

  it('a reply after the round ended counts for nothing, and not for the next round', async () => {
    const { prober, v4 } = setup();
    const first = await prober.probe(['198.18.1.1'], 30);
    expect(first[0]?.ok).toBe(false);
    const late = v4().sent[0]!.packet;
    const { round: second } = await started(prober.probe(['198.18.1.1'], 100));
    v4().deliver(reply4(late, '198.18.1.1'));
    expect((await second)[0]?.ok).toBe(false);
  });

  it('an ICMP destination unreachable quoting the request: a miss at once, saying who sent it', async () => {
    const { prober, v4 } = setup();
    const t0 = Date.now();
    const { round } = await started(prober.probe(['198.18.1.1'], 5_000));
    v4().deliver(unreachable4(v4().sent[0]!.packet, '198.18.1.1', '198.18.0.1'));
    const [r] = await round;
    expect(r).toEqual({ ip: '198.18.1.1', ok: false, error: 'destination unreachable (from 198.18.0.1)' });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('an ICMP error quoting a request to another address is ignored', async () => {
    const { prober, v4 } = setup();
    const { round } = await started(prober.probe(['198.18.1.1'], 100));
    v4().deliver(unreachable4(v4().sent[0]!.packet, '198.18.1.9', '198.18.0.1'));
    expect((await round)[0]?.error).toMatch(/^timeout/);
  });

  it('reads every waiting reply on one readable event (raw-socket reads one)', async () => {
    const { prober, v4 } = setup();
    const ips = Array.from({ length: 50 }, (_, i) => `198.18.2.${i + 1}`);
    const { round } = await started(prober.probe(ips, 1_000));
    v4().deliver(...v4().sent.map((s) => reply4(s.packet, s.to)));
    expect(v4().inbox).toHaveLength(0);
    expect((await round).every((r) => r.ok)).toBe(true);
    expect(v4().recvCalls).toBe(50); // 49 replies, then the empty read that ends the drain
  });

  it('a full send buffer: the packet and the ones after it wait in order, and still count', async () => {
    const { prober, v4 } = setup();
    v4().failSends = ['', 'Resource temporarily unavailable'].filter(Boolean);
    const ips = ['198.18.3.1', '198.18.3.2', '198.18.3.3'];
    const { round } = await started(prober.probe(ips, 1_000));
    expect(v4().sent.map((s) => [s.to, s.via])).toEqual([
      ['198.18.3.1', 'queue'],
      ['198.18.3.2', 'queue'],
      ['198.18.3.3', 'queue'],
    ]);
    v4().deliver(...v4().sent.map((s) => reply4(s.packet, s.to)));
    expect((await round).map((r) => r.ok)).toEqual([true, true, true]);
  });

  it('a send that fails otherwise (no route, blackhole): a miss at once with the reason', async () => {
    const { prober, v4 } = setup();
    v4().failSends = ['Invalid argument'];
    const t0 = Date.now();
    const [r] = await prober.probe(['198.18.4.1'], 5_000);
    expect(r).toEqual({ ip: '198.18.4.1', ok: false, error: 'Invalid argument' });
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it('IPv6: matches the reply source in canonical form whatever form the target was written in', async () => {
    const { prober, v6 } = setup();
    const { round } = await started(prober.probe(['2001:DB8:0:0:0:0:0:1'], 200));
    const req = v6()!.sent[0]!;
    expect(req.packet[0]).toBe(128);
    const icmp = Buffer.from(req.packet);
    icmp[0] = 129;
    v6()!.deliver({ packet: icmp, from: '2001:db8::1' });
    expect((await round)[0]).toMatchObject({ ok: true });
  });

  it('sequence numbers advance across rounds; each request carries a new counter', async () => {
    const { prober, v4 } = setup();
    await prober.probe(['198.18.5.1', '198.18.5.2'], 10);
    await prober.probe(['198.18.5.1'], 10);
    const seqs = v4().sent.map((s) => s.packet.readUInt16BE(6));
    const counters = v4().sent.map((s) => s.packet.readUInt32BE(12));
    expect(seqs).toEqual([0, 1, 2]);
    expect(counters).toEqual([0, 1, 2]);
    expect(new Set(v4().sent.map((s) => s.packet.readUInt32BE(8))).size).toBe(1); // one token per prober
  });
});

describe('ICMP engine: send errors classified by code when there is one', () => {
  const withCode = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  it.each<[string, Error, 'queue' | 'miss']>([
    ['EAGAIN with any text: wait for the socket to drain', withCode('EAGAIN', 'send failed'), 'queue'],
    ['ENOBUFS with any text: wait for the socket to drain', withCode('ENOBUFS', 'send failed'), 'queue'],
    ['a code that is not backpressure wins over a backpressure text', withCode('EINVAL', 'Resource temporarily unavailable'), 'miss'],
  ])('%s', async (_name, error, want) => {
    const { prober, v4 } = setup();
    v4().failSends = [error];
    const { round } = await started(prober.probe(['198.18.5.1'], 300));
    if (want === 'queue') {
      expect(v4().sent.map((s) => s.via)).toEqual(['queue']);
      v4().deliver(reply4(v4().sent[0]!.packet, '198.18.5.1'));
      expect((await round)[0]).toMatchObject({ ok: true });
    } else {
      expect(v4().sent).toEqual([]);
      expect((await round)[0]).toMatchObject({ ok: false, error: error.message });
    }
    prober.close();
  });

  it.each<[string, unknown, RegExp]>([
    ['EPERM by code', withCode('EPERM', 'socket failed'), /needs root or CAP_NET_RAW/],
    [
      'a code that is not a permission problem wins over the text',
      withCode('EMFILE', 'Operation not permitted'),
      /^cannot open a raw ICMP socket \(Operation not permitted\); probe with --type tcp/,
    ],
    ['raw-socket text, no code (the only way raw-socket reports it)', new Error('Operation not permitted'), /needs root or CAP_NET_RAW/],
  ])('setup error: %s', (_name, error, want) => {
    expect(icmpSetupError(error).message).toMatch(want);
  });
});

describe('ICMP engine: the raw-socket calls it relies on are checked at open', () => {
  it('a fake with every call passes', () => {
    expect(missingSocketCalls(new FakeSocket())).toEqual([]);
  });

  it.each<[string, (s: FakeSocket) => void, string[]]>([
    ['no wrap.recv', (s) => delete (s.wrap as Partial<SocketWrap>).recv, ['wrap.recv']],
    ['no wrap at all', (s) => Object.defineProperty(s, 'wrap', { value: undefined }), ['wrap.send', 'wrap.recv']],
    [
      'no setOption and no buffer',
      (s) => {
        Object.defineProperty(s, 'setOption', { value: undefined });
        Object.defineProperty(s, 'buffer', { value: undefined });
      },
      ['setOption', 'buffer'],
    ],
  ])('%s: a ProberSetupError at start-up that names what is missing; the socket is closed', (_name, breakIt, missing) => {
    const socket = new FakeSocket();
    breakIt(socket);
    let closed = false;
    socket.on('close', () => (closed = true));
    expect(missingSocketCalls(socket)).toEqual(missing);
    let thrown: unknown;
    try {
      createIcmpProber({ logger: silentLogger(), sessionIdBase: 900, openSocket: () => socket as unknown as Socket });
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ProberSetupError);
    expect((thrown as Error).message).toContain(`the raw ICMPv4 socket lacks ${missing.join(', ')}`);
    expect(closed).toBe(true);
  });

  let real: Socket | undefined;
  try {
    real = raw.createSocket({ protocol: raw.Protocol.ICMP, addressFamily: raw.AddressFamily.IPv4 });
  } catch {
    real = undefined; // no CAP_NET_RAW here: only the fakes are checked
  }
  it.skipIf(real === undefined)('the installed raw-socket has every call', () => {
    try {
      expect(missingSocketCalls(real)).toEqual([]);
    } finally {
      real?.close();
    }
  });
});
