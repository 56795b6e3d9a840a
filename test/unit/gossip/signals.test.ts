import { describe, expect, it } from 'vitest';
import { decodeBatch } from '../../../src/gossip/codec.js';
import { DEFAULT_SIGNAL_TOPIC, DEFAULT_TOPIC, unwrapBatch, wrapPayload } from '../../../src/gossip/envelope.js';
import { Keyring } from '../../../src/gossip/keyring.js';
import { decodeSignal, encodeSignal, SIGNAL_CODEC_VERSION, validateSignal, wrapSignal } from '../../../src/gossip/signals.js';
import type { DropReason } from '../../../src/gossip/types.js';
import { ReplayGuard, type ValidationContext } from '../../../src/gossip/validate.js';

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
