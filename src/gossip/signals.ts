import { unwrapPayload, wrapPayload } from './envelope.js';
import { compareBytes, Reader, Writer } from './codec.js';
import type { Keyring } from './keyring.js';
import type { DropReason, Signal } from './types.js';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_SKEW_MS, type ValidationContext } from './validate.js';
import { formatIpv4, formatIpv6, parseIp } from '../net/ip.js';

/**
 * Signals: gossip messages that are not votes (see {@link Signal}), on a
 * topic of their own so agents without them never receive one.
 *
 * Layout (integers big-endian; `varint` as in codec.ts):
 *
 * | field    | size   | notes                                                  |
 * |----------|--------|--------------------------------------------------------|
 * | version  | 1      | {@link SIGNAL_CODEC_VERSION}                           |
 * | kind     | 1      | {@link SIGNAL_KINDS}; unknown kinds are ignored, not   |
 * |          |        | malformed: their body is opaque to this version        |
 * | seq      | 8      | the sender's message counter (shared with its batches) |
 * | sentAt   | 8      | ms since epoch                                         |
 * | body     | rest   | per kind                                               |
 *
 * Body of `suspect` (kind 1): an IPv4 count (varint) and the addresses
 * ascending as in codec.ts (first = value, then difference − 1), then an
 * IPv6 count and raw 16-byte addresses, strictly ascending; nothing after.
 *
 * Why a kind byte and not flags: a receiver must be able to tell "a kind I
 * do not know yet" (a newer agent: ignore it, do not punish the sender)
 * from "broken bytes" (reject). The header is fixed for every kind, so
 * replay and clock checks apply to unknown kinds too.
 */
export const SIGNAL_CODEC_VERSION = 1;

/** Kind numbers on the wire. Never reuse a number. */
const SIGNAL_KINDS = { suspect: 1 } as const;

const HEADER_BYTES = 1 + 1 + 8 + 8;
const MAX_U32 = 0xffff_ffff;

/** A decoded signal, or one of a kind this version does not know (its code only). */
export type DecodedSignal =
  { readonly seq: number; readonly sentAt: number; readonly signal: Signal } | { readonly seq: number; readonly sentAt: number; readonly unknownKind: number };

export function encodeSignal(seq: number, sentAt: number, signal: Signal): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isSafeInteger(sentAt) || sentAt < 0) {
    throw new RangeError('encodeSignal: seq and sentAt must be non-negative safe integers');
  }
  const v4set = new Set<number>();
  const v6map = new Map<string, Uint8Array>();
  for (const ip of signal.ips) {
    const p = parseIp(ip);
    if (p === undefined) throw new TypeError(`encodeSignal: not an IP address: ${ip}`);
    if (p.family === 4) v4set.add(p.v4);
    else v6map.set(Buffer.from(p.v6 as Uint8Array).toString('hex'), p.v6 as Uint8Array);
  }
  const v4 = [...v4set];
  const v6 = [...v6map.values()];
  v4.sort((a, b) => a - b);
  v6.sort(compareBytes);
  const w = new Writer(HEADER_BYTES + 10 + v4.length * 5 + v6.length * 16);
  w.u8(SIGNAL_CODEC_VERSION);
  w.u8(SIGNAL_KINDS[signal.kind]);
  w.u64(seq);
  w.u64(sentAt);
  w.varint(v4.length);
  let prev = -1;
  for (const a of v4) {
    w.varint(prev < 0 ? a : a - prev - 1);
    prev = a;
  }
  w.varint(v6.length);
  for (const a of v6) w.bytes(a);
  return w.result();
}

/** Decodes a signal; undefined for anything malformed. Never throws. */
export function decodeSignal(bytes: Uint8Array): DecodedSignal | undefined {
  try {
    if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES) return undefined;
    const r = new Reader(bytes);
    if (r.u8() !== SIGNAL_CODEC_VERSION) return undefined;
    const kind = r.u8();
    const seq = r.u64();
    const sentAt = r.u64();
    if (kind === undefined || seq === undefined || sentAt === undefined) return undefined;
    if (kind !== SIGNAL_KINDS.suspect) return { seq, sentAt, unknownKind: kind };
    const ips: string[] = [];
    const n4 = r.varint();
    if (n4 === undefined || n4 > r.remaining) return undefined;
    let prev = -1;
    for (let i = 0; i < n4; i++) {
      const d = r.varint();
      if (d === undefined) return undefined;
      const a = prev < 0 ? d : prev + 1 + d;
      if (a > MAX_U32) return undefined;
      ips.push(formatIpv4(a));
      prev = a;
    }
    const n6 = r.varint();
    if (n6 === undefined || n6 * 16 > r.remaining) return undefined;
    let last: Uint8Array | undefined;
    for (let i = 0; i < n6; i++) {
      const a = r.bytes(16);
      if (a === undefined || (last !== undefined && compareBytes(last, a) >= 0)) return undefined;
      ips.push(formatIpv6(a));
      last = a;
    }
    if (r.remaining !== 0) return undefined;
    return { seq, sentAt, signal: { kind: 'suspect', ips } };
  } catch {
    return undefined;
  }
}

/** Encode and seal (or prefix) a signal for the signal topic. */
export function wrapSignal(seq: number, sentAt: number, signal: Signal, keyring: Keyring | undefined, topic: string): Uint8Array {
  return wrapPayload(encodeSignal(seq, sentAt, signal), keyring, topic);
}

export type SignalValidation = { readonly ok: true; readonly signal: Signal; readonly sentAt: number } | { readonly ok: false; readonly reason: DropReason };

/**
 * Decide whether a received signal is accepted: the checks of
 * validateMessage (size, sender, envelope, decoding, clock, replay — with
 * the signal topic's own replay guard), then the kind: an unknown one is
 * dropped as `unknown-kind`, which gossipsub treats as Ignore (not the
 * sender's fault). IPs this agent does not manage are left out; a signal
 * about none of them is `unknown-ip`. Never throws.
 */
export function validateSignal(from: string, data: Uint8Array, now: number, ctx: ValidationContext): SignalValidation {
  try {
    if (data.length > (ctx.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES)) return { ok: false, reason: 'oversized' };
    if (!ctx.isAllowedSender(from)) return { ok: false, reason: 'unknown-sender' };
    const opened = unwrapPayload(data, ctx.keyring, ctx.topic);
    if (!opened.ok) return opened;
    const d = decodeSignal(opened.plaintext);
    if (d === undefined) return { ok: false, reason: 'malformed' };
    const skew = ctx.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
    if (d.sentAt < now - skew) return { ok: false, reason: 'too-old' };
    if (d.sentAt > now + skew) return { ok: false, reason: 'too-new' };
    if (!ctx.replay.isFresh(from, d.seq)) return { ok: false, reason: 'replayed' };
    ctx.replay.record(from, d.seq);
    if (!('signal' in d)) return { ok: false, reason: 'unknown-kind' };
    const ips = d.signal.ips.filter((ip) => ctx.isKnownIp(ip));
    if (ips.length === 0 && d.signal.ips.length > 0) return { ok: false, reason: 'unknown-ip' };
    return { ok: true, signal: { ...d.signal, ips }, sentAt: d.sentAt };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}
