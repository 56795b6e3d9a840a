import { describe, expect, it } from 'vitest';
import { decodeBatch } from '../../../src/gossip/codec.js';
import { DEFAULT_SIGNAL_TOPIC, DEFAULT_TOPIC, unwrapBatch, wrapPayload } from '../../../src/gossip/envelope.js';
import { Keyring } from '../../../src/gossip/keyring.js';
import type { DrainEntry } from '../../../src/drain/types.js';
import {
  decodeSignal,
  DRAIN_ENTRIES_PER_SIGNAL,
  drainSignals,
  encodeSignal,
  SIGNAL_CODEC_VERSION,
  validateSignal,
  wrapSignal,
} from '../../../src/gossip/signals.js';
import type { DropReason, Signal } from '../../../src/gossip/types.js';
import { DEFAULT_MAX_MESSAGE_BYTES, ReplayGuard, type ValidationContext } from '../../../src/gossip/validate.js';

const NOW = 1_760_000_000_000;
const SEQ = NOW * 1000;
const A = 'peer-a';
const KNOWN = new Set(['198.18.0.1', '198.18.0.2', '2001:db8::1']);
const keyring = Keyring.fromSecrets(['s3cret']);

function ctx(over: Partial<ValidationContext> = {}): ValidationContext {
  return { keyring, topic: DEFAULT_SIGNAL_TOPIC, isAllowedSender: (id) => id === A, isKnownIp: (ip) => KNOWN.has(ip), replay: new ReplayGuard(), ...over };
}

/** A signal of a kind this version does not know: version, kind, seq, sentAt, an opaque body. */
function futureKind(kind: number, seq = SEQ, sentAt = NOW): Uint8Array {
  const b = new Uint8Array(18 + 3);
  const v = new DataView(b.buffer);
  b[0] = SIGNAL_CODEC_VERSION;
  b[1] = kind;
  v.setBigUint64(2, BigInt(seq));
  v.setBigUint64(10, BigInt(sentAt));
  b.set([9, 9, 9], 18);
  return b;
}

describe('signal codec', () => {
  it('round-trips a suspect of IPv4 and IPv6 addresses, sorted, without duplicates', () => {
    const bytes = encodeSignal(SEQ, NOW, { kind: 'suspect', ips: ['198.18.0.2', '2001:db8::1', '198.18.0.1', '198.18.0.2'] });
    expect(decodeSignal(bytes)).toEqual({ seq: SEQ, sentAt: NOW, signal: { kind: 'suspect', ips: ['198.18.0.1', '198.18.0.2', '2001:db8::1'] } });
    // Header 18 bytes + v4 count + 2 delta-coded addresses (5 + 1 bytes) + v6 count + 16.
    expect(bytes.length).toBe(18 + 1 + 6 + 1 + 16);
  });

  it('an unknown kind decodes as unknown (its code), whatever its body', () => {
    expect(decodeSignal(futureKind(3))).toEqual({ seq: SEQ, sentAt: NOW, unknownKind: 3 });
  });

  it.each([
    ['empty', new Uint8Array()],
    ['truncated header', encodeSignal(SEQ, NOW, { kind: 'suspect', ips: [] }).subarray(0, 17)],
    ['other version', Uint8Array.from([2, ...encodeSignal(SEQ, NOW, { kind: 'suspect', ips: [] }).subarray(1)])],
    ['trailing byte', Uint8Array.from([...encodeSignal(SEQ, NOW, { kind: 'suspect', ips: ['198.18.0.1'] }), 0])],
    ['count beyond the bytes', Uint8Array.from([...encodeSignal(SEQ, NOW, { kind: 'suspect', ips: [] }).subarray(0, 18), 5, 0])],
  ])('malformed: %s → undefined', (_name, bytes) => {
    expect(decodeSignal(bytes)).toBeUndefined();
  });

  it('every single-byte flip of a sealed signal is dropped, never thrown', () => {
    const data = wrapSignal(SEQ, NOW, { kind: 'suspect', ips: ['198.18.0.1'] }, keyring, DEFAULT_SIGNAL_TOPIC);
    for (let i = 0; i < data.length; i++) {
      const bad = data.slice();
      bad[i] = bad[i]! ^ 0x01;
      const r = validateSignal(A, bad, NOW, ctx());
      expect(r.ok).toBe(false);
    }
  });
});

describe('validateSignal', () => {
  const ok = (ips: string[]) => wrapSignal(SEQ, NOW, { kind: 'suspect', ips }, keyring, DEFAULT_SIGNAL_TOPIC);
  const reason = (r: ReturnType<typeof validateSignal>): DropReason | 'ok' => (r.ok ? 'ok' : r.reason);

  it.each<[string, () => Uint8Array, Partial<ValidationContext>, string, DropReason | 'ok']>([
    ['a suspect of a known IP', () => ok(['198.18.0.1']), {}, A, 'ok'],
    ['from a stranger', () => ok(['198.18.0.1']), {}, 'peer-x', 'unknown-sender'],
    [
      'sealed for the observation topic (topic bound as AAD)',
      () => wrapSignal(SEQ, NOW, { kind: 'suspect', ips: ['198.18.0.1'] }, keyring, DEFAULT_TOPIC),
      {},
      A,
      'bad-tag',
    ],
    ['a kind from a later version', () => wrapPayload(futureKind(7), keyring, DEFAULT_SIGNAL_TOPIC), {}, A, 'unknown-kind'],
    ['only unknown IPs', () => ok(['198.18.9.9']), {}, A, 'unknown-ip'],
    ['too old', () => wrapSignal(SEQ, NOW - 120_000, { kind: 'suspect', ips: ['198.18.0.1'] }, keyring, DEFAULT_SIGNAL_TOPIC), {}, A, 'too-old'],
    ['garbage inside a good seal', () => wrapPayload(Uint8Array.of(1, 2, 3), keyring, DEFAULT_SIGNAL_TOPIC), {}, A, 'malformed'],
  ])('%s → %s', (_name, data, over, from, want) => {
    expect(reason(validateSignal(from, data(), NOW, ctx(over)))).toBe(want);
  });

  it('replay: the same seq twice is dropped; an unknown kind still takes its seq', () => {
    const c = ctx();
    expect(reason(validateSignal(A, ok(['198.18.0.1']), NOW, c))).toBe('ok');
    expect(reason(validateSignal(A, ok(['198.18.0.1']), NOW, c))).toBe('replayed');
    expect(reason(validateSignal(A, wrapPayload(futureKind(9, SEQ + 5), keyring, DEFAULT_SIGNAL_TOPIC), NOW, c))).toBe('unknown-kind');
    expect(reason(validateSignal(A, wrapPayload(futureKind(9, SEQ + 5), keyring, DEFAULT_SIGNAL_TOPIC), NOW, c))).toBe('replayed');
  });

  it('unknown IPs are left out of a signal that also names known ones', () => {
    const r = validateSignal(A, ok(['198.18.0.1', '198.18.9.9']), NOW, ctx());
    expect(r.ok && r.signal.kind === 'suspect' && r.signal.ips).toEqual(['198.18.0.1']);
  });
});

describe('wire compatibility with the version before signals', () => {
  it('a v1 decoder never mistakes a signal for a batch: on the observation topic it does not open (topic AAD), and the plaintext is not a batch', () => {
    const data = wrapSignal(SEQ, NOW, { kind: 'suspect', ips: ['198.18.0.1'] }, keyring, DEFAULT_SIGNAL_TOPIC);
    expect(unwrapBatch(data, keyring, DEFAULT_TOPIC).ok).toBe(false);
    expect(decodeBatch(encodeSignal(SEQ, NOW, { kind: 'suspect', ips: ['198.18.0.1'] }))).toBeUndefined();
  });
});

describe('drain signals (kind 2)', () => {
  const entry = (over: Partial<DrainEntry> = {}): DrainEntry => ({
    ip: '198.18.0.1',
    drained: true,
    at: NOW - 1_000,
    origin: A,
    until: NOW + 60_000,
    by: 'alice@host',
    reason: 'kernel upgrade ✓',
    source: 'operator',
    ...over,
  });
  const drainOf = (entries: DrainEntry[], relay = false): Signal => ({ kind: 'drain', relay, entries });
  const sealed = (s: Signal, seq = SEQ) => wrapSignal(seq, NOW, s, keyring, DEFAULT_SIGNAL_TOPIC);
  const reason = (r: ReturnType<typeof validateSignal>): DropReason | 'ok' => (r.ok ? 'ok' : r.reason);

  it('round-trips every field: IPv4 and IPv6, drain and tombstone, with and without until, operator and maintenance', () => {
    const entries = [
      entry(),
      entry({ ip: '2001:db8::1', drained: false, until: undefined, by: '', reason: '', source: 'maintenance', origin: 'maintenance:w1' }),
    ];
    for (const relay of [false, true]) {
      expect(decodeSignal(encodeSignal(SEQ, NOW, drainOf(entries, relay)))).toEqual({ seq: SEQ, sentAt: NOW, signal: drainOf(entries, relay) });
    }
    expect(decodeSignal(encodeSignal(SEQ, NOW, drainOf([])))).toEqual({ seq: SEQ, sentAt: NOW, signal: drainOf([]) });
  });

  it('refuses to encode a bad entry (a bug, not input)', () => {
    expect(() => encodeSignal(SEQ, NOW, drainOf([entry({ by: 'x'.repeat(65) })]))).toThrow(/by:/);
    expect(() => encodeSignal(SEQ, NOW, drainOf([entry(), entry()]))).toThrow(/twice/);
  });

  /** The encoded signal with bytes at `at` replaced (offsets: header 18, flags 18, count 19, family 20, address 21-24, entry flags 25, at 26-33, until 34-41, origin length 42). */
  const patched = (at: number, ...bytes: number[]): Uint8Array => {
    const b = encodeSignal(SEQ, NOW, drainOf([entry()])).slice();
    b.set(bytes, at);
    return b;
  };
  const good = encodeSignal(SEQ, NOW, drainOf([entry()]));

  it.each<[string, Uint8Array]>([
    ['truncated', good.subarray(0, good.length - 1)],
    ['trailing byte', Uint8Array.from([...good, 0])],
    ['reserved signal flag', patched(18, 2)],
    ['count beyond the bytes', patched(19, 9)],
    ['family 5', patched(20, 5)],
    ['reserved entry flag', patched(25, 1 | 2 | 8)],
    [
      'until flag without room for it',
      Uint8Array.from([...encodeSignal(SEQ, NOW, drainOf([entry({ until: undefined })])).subarray(0, 26 + 8)].map((v, i) => (i === 25 ? v | 2 : v))),
    ],
    ['until before at', patched(34, 0, 0, 0, 0, 0, 0, 0, 0)],
    ['at beyond 2^53', patched(26, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff)],
    ['origin of length 0', encodeWith({ origin: '' })],
    ['invalid UTF-8 in by', encodeWith({ by: 'x' }, (b, i) => (b[i] = 0xff))],
    ['a control character in reason', encodeWith({ reason: 'x' }, (b, i) => (b[i] = 0x07), 'reason')],
    ['the same IP twice', encodeTwice()],
  ])('malformed: %s → undefined', (_name, bytes) => {
    expect(decodeSignal(bytes)).toBeUndefined();
  });

  /** Hand-encodes one entry with the given texts (so bad ones reach the decoder), then lets `poke` spoil the first byte of `field`'s text. */
  function encodeWith(
    texts: Partial<Pick<DrainEntry, 'origin' | 'by' | 'reason'>>,
    poke?: (b: Uint8Array, i: number) => void,
    field: 'by' | 'reason' = 'by',
  ): Uint8Array {
    const e = { origin: A, by: 'b', reason: 'r', ...texts };
    const enc = new TextEncoder();
    const parts = [e.origin, e.by, e.reason].map((t) => enc.encode(t));
    const head = encodeSignal(SEQ, NOW, drainOf([entry({ until: undefined })])).subarray(0, 34);
    const out = Uint8Array.from([...head, ...parts.flatMap((p) => [p.length, ...p])]);
    const offset = 34 + 1 + parts[0]!.length + (field === 'reason' ? 1 + parts[1]!.length : 0) + 1;
    poke?.(out, offset);
    return out;
  }
  it('the hand encoder itself makes a good signal when nothing is spoilt (so the cases above fail for their reason)', () => {
    expect(decodeSignal(encodeWith({}))).toMatchObject({ signal: { kind: 'drain', entries: [{ origin: A, by: 'b', reason: 'r' }] } });
    const other = encodeTwice();
    other[other.length - (good.length - 20) + 4] = 9; // the second copy's last address byte: 198.18.0.9
    expect(decodeSignal(other)).toMatchObject({ signal: { entries: [{ ip: '198.18.0.1' }, { ip: '198.18.0.9' }] } });
  });

  /** One entry's bytes twice, count 2. */
  function encodeTwice(): Uint8Array {
    const body = good.subarray(20);
    return Uint8Array.from([...good.subarray(0, 19), 2, ...body, ...body]);
  }

  it('every single-byte flip of a sealed drain signal is dropped, never thrown', () => {
    const data = sealed(drainOf([entry()]));
    for (let i = 0; i < data.length; i++) {
      const bad = data.slice();
      bad[i] = bad[i]! ^ 0x01;
      expect(validateSignal(A, bad, NOW, ctx()).ok).toBe(false);
    }
  });

  it('every truncation of a drain signal decodes to undefined, never throws', () => {
    for (let n = 0; n < good.length; n++) expect(decodeSignal(good.subarray(0, n))).toBeUndefined();
  });

  it.each<[string, () => Uint8Array, string, DropReason | 'ok']>([
    ['just set by the sender', () => sealed(drainOf([entry()])), A, 'ok'],
    ['just set, but an entry names another origin', () => sealed(drainOf([entry({ origin: 'peer-b' })])), A, 'malformed'],
    ['relayed entries of other origins', () => sealed(drainOf([entry({ origin: 'peer-b' })], true)), A, 'ok'],
    ['only unknown IPs', () => sealed(drainOf([entry({ ip: '198.18.9.9' })])), A, 'unknown-ip'],
    ['an entry set in the future beyond the skew', () => sealed(drainOf([entry({ at: NOW + 120_000, until: undefined })])), A, 'too-new'],
  ])('%s → %s', (_name, data, from, want) => {
    expect(reason(validateSignal(from, data(), NOW, ctx()))).toBe(want);
  });

  it('unknown IPs and future entries are left out of a signal that also has good ones', () => {
    const r = validateSignal(
      A,
      sealed(drainOf([entry(), entry({ ip: '198.18.9.9' }), entry({ ip: '198.18.0.2', at: NOW + 120_000, until: undefined })])),
      NOW,
      ctx(),
    );
    expect(r.ok && r.signal.kind === 'drain' && r.signal.entries.map((e) => e.ip)).toEqual(['198.18.0.1']);
  });

  it('drainSignals splits many entries into signals of at most DRAIN_ENTRIES_PER_SIGNAL, each under the message limit', () => {
    const many = Array.from({ length: 250 }, (_, i) =>
      entry({ ip: `198.18.${i >> 8}.${i & 255}`, origin: 'o'.repeat(128), by: '😀'.repeat(64), reason: '😀'.repeat(200) }),
    );
    const signals = drainSignals(many, true);
    expect(signals.map((s) => (s.kind === 'drain' ? s.entries.length : 0))).toEqual([DRAIN_ENTRIES_PER_SIGNAL, DRAIN_ENTRIES_PER_SIGNAL, 50]);
    for (const s of signals) expect(sealed(s).length).toBeLessThan(DEFAULT_MAX_MESSAGE_BYTES);
    expect(drainSignals([], true)).toEqual([]);
  });
});
