import { unwrapPayload, wrapPayload } from './envelope.js';
import { compareBytes, Reader, Writer } from './codec.js';
import type { Keyring } from './keyring.js';
import type { DropReason, Signal } from './types.js';
import { DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_MAX_SKEW_MS, type ValidationContext } from './validate.js';
import { formatIpv4, formatIpv6, parseIp } from '../net/ip.js';
import { entryProblem } from '../drain/state.js';
import type { DrainEntry } from '../drain/types.js';

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
 * Body of `drain` (kind 2): a flags byte (bit 0: relay, the rest 0), an
 * entry count (varint), then per entry:
 *
 * | field   | size     | notes                                                 |
 * |---------|----------|-------------------------------------------------------|
 * | family  | 1        | 4 or 6, then the 4 or 16 address bytes                |
 * | flags   | 1        | bit 0 drained, bit 1 until follows, bit 2 maintenance |
 * |         |          | (else operator); the other bits 0                     |
 * | at      | 8        | ms since epoch                                        |
 * | until   | 8        | only with bit 1; after `at`                           |
 * | origin  | varint+n | UTF-8, 1 to 128 characters                            |
 * | by      | varint+n | UTF-8, at most 64 characters                          |
 * | reason  | varint+n | UTF-8, at most 200 characters                         |
 *
 * Each IP once; every field as src/drain/state.ts entryProblem checks it
 * (a control character, an invalid UTF-8 byte, a text too long: the whole
 * signal is malformed); nothing after the last entry.
 *
 * Why a kind byte and not flags: a receiver must be able to tell "a kind I
 * do not know yet" (a newer agent: ignore it, do not punish the sender)
 * from "broken bytes" (reject). The header is fixed for every kind, so
 * replay and clock checks apply to unknown kinds too.
 */
export const SIGNAL_CODEC_VERSION = 1;

/** Kind numbers on the wire. Never reuse a number. */
const SIGNAL_KINDS = { suspect: 1, drain: 2 } as const;

/** Entries per drain signal: 100 entries of the largest size (~1.6 KB) stay well under the 256 KiB message limit. */
export const DRAIN_ENTRIES_PER_SIGNAL = 100;

/** A text field's bytes at most (4 UTF-8 bytes per character of the largest bound). */
const MAX_TEXT_BYTES = 4 * 200;

const FLAG_DRAINED = 1;
const FLAG_UNTIL = 2;
const FLAG_MAINTENANCE = 4;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

const HEADER_BYTES = 1 + 1 + 8 + 8;
const MAX_U32 = 0xffff_ffff;

/** A decoded signal, or one of a kind this version does not know (its code only). */
export type DecodedSignal =
  { readonly seq: number; readonly sentAt: number; readonly signal: Signal } | { readonly seq: number; readonly sentAt: number; readonly unknownKind: number };

export function encodeSignal(seq: number, sentAt: number, signal: Signal): Uint8Array {
  if (!Number.isSafeInteger(seq) || seq < 0 || !Number.isSafeInteger(sentAt) || sentAt < 0) {
    throw new RangeError('encodeSignal: seq and sentAt must be non-negative safe integers');
  }
  if (signal.kind === 'drain') return encodeDrain(seq, sentAt, signal.relay, signal.entries);
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
    if (kind === SIGNAL_KINDS.drain) {
      const signal = decodeDrainBody(r);
      return signal && { seq, sentAt, signal };
    }
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

function encodeDrain(seq: number, sentAt: number, relay: boolean, entries: readonly DrainEntry[]): Uint8Array {
  const seen = new Set<string>();
  const parts: Array<{ addr: Uint8Array; family: 4 | 6; e: DrainEntry; texts: Uint8Array[] }> = [];
  let size = HEADER_BYTES + 1 + 5;
  for (const e of entries) {
    const problem = entryProblem(e);
    if (problem !== undefined) throw new TypeError(`encodeSignal: bad drain entry for ${String(e.ip)}: ${problem}`);
    if (seen.has(e.ip)) throw new TypeError(`encodeSignal: drain entry for ${e.ip} twice`);
    seen.add(e.ip);
    const p = parseIp(e.ip)!;
    const addr = p.family === 4 ? new Uint8Array([(p.v4 >>> 24) & 0xff, (p.v4 >>> 16) & 0xff, (p.v4 >>> 8) & 0xff, p.v4 & 0xff]) : (p.v6 as Uint8Array);
    const texts = [e.origin, e.by, e.reason].map((t) => utf8.encode(t));
    size += 1 + addr.length + 1 + 16 + texts.reduce((n, t) => n + 5 + t.length, 0);
    parts.push({ addr, family: p.family, e, texts });
  }
  const w = new Writer(size);
  w.u8(SIGNAL_CODEC_VERSION);
  w.u8(SIGNAL_KINDS.drain);
  w.u64(seq);
  w.u64(sentAt);
  w.u8(relay ? 1 : 0);
  w.varint(parts.length);
  for (const { addr, family, e, texts } of parts) {
    w.u8(family);
    w.bytes(addr);
    w.u8((e.drained ? FLAG_DRAINED : 0) | (e.until !== undefined ? FLAG_UNTIL : 0) | (e.source === 'maintenance' ? FLAG_MAINTENANCE : 0));
    w.u64(e.at);
    if (e.until !== undefined) w.u64(e.until);
    for (const t of texts) {
      w.varint(t.length);
      w.bytes(t);
    }
  }
  return w.result();
}

function decodeDrainBody(r: Reader): Signal | undefined {
  const flags = r.u8();
  if (flags === undefined || (flags & ~1) !== 0) return undefined;
  const n = r.varint();
  // The smallest entry is 1 + 4 + 1 + 8 + 3 bytes.
  if (n === undefined || n * 17 > r.remaining) return undefined;
  const entries: DrainEntry[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < n; i++) {
    const family = r.u8();
    if (family !== 4 && family !== 6) return undefined;
    const addr = r.bytes(family === 4 ? 4 : 16);
    const f = r.u8();
    const at = r.u64();
    if (addr === undefined || f === undefined || at === undefined || (f & ~7) !== 0) return undefined;
    const until = (f & FLAG_UNTIL) !== 0 ? r.u64() : undefined;
    if ((f & FLAG_UNTIL) !== 0 && until === undefined) return undefined;
    const texts: string[] = [];
    for (let t = 0; t < 3; t++) {
      const len = r.varint();
      if (len === undefined || len > MAX_TEXT_BYTES) return undefined;
      const b = r.bytes(len);
      if (b === undefined) return undefined;
      texts.push(strictUtf8.decode(b));
    }
    const ip = family === 4 ? formatIpv4(((addr[0]! << 24) | (addr[1]! << 16) | (addr[2]! << 8) | addr[3]!) >>> 0) : formatIpv6(addr);
    const e: DrainEntry = {
      ip,
      drained: (f & FLAG_DRAINED) !== 0,
      at,
      origin: texts[0]!,
      until,
      by: texts[1]!,
      reason: texts[2]!,
      source: (f & FLAG_MAINTENANCE) !== 0 ? 'maintenance' : 'operator',
    };
    if (seen.has(ip) || entryProblem(e) !== undefined) return undefined;
    seen.add(ip);
    entries.push(e);
  }
  if (r.remaining !== 0) return undefined;
  return { kind: 'drain', relay: flags === 1, entries };
}

/** Drain signals for entries, {@link DRAIN_ENTRIES_PER_SIGNAL} at most each (none for no entries). */
export function drainSignals(entries: readonly DrainEntry[], relay: boolean): Signal[] {
  const out: Signal[] = [];
  for (let i = 0; i < entries.length; i += DRAIN_ENTRIES_PER_SIGNAL)
    out.push({ kind: 'drain', relay, entries: entries.slice(i, i + DRAIN_ENTRIES_PER_SIGNAL) });
  return out;
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
    if (d.signal.kind === 'drain') {
      // Just set: the sender vouches with its own id. Relayed (full state): any member's entries, as the sender knows them.
      if (!d.signal.relay && d.signal.entries.some((e) => e.origin !== from)) return { ok: false, reason: 'malformed' };
      const known = d.signal.entries.filter((e) => ctx.isKnownIp(e.ip));
      if (known.length === 0 && d.signal.entries.length > 0) return { ok: false, reason: 'unknown-ip' };
      // An entry stamped beyond the clock allowance would win every merge until that time: left out.
      const entries = known.filter((e) => e.at <= now + skew);
      if (entries.length === 0 && known.length > 0) return { ok: false, reason: 'too-new' };
      return { ok: true, signal: { ...d.signal, entries }, sentAt: d.sentAt };
    }
    const ips = d.signal.ips.filter((ip) => ctx.isKnownIp(ip));
    if (ips.length === 0 && d.signal.ips.length > 0) return { ok: false, reason: 'unknown-ip' };
    return { ok: true, signal: { ...d.signal, ips }, sentAt: d.sentAt };
  } catch {
    return { ok: false, reason: 'malformed' };
  }
}
