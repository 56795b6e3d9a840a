import type { Verdict } from '../model.js';
import type { Observation, ObservationBatch } from './types.js';
import { canonicalIp, formatIpv4, formatIpv6, parseIp } from '../net/ip.js';

export { canonicalIp };

/**
 * Compact binary form of an {@link ObservationBatch}.
 *
 * Why not JSON: a full-state batch for 1,000 IPv4 targets is published every
 * ~10 s by every agent to every other one, and the budget is under 1 KB/s
 * per agent. JSON costs ~30 bytes per observation; this format costs at most
 * 4 bytes per IPv4 observation (often 1) and 16 per IPv6 one.
 *
 * Layout (integers big-endian; `varint` = unsigned LEB128, minimal, ≤ 2³²−1):
 *
 * | field        | size   | notes                                          |
 * |--------------|--------|------------------------------------------------|
 * | version      | 1      | {@link CODEC_VERSION}                          |
 * | flags        | 1      | bit 0 = full; bit 1 = turns; others must be 0  |
 * | seq          | 8      | uint64, must be ≤ Number.MAX_SAFE_INTEGER      |
 * | sentAt       | 8      | uint64 ms since epoch, ≤ MAX_SAFE_INTEGER      |
 * | 6 groups     |        | in order: (v4,unknown) (v4,up) (v4,down)       |
 * |              |        |           (v6,unknown) (v6,up) (v6,down)       |
 * |  count       | varint | observations in the group                      |
 * |  v4 entries  | varint | ascending addresses as uint32: first = value,  |
 * |              |        | then (difference − 1), so they strictly rise   |
 * |  v6 entries  | 16     | raw addresses, strictly ascending              |
 * | turns        |        | only with flag bit 1: observations that carry  |
 * |              |        | `turnedAt`                                     |
 * |  count       | varint | at least 1                                     |
 * |  index       | varint | in decoded order: first = value, then          |
 * |              |        | (difference − 1), so they strictly rise        |
 * |  age         | varint | sentAt − turnedAt, ms                          |
 *
 * Grouping by verdict removes the verdict byte; sorting and delta-encoding
 * makes clustered IPv4 targets cost one byte each. Strict ordering makes the
 * encoding canonical and rules out duplicates within a group; an address in
 * two groups is rejected on decode. The decoded observation order is the
 * group order above, not the order given to {@link encodeBatch}.
 *
 * Decoded IPs are canonical text ({@link canonicalIp}): dotted-quad IPv4,
 * RFC 5952 IPv6 (lower case, longest zero run compressed, `::ffff:a.b.c.d`
 * for IPv4-mapped). Compare them with canonical forms of configured IPs.
 *
 * The turns section is absent (flag bit 1 clear) unless an observation
 * carries `turnedAt`, so a batch without it is byte for byte what agents
 * before the section sent and read; those agents drop a batch with turns
 * as malformed (reserved flag), which costs them only the recent turn
 * times of full-state batches.
 */
export const CODEC_VERSION = 1;

const HEADER_BYTES = 1 + 1 + 8 + 8;
const FLAG_FULL = 0x01;
const FLAG_TURNS = 0x02;
const VERDICTS: readonly Verdict[] = ['unknown', 'up', 'down'];
const MAX_U32 = 0xffff_ffff;

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

// ---------------------------------------------------------------- writing

export class Writer {
  #buf: Uint8Array;
  #len = 0;

  constructor(capacity: number) {
    this.#buf = new Uint8Array(Math.max(capacity, 32));
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    const next = new Uint8Array(Math.max(this.#buf.length * 2, this.#len + n));
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  u8(v: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = v;
  }

  u64(v: number): void {
    this.#ensure(8);
    new DataView(this.#buf.buffer, this.#buf.byteOffset).setBigUint64(this.#len, BigInt(v));
    this.#len += 8;
  }

  varint(v: number): void {
    this.#ensure(5);
    let x = v >>> 0;
    while (x >= 0x80) {
      this.#buf[this.#len++] = (x & 0x7f) | 0x80;
      x >>>= 7;
    }
    this.#buf[this.#len++] = x;
  }

  bytes(b: Uint8Array): void {
    this.#ensure(b.length);
    this.#buf.set(b, this.#len);
    this.#len += b.length;
  }

  result(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }
}

function checkSafe(name: string, v: number): void {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`encodeBatch: ${name} must be a non-negative safe integer, got ${v}`);
}

/**
 * Encode a batch. Throws (a programming error, not a peer's) on an invalid IP,
 * an unknown verdict, the same IP twice, or seq/sentAt outside 0..2⁵³−1.
 */
export function encodeBatch(batch: ObservationBatch): Uint8Array {
  checkSafe('seq', batch.seq);
  checkSafe('sentAt', batch.sentAt);
  const v4: number[][] = [[], [], []];
  const v6: Uint8Array[][] = [[], [], []];
  /** Address key (v4 number or v6 hex) → age of the turn. */
  const ages = new Map<number | string, number>();
  for (const o of batch.observations) {
    const vi = VERDICTS.indexOf(o.verdict);
    if (vi < 0) throw new TypeError(`encodeBatch: unknown verdict ${String(o.verdict)} for ${o.ip}`);
    const p = parseIp(o.ip);
    if (p === undefined) throw new TypeError(`encodeBatch: not an IP address: ${o.ip}`);
    if (o.turnedAt !== undefined) {
      const age = batch.sentAt - o.turnedAt;
      if (!Number.isInteger(age) || age < 0 || age > MAX_U32)
        throw new RangeError(`encodeBatch: turnedAt of ${o.ip} must be 0..2³²−1 ms before sentAt, got ${o.turnedAt}`);
      ages.set(p.family === 4 ? p.v4 : Buffer.from(p.v6 as Uint8Array).toString('hex'), age);
    }
    if (p.family === 4) (v4[vi] as number[]).push(p.v4);
    else (v6[vi] as Uint8Array[]).push(p.v6 as Uint8Array);
  }
  const seen4 = new Set<number>();
  const seen6 = new Set<string>();
  const w = new Writer(HEADER_BYTES + 6 * 5 + batch.observations.length * 5);
  w.u8(CODEC_VERSION);
  w.u8((batch.full ? FLAG_FULL : 0) | (ages.size > 0 ? FLAG_TURNS : 0));
  w.u64(batch.seq);
  w.u64(batch.sentAt);
  /** [decoded index, age] of each observation with a turn, ascending. */
  const turns: Array<[number, number]> = [];
  let index = 0;
  for (const group of v4) {
    group.sort((a, b) => a - b);
    w.varint(group.length);
    let prev = -1;
    for (const a of group) {
      if (seen4.has(a)) throw new TypeError(`encodeBatch: ${formatIpv4(a)} appears twice`);
      seen4.add(a);
      w.varint(prev < 0 ? a : a - prev - 1);
      prev = a;
      const age = ages.get(a);
      if (age !== undefined) turns.push([index, age]);
      index++;
    }
  }
  for (const group of v6) {
    group.sort(compareBytes);
    w.varint(group.length);
    for (const a of group) {
      const key = Buffer.from(a).toString('hex');
      if (seen6.has(key)) throw new TypeError(`encodeBatch: ${formatIpv6(a)} appears twice`);
      seen6.add(key);
      w.bytes(a);
      const age = ages.get(key);
      if (age !== undefined) turns.push([index, age]);
      index++;
    }
  }
  if (turns.length > 0) {
    w.varint(turns.length);
    let prev = -1;
    for (const [i, age] of turns) {
      w.varint(prev < 0 ? i : i - prev - 1);
      w.varint(age);
      prev = i;
    }
  }
  return w.result();
}

// ---------------------------------------------------------------- reading

/** A bounds-checked cursor; every read returns undefined past the end. */
export class Reader {
  #pos = 0;
  readonly #b: Uint8Array;

  constructor(b: Uint8Array) {
    this.#b = b;
  }

  get remaining(): number {
    return this.#b.length - this.#pos;
  }

  u8(): number | undefined {
    if (this.#pos >= this.#b.length) return undefined;
    return this.#b[this.#pos++];
  }

  u64(): number | undefined {
    if (this.remaining < 8) return undefined;
    const v = new DataView(this.#b.buffer, this.#b.byteOffset, this.#b.byteLength).getBigUint64(this.#pos);
    this.#pos += 8;
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) return undefined;
    return Number(v);
  }

  /** Minimal LEB128 up to 2³²−1; undefined when truncated, overlong or too big. */
  varint(): number | undefined {
    let result = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.u8();
      if (byte === undefined) return undefined;
      result += (byte & 0x7f) * 2 ** (7 * i);
      if ((byte & 0x80) === 0) {
        if (i > 0 && byte === 0) return undefined; // non-minimal
        return result > MAX_U32 ? undefined : result;
      }
    }
    return undefined;
  }

  bytes(n: number): Uint8Array | undefined {
    if (this.remaining < n) return undefined;
    const out = this.#b.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }
}

/**
 * Decode a batch; `undefined` for anything that is not exactly one valid
 * batch (truncated, trailing bytes, reserved flags, counts larger than the
 * bytes left, addresses out of order or repeated, seq/sentAt beyond 2⁵³−1).
 * Never throws.
 */
export function decodeBatch(bytes: Uint8Array): ObservationBatch | undefined {
  try {
    return decodeUnchecked(bytes);
  } catch {
    return undefined; // defensive: the reader is bounds-checked
  }
}

function decodeUnchecked(bytes: Uint8Array): ObservationBatch | undefined {
  if (!(bytes instanceof Uint8Array) || bytes.length < HEADER_BYTES + 6) return undefined;
  const r = new Reader(bytes);
  if (r.u8() !== CODEC_VERSION) return undefined;
  const flags = r.u8();
  if (flags === undefined || (flags & ~(FLAG_FULL | FLAG_TURNS)) !== 0) return undefined;
  const seq = r.u64();
  const sentAt = r.u64();
  if (seq === undefined || sentAt === undefined) return undefined;
  const observations: Observation[] = [];
  const seen4 = new Set<number>();
  for (const verdict of VERDICTS) {
    const count = r.varint();
    if (count === undefined || count > r.remaining) return undefined;
    let prev = -1;
    for (let i = 0; i < count; i++) {
      const d = r.varint();
      if (d === undefined) return undefined;
      const a = prev < 0 ? d : prev + 1 + d;
      if (a > MAX_U32 || seen4.has(a)) return undefined;
      seen4.add(a);
      observations.push({ ip: formatIpv4(a), verdict });
      prev = a;
    }
  }
  const seen6 = new Set<string>();
  for (const verdict of VERDICTS) {
    const count = r.varint();
    if (count === undefined || count * 16 > r.remaining) return undefined;
    let prev: Uint8Array | undefined;
    for (let i = 0; i < count; i++) {
      const a = r.bytes(16);
      if (a === undefined) return undefined;
      if (prev !== undefined && compareBytes(prev, a) >= 0) return undefined;
      const key = Buffer.from(a).toString('hex');
      if (seen6.has(key)) return undefined;
      seen6.add(key);
      observations.push({ ip: formatIpv6(a), verdict });
      prev = a;
    }
  }
  if ((flags & FLAG_TURNS) !== 0) {
    const count = r.varint();
    if (count === undefined || count === 0 || count > observations.length) return undefined;
    let prev = -1;
    for (let i = 0; i < count; i++) {
      const d = r.varint();
      const age = r.varint();
      if (d === undefined || age === undefined) return undefined;
      const at = prev < 0 ? d : prev + 1 + d;
      const o = observations[at];
      if (o === undefined || age > sentAt) return undefined;
      observations[at] = { ...o, turnedAt: sentAt - age };
      prev = at;
    }
  }
  if (r.remaining !== 0) return undefined;
  return { seq, sentAt, full: (flags & FLAG_FULL) !== 0, observations };
}
