import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ECHO_BYTES, internetChecksum, parsePacket, writeEchoRequest } from '../../../src/probe/icmp-packet.js';

/** An IPv4 header (no options unless `ihl` > 5) in front of `payload`; protocol ICMP. */
function ipv4(src: string, dst: string, payload: Uint8Array, ihl = 5): Buffer {
  const h = Buffer.alloc(ihl * 4);
  h[0] = 0x40 | ihl;
  h.writeUInt16BE(h.length + payload.length, 2);
  h[8] = 64;
  h[9] = 1;
  Buffer.from(src.split('.').map(Number)).copy(h, 12);
  Buffer.from(dst.split('.').map(Number)).copy(h, 16);
  return Buffer.concat([h, payload]);
}

/** An IPv6 header (next header ICMPv6) in front of `payload`. */
function ipv6(dst: Uint8Array, payload: Uint8Array, nextHeader = 58): Buffer {
  const h = Buffer.alloc(40);
  h[0] = 0x60;
  h.writeUInt16BE(payload.length, 4);
  h[6] = nextHeader;
  h[7] = 64;
  Buffer.from(dst).copy(h, 24);
  return Buffer.concat([h, payload]);
}

function request(family: 4 | 6, id = 0x1234, seq = 7, token = 0xdeadbeef, counter = 42): Buffer {
  return writeEchoRequest(Buffer.alloc(ECHO_BYTES), family, id, seq, token, counter);
}

/** The echo reply a host sends back: type changed, same rest. */
function replyTo(req: Buffer, family: 4 | 6): Buffer {
  const r = Buffer.from(req);
  r[0] = family === 4 ? 0 : 129;
  r.writeUInt16BE(0, 2);
  if (family === 4) r.writeUInt16BE(internetChecksum(r), 2);
  return r;
}

/** An ICMP error (type/code) quoting `quoted` (an IP packet), as a router sends it. */
function icmpError(type: number, quoted: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h[0] = type;
  return Buffer.concat([h, quoted]);
}

const V6_DB8_1 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

describe('internetChecksum (RFC 1071)', () => {
  it.each([
    // the worked example of RFC 1071 §3: 0x00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2, complement 0x220d
    [[0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7], 0x220d],
    [[], 0xffff],
    [[0xff, 0xff], 0x0000],
    // odd length: the last byte is the high half of a zero-padded word
    [[0x01], 0xfeff],
    [[0x08, 0x00, 0x00, 0x00, 0x12, 0x34, 0x00, 0x07], 0xe5c4],
  ])('%j → %s', (bytes, sum) => {
    expect(internetChecksum(Uint8Array.from(bytes))).toBe(sum);
  });

  it('a packet with its checksum written sums to zero (the receiver check)', () => {
    for (let i = 0; i < 200; i++) {
      const p = writeEchoRequest(Buffer.alloc(ECHO_BYTES), 4, i * 331, i * 97, i * 7919, i * 104729);
      expect(internetChecksum(p)).toBe(0);
    }
  });
});

describe('writeEchoRequest', () => {
  it('IPv4: type 8, code 0, checksum, identifier, sequence, token, counter (big-endian)', () => {
    // checksum by hand: 0800+1234+0007+dead+beef+002a = 0x1b801 → 0xb802 → ~ = 0x47fd
    expect(request(4).toString('hex')).toBe('080047fd12340007deadbeef0000002a');
  });

  it('IPv6: type 128 and a zero checksum (the kernel computes ICMPv6 checksums)', () => {
    expect(request(6).toString('hex')).toBe('8000000012340007deadbeef0000002a');
  });

  it('wraps identifier and sequence to 16 bits, token and counter to 32', () => {
    const p = writeEchoRequest(Buffer.alloc(ECHO_BYTES), 6, 0x1_0001, 0x1_0002, 2 ** 32 + 3, 2 ** 32 + 4);
    expect(p.subarray(4).toString('hex')).toBe('000100020000000300000004');
  });
});

describe('parsePacket', () => {
  const req4 = request(4);
  const req6 = request(6);
  const reply = { kind: 'reply', id: 0x1234, seq: 7, token: 0xdeadbeef, counter: 42 };

  it.each<[string, 4 | 6, Buffer, unknown]>([
    ['IPv4 echo reply behind a 20-byte IP header', 4, ipv4('127.0.0.2', '127.0.0.1', replyTo(req4, 4)), reply],
    ['IPv4 echo reply behind a header with options (IHL 6)', 4, ipv4('127.0.0.2', '127.0.0.1', replyTo(req4, 4), 6), reply],
    ['ICMPv6 echo reply (no IP header on a raw ICMPv6 socket)', 6, replyTo(req6, 6), reply],
    ['our own IPv4 request looped back on lo: not a reply', 4, ipv4('127.0.0.1', '127.0.0.2', req4), undefined],
    ['our own ICMPv6 request: not a reply', 6, req6, undefined],
    ['an IPv4 reply without the payload: truncated', 4, ipv4('127.0.0.2', '127.0.0.1', replyTo(req4, 4).subarray(0, 8)), undefined],
    ['an ICMPv6 reply without the payload', 6, replyTo(req6, 6).subarray(0, 12), undefined],
    ['fewer bytes than an IP header', 4, Buffer.alloc(19), undefined],
    [
      'not IPv4 (version 6 in an IPv4 socket)',
      4,
      (() => {
        const b = ipv4('1.2.3.4', '5.6.7.8', replyTo(req4, 4));
        b[0] = 0x65;
        return b;
      })(),
      undefined,
    ],
    [
      'IHL below 5',
      4,
      (() => {
        const b = ipv4('1.2.3.4', '5.6.7.8', replyTo(req4, 4));
        b[0] = 0x44;
        return b;
      })(),
      undefined,
    ],
    [
      'IHL pointing past the end',
      4,
      (() => {
        const b = ipv4('1.2.3.4', '5.6.7.8', Buffer.alloc(0));
        b[0] = 0x4f;
        return b;
      })(),
      undefined,
    ],
    ['an IPv4 router advertisement (type 9)', 4, ipv4('198.18.0.1', '198.18.0.2', Buffer.from('0900000000000000', 'hex')), undefined],
    ['an ICMPv6 neighbour solicitation (type 135)', 6, Buffer.from('8700000000000000' + '00'.repeat(16), 'hex'), undefined],
    [
      'IPv4 destination unreachable quoting our request',
      4,
      ipv4('198.18.0.1', '198.18.0.2', icmpError(3, ipv4('198.18.0.2', '198.18.9.9', req4))),
      { kind: 'error', id: 0x1234, seq: 7, to: '198.18.9.9', reason: 'destination unreachable' },
    ],
    [
      'IPv4 time exceeded quoting only the first 8 bytes of our request (RFC 792 minimum)',
      4,
      ipv4('198.18.0.1', '198.18.0.2', icmpError(11, ipv4('198.18.0.2', '198.18.9.9', req4.subarray(0, 8)))),
      { kind: 'error', id: 0x1234, seq: 7, to: '198.18.9.9', reason: 'time exceeded' },
    ],
    [
      'IPv4 unreachable quoting a UDP datagram: not ours',
      4,
      ipv4(
        '198.18.0.1',
        '198.18.0.2',
        icmpError(
          3,
          (() => {
            const q = ipv4('198.18.0.2', '198.18.9.9', req4);
            q[9] = 17;
            return q;
          })(),
        ),
      ),
      undefined,
    ],
    [
      'IPv4 unreachable quoting an echo reply: not a request of ours',
      4,
      ipv4('198.18.0.1', '198.18.0.2', icmpError(3, ipv4('198.18.0.2', '198.18.9.9', replyTo(req4, 4)))),
      undefined,
    ],
    [
      'IPv4 unreachable cut inside the quoted header',
      4,
      ipv4('198.18.0.1', '198.18.0.2', icmpError(3, ipv4('198.18.0.2', '198.18.9.9', req4).subarray(0, 24))),
      undefined,
    ],
    [
      'ICMPv6 destination unreachable quoting our request',
      6,
      icmpError(1, ipv6(V6_DB8_1, req6)),
      { kind: 'error', id: 0x1234, seq: 7, to: '2001:db8::1', reason: 'destination unreachable' },
    ],
    [
      'ICMPv6 time exceeded quoting our request',
      6,
      icmpError(3, ipv6(V6_DB8_1, req6)),
      { kind: 'error', id: 0x1234, seq: 7, to: '2001:db8::1', reason: 'time exceeded' },
    ],
    ['ICMPv6 error quoting a packet with an extension header: ignored', 6, icmpError(1, ipv6(V6_DB8_1, req6, 0)), undefined],
    ['ICMPv6 error cut short', 6, icmpError(1, ipv6(V6_DB8_1, req6)).subarray(0, 50), undefined],
  ])('%s', (_name, family, packet, expected) => {
    expect(parsePacket(family, packet)).toEqual(expected);
  });

  it('never throws on random bytes, of any length, for either family', () => {
    for (let i = 0; i < 20_000; i++) {
      const b = randomBytes(i % 120);
      if (i % 3 === 0 && b.length > 0) b[0] = 0x45; // often a plausible IPv4 header
      for (const family of [4, 6] as const) {
        const r = parsePacket(family, b);
        if (r !== undefined) expect(['reply', 'error']).toContain(r.kind);
      }
    }
  });
});
