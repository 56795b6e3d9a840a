/**
 * ICMP echo packets, pure: building requests and reading what a raw socket
 * receives. No I/O here (see icmp.ts).
 *
 * A request carries, besides the identifier and sequence number, an 8-byte
 * payload: a token fixed per prober and a 32-bit send counter. An echo reply
 * copies the payload back, so a reply is taken only when identifier,
 * sequence, token, counter and source address all match the request: a
 * reply meant for another process, a late reply to an earlier request that
 * had the same sequence number, or an answer from another address is never
 * counted as this target being up.
 */

import { formatIpv4, formatIpv6, type Family } from '../net/ip.js';

export type { Family };

/** ICMP message types per family (RFC 792, RFC 4443). */
const TYPES = {
  4: { echoRequest: 8, echoReply: 0, unreachable: 3, timeExceeded: 11 },
  6: { echoRequest: 128, echoReply: 129, unreachable: 1, timeExceeded: 3 },
} as const satisfies Record<Family, Record<string, number>>;

const HEADER_BYTES = 8;
const PAYLOAD_BYTES = 8;
export const ECHO_BYTES = HEADER_BYTES + PAYLOAD_BYTES;

/** The RFC 1071 Internet checksum of `buf[start, end)`. */
export function internetChecksum(buf: Uint8Array, start = 0, end = buf.length): number {
  let sum = 0;
  let i = start;
  for (; i + 1 < end; i += 2) sum += (buf[i]! << 8) | buf[i + 1]!;
  if (i < end) sum += buf[i]! << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/**
 * Writes an echo request into `buf` (at least {@link ECHO_BYTES} long) and
 * returns it. IPv4 needs the checksum here; for ICMPv6 the kernel computes
 * it (it covers a pseudo-header with addresses only the kernel knows), so
 * the field is left zero.
 */
export function writeEchoRequest(buf: Buffer, family: Family, id: number, seq: number, token: number, counter: number): Buffer {
  buf[0] = TYPES[family].echoRequest;
  buf[1] = 0;
  buf.writeUInt16BE(0, 2);
  buf.writeUInt16BE(id & 0xffff, 4);
  buf.writeUInt16BE(seq & 0xffff, 6);
  buf.writeUInt32BE(token >>> 0, 8);
  buf.writeUInt32BE(counter >>> 0, 12);
  if (family === 4) buf.writeUInt16BE(internetChecksum(buf, 0, ECHO_BYTES), 2);
  return buf;
}

/** What a received packet means for our requests. */
export type Received =
  | { readonly kind: 'reply'; readonly id: number; readonly seq: number; readonly token: number; readonly counter: number }
  /** An ICMP error about one of our requests: `to` is the address the request was sent to. */
  | { readonly kind: 'error'; readonly id: number; readonly seq: number; readonly to: string; readonly reason: string };

const errorNames = (f: Family): Record<number, string> => ({ [TYPES[f].unreachable]: 'destination unreachable', [TYPES[f].timeExceeded]: 'time exceeded' });
const V4_ERRORS = errorNames(4);
const V6_ERRORS = errorNames(6);

/**
 * Reads one packet as a raw socket of `family` delivers it: IPv4 with its IP
 * header, ICMPv6 without. Returns undefined for anything that is not an echo
 * reply or an ICMP error quoting an echo request (requests, including our
 * own looped back on lo, other ICMP types, truncated or malformed packets).
 * Never throws.
 */
export function parsePacket(family: Family, buf: Uint8Array): Received | undefined {
  let at = 0;
  if (family === 4) {
    if (buf.length < 20 || buf[0]! >> 4 !== 4) return undefined;
    at = (buf[0]! & 0x0f) * 4;
    if (at < 20) return undefined;
  }
  if (buf.length < at + HEADER_BYTES) return undefined;
  const type = buf[at]!;
  const replyType = TYPES[family].echoReply;
  if (type === replyType) {
    if (buf.length < at + ECHO_BYTES) return undefined;
    return {
      kind: 'reply',
      id: u16(buf, at + 4),
      seq: u16(buf, at + 6),
      token: u32(buf, at + 8),
      counter: u32(buf, at + 12),
    };
  }
  const reason = (family === 4 ? V4_ERRORS : V6_ERRORS)[type];
  if (!reason) return undefined;
  // The error quotes the offending packet: its IP header, then (at least) the
  // first 8 bytes of our ICMP header.
  const quoted = at + HEADER_BYTES;
  if (family === 4) {
    if (buf.length < quoted + 20 || buf[quoted]! >> 4 !== 4 || buf[quoted + 9] !== 1) return undefined;
    const inner = quoted + (buf[quoted]! & 0x0f) * 4;
    if (inner < quoted + 20 || buf.length < inner + HEADER_BYTES || buf[inner] !== TYPES[4].echoRequest) return undefined;
    return { kind: 'error', id: u16(buf, inner + 4), seq: u16(buf, inner + 6), to: formatIpv4(u32(buf, quoted + 16)), reason };
  }
  // IPv6 header: 40 bytes, next header at 6, destination at 24. Extension
  // headers between it and ICMPv6 are not followed: such errors are ignored
  // and the request times out instead.
  if (buf.length < quoted + 40 + HEADER_BYTES || buf[quoted]! >> 4 !== 6 || buf[quoted + 6] !== 58) return undefined;
  const inner = quoted + 40;
  if (buf[inner] !== TYPES[6].echoRequest) return undefined;
  return { kind: 'error', id: u16(buf, inner + 4), seq: u16(buf, inner + 6), to: formatIpv6(buf.subarray(quoted + 24, quoted + 40)), reason };
}

function u16(buf: Uint8Array, at: number): number {
  return (buf[at]! << 8) | buf[at + 1]!;
}

function u32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}
