import { describe, expect, it } from 'vitest';
import { encodeBatch } from '../../../src/gossip/codec.js';
import { PLAIN_VERSION, topicAad, wrapBatch } from '../../../src/gossip/envelope.js';
import { Keyring, NONCE_BYTES, TAG_BYTES } from '../../../src/gossip/keyring.js';
import type { DropReason, Observation, ObservationBatch } from '../../../src/gossip/types.js';
import { ReplayGuard, validateMessage, type ValidationContext } from '../../../src/gossip/validate.js';

const TOPIC = '/goavail/1/observations';
const NOW = 1_760_000_000_000;
const A = 'peer-a';
const KNOWN = new Set(['198.18.0.1', '198.18.0.2', '2001:db8::1']);
const keyring = Keyring.fromSecrets(['s3cret']);

function ctx(over: Partial<ValidationContext> = {}): ValidationContext {
  return {
    keyring,
    topic: TOPIC,
    isAllowedSender: (id) => id === A,
    isKnownIp: (ip) => KNOWN.has(ip),
    replay: new ReplayGuard(),
    ...over,
  };
}

function batch(over: Partial<ObservationBatch> = {}): ObservationBatch {
  return { seq: NOW * 1000, sentAt: NOW, full: false, observations: [{ ip: '198.18.0.1', verdict: 'down' }], ...over };
}

/** `'plain'`: unsealed, as an agent without crypto_key sends. */
function sealed(over: Partial<ObservationBatch> = {}, k: Keyring | 'plain' = keyring, topic = TOPIC): Uint8Array {
  return wrapBatch(batch(over), k === 'plain' ? undefined : k, topic);
}

function reasonOf(res: ReturnType<typeof validateMessage>): DropReason | 'ok' {
  return res.ok ? 'ok' : res.reason;
}

describe('validateMessage: one message', () => {
  const garbageBatch = keyring.seal(Uint8Array.of(1, 2, 3), topicAad(TOPIC));
  const cases: Array<{ name: string; from?: string; data: () => Uint8Array; c?: Partial<ValidationContext>; want: DropReason | 'ok' }> = [
    { name: 'valid sealed', data: () => sealed(), want: 'ok' },
    { name: 'valid unsealed without keyring', data: () => sealed({}, 'plain'), c: { keyring: undefined }, want: 'ok' },
    { name: 'empty observations are accepted', data: () => sealed({ observations: [] }), want: 'ok' },
    { name: 'oversized', data: () => new Uint8Array(256 * 1024 + 1), want: 'oversized' },
    { name: 'oversized with a custom limit', data: () => sealed(), c: { maxBytes: 10 }, want: 'oversized' },
    { name: 'unknown sender', from: 'peer-x', data: () => sealed(), want: 'unknown-sender' },
    { name: 'unknown sender wins over garbage (checked first)', from: 'peer-x', data: () => Uint8Array.of(9, 9), want: 'unknown-sender' },
    { name: 'wrong key', data: () => sealed({}, Keyring.fromSecrets(['other'])), want: 'bad-tag' },
    { name: 'other topic', data: () => sealed({}, keyring, '/goavail/1/other'), want: 'bad-tag' },
    { name: 'unsealed message to an agent with keys', data: () => sealed({}, 'plain'), want: 'bad-version' },
    { name: 'sealed message to an agent without keys', data: () => sealed(), c: { keyring: undefined }, want: 'bad-version' },
    { name: 'empty payload', data: () => new Uint8Array(0), want: 'malformed' },
    { name: 'empty payload, no keys', data: () => new Uint8Array(0), c: { keyring: undefined }, want: 'malformed' },
    { name: 'too short envelope', data: () => Uint8Array.of(1, 2, 3), want: 'malformed' },
    { name: 'authentic envelope, garbage batch', data: () => garbageBatch, want: 'malformed' },
    { name: 'plain version, garbage batch', data: () => Uint8Array.of(PLAIN_VERSION, 1, 2), c: { keyring: undefined }, want: 'malformed' },
    { name: 'sent 61 s ago', data: () => sealed({ sentAt: NOW - 61_000 }), want: 'too-old' },
    { name: 'sent 60 s ago (edge)', data: () => sealed({ sentAt: NOW - 60_000 }), want: 'ok' },
    { name: 'sent 61 s in the future', data: () => sealed({ sentAt: NOW + 61_000 }), want: 'too-new' },
    { name: 'sent 60 s in the future (edge)', data: () => sealed({ sentAt: NOW + 60_000 }), want: 'ok' },
    { name: 'custom skew', data: () => sealed({ sentAt: NOW - 5_001 }), c: { maxSkewMs: 5_000 }, want: 'too-old' },
    { name: 'only unknown IPs', data: () => sealed({ observations: [{ ip: '198.18.9.9', verdict: 'up' }] }), want: 'unknown-ip' },
    {
      name: 'a throwing predicate is a drop, not a throw',
      data: () => sealed(),
      c: {
        isKnownIp: () => {
          throw new Error('bug');
        },
      },
      want: 'malformed',
    },
  ];
  it.each(cases)('$name → $want', ({ from, data, c, want }) => {
    expect(reasonOf(validateMessage(from ?? A, data(), NOW, ctx(c)))).toBe(want);
  });

  it('returns the batch itself', () => {
    const res = validateMessage(A, sealed({ full: true }), NOW, ctx());
    expect(res).toEqual({ ok: true, batch: batch({ full: true }), unknownIps: [] });
  });

  it('drops only the unknown observations of a mixed batch, and says which', () => {
    const obs: Observation[] = [
      { ip: '198.18.0.1', verdict: 'up' },
      { ip: '198.18.9.9', verdict: 'down' },
      { ip: '2001:db8::1', verdict: 'down' },
    ];
    const res = validateMessage(A, sealed({ observations: obs }), NOW, ctx());
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    expect(res.batch.observations.map((o) => o.ip).sort()).toEqual(['198.18.0.1', '2001:db8::1']);
    expect(res.unknownIps).toEqual(['198.18.9.9']);
  });
});

describe('validateMessage: tampering with a sealed message', () => {
  it('each byte of version, nonce, ciphertext and tag', () => {
    const env = sealed({
      observations: [
        { ip: '198.18.0.1', verdict: 'down' },
        { ip: '198.18.0.2', verdict: 'up' },
      ],
    });
    const counts: Record<string, number> = {};
    for (let i = 0; i < env.length; i++) {
      const t = env.slice();
      t[i] = (t[i] as number) ^ 0x01;
      const reason = reasonOf(validateMessage(A, t, NOW, ctx()));
      const region = i === 0 ? 'version' : i <= NONCE_BYTES ? 'nonce' : i < env.length - TAG_BYTES ? 'ciphertext' : 'tag';
      expect(reason, `${region} byte ${i}`).toBe(region === 'version' ? 'bad-version' : 'bad-tag');
      counts[region] = (counts[region] ?? 0) + 1;
    }
    expect(counts).toEqual({ version: 1, nonce: NONCE_BYTES, ciphertext: env.length - 1 - NONCE_BYTES - TAG_BYTES, tag: TAG_BYTES });
  });

  it('unsealed payloads have no integrity: a flipped verdict still decodes (why keys matter)', () => {
    const plain = wrapBatch(batch(), undefined, TOPIC);
    const t = plain.slice();
    // bytes: plain version, codec version, flags (bit 0 = full), ...
    t[2] = 1;
    const res = validateMessage(A, t, NOW, ctx({ keyring: undefined }));
    expect(res.ok && res.batch.full).toBe(true);
    // the same change to a sealed message is caught
    const s = sealed();
    expect(reasonOf(validateMessage(A, Uint8Array.of(...s.subarray(0, 15), (s[15] as number) ^ 1, ...s.subarray(16)), NOW, ctx()))).toBe('bad-tag');
  });
});

describe('validateMessage: replay', () => {
  it.each([
    { name: 'same seq twice', seqs: [10, 10], want: ['ok', 'replayed'] },
    { name: 'lower seq after a higher one', seqs: [10, 9], want: ['ok', 'replayed'] },
    { name: 'increasing', seqs: [10, 11, 50], want: ['ok', 'ok', 'ok'] },
    { name: 'a gap is fine, going back is not', seqs: [10, 20, 15, 21], want: ['ok', 'ok', 'replayed', 'ok'] },
  ])('$name', ({ seqs, want }) => {
    const c = ctx();
    const got = seqs.map((seq) => reasonOf(validateMessage(A, sealed({ seq }), NOW, c)));
    expect(got).toEqual(want);
  });

  it('the very same bytes replayed are dropped', () => {
    const c = ctx();
    const msg = sealed();
    expect(reasonOf(validateMessage(A, msg, NOW, c))).toBe('ok');
    expect(reasonOf(validateMessage(A, msg, NOW + 1000, c))).toBe('replayed');
  });

  it('sequence numbers are per sender', () => {
    const c = ctx({ isAllowedSender: () => true });
    expect(reasonOf(validateMessage('a', sealed({ seq: 10 }), NOW, c))).toBe('ok');
    expect(reasonOf(validateMessage('b', sealed({ seq: 5 }), NOW, c))).toBe('ok');
    expect(c.replay.lastSeq('a')).toBe(10);
    expect(c.replay.lastSeq('b')).toBe(5);
  });

  it('a restarted sender (seq = Date.now()*1000 at start) is not a replay', () => {
    const c = ctx();
    const before = NOW * 1000;
    for (let i = 0; i < 100; i++) expect(reasonOf(validateMessage(A, sealed({ seq: before + i }), NOW, c))).toBe('ok');
    const restartedAt = NOW + 1; // one millisecond later
    expect(reasonOf(validateMessage(A, sealed({ seq: restartedAt * 1000, sentAt: restartedAt }), restartedAt, c))).toBe('ok');
  });

  it('rejected messages do not advance the sequence; a message of unknown IPs does', () => {
    const c = ctx();
    expect(reasonOf(validateMessage(A, sealed({ seq: 100, sentAt: NOW - 120_000 }), NOW, c))).toBe('too-old');
    expect(reasonOf(validateMessage(A, sealed({ seq: 100 }, Keyring.fromSecrets(['x'])), NOW, c))).toBe('bad-tag');
    expect(c.replay.lastSeq(A)).toBeUndefined();
    expect(reasonOf(validateMessage(A, sealed({ seq: 100, observations: [{ ip: '198.18.9.9', verdict: 'up' }] }), NOW, c))).toBe('unknown-ip');
    expect(reasonOf(validateMessage(A, sealed({ seq: 100 }), NOW, c))).toBe('replayed');
  });
});

describe('validateMessage: never throws', () => {
  it('on thousands of random payloads, with and without keys', () => {
    const withKeys = ctx();
    const noKeys = ctx({ keyring: undefined });
    const seen = new Set<string>();
    for (let i = 0; i < 4000; i++) {
      const len = i % 200;
      const buf = new Uint8Array(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(Math.random() * 256);
      if (len > 0 && i % 3 === 0) buf[0] = 1;
      if (len > 0 && i % 3 === 1) buf[0] = PLAIN_VERSION;
      const c = i % 2 === 0 ? withKeys : noKeys;
      let res;
      expect(() => (res = validateMessage(A, buf, NOW, c))).not.toThrow();
      expect((res as unknown as { ok: boolean }).ok).toBe(false);
      seen.add(reasonOf(res as unknown as ReturnType<typeof validateMessage>));
    }
    expect([...seen].sort()).toEqual(['bad-tag', 'bad-version', 'malformed']);
  });

  it('on a plaintext batch with random tails', () => {
    const c = ctx({ keyring: undefined });
    const good = encodeBatch(batch());
    for (let i = 0; i < 1000; i++) {
      const cut = Math.floor(Math.random() * good.length);
      const buf = Uint8Array.of(PLAIN_VERSION, ...good.subarray(0, cut), ...Array.from({ length: i % 7 }, () => Math.floor(Math.random() * 256)));
      expect(() => validateMessage(A, buf, NOW, c)).not.toThrow();
    }
  });
});
