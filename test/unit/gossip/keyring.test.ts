import { describe, expect, it } from 'vitest';
import { Keyring, NONCE_BYTES, SEAL_OVERHEAD, SEALED_VERSION, swarmKeyFromSecret, TAG_BYTES } from '../../../src/gossip/keyring.js';

const enc = new TextEncoder();
const AAD = enc.encode('/goavail/1/observations');
const MSG = enc.encode('198.18.0.1 is down');

describe('Keyring', () => {
  it('round-trips and lays out version | nonce | ciphertext | tag', () => {
    const k = Keyring.fromSecrets(['s3cret']);
    const env = k.seal(MSG, AAD);
    expect(env[0]).toBe(SEALED_VERSION);
    expect(env.length).toBe(1 + NONCE_BYTES + MSG.length + TAG_BYTES);
    const res = k.open(env, AAD);
    expect(res).toEqual({ ok: true, plaintext: MSG, keyIndex: 0 });
  });

  it('uses a fresh nonce for every message', () => {
    const k = Keyring.fromSecrets(['s3cret']);
    const a = k.seal(MSG, AAD);
    const b = k.seal(MSG, AAD);
    expect(Buffer.from(a.subarray(1, 13)).equals(Buffer.from(b.subarray(1, 13)))).toBe(false);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
  });

  it('seals an empty plaintext into the minimal envelope', () => {
    const k = Keyring.fromSecrets(['s3cret']);
    const env = k.seal(new Uint8Array(0), AAD);
    expect(env.length).toBe(SEAL_OVERHEAD);
    expect(k.open(env, AAD)).toEqual({ ok: true, plaintext: new Uint8Array(0), keyIndex: 0 });
  });

  it('flipping any single bit of the envelope is detected with the right reason', () => {
    const k = Keyring.fromSecrets(['s3cret']);
    const env = k.seal(MSG, AAD);
    const regions: Array<[string, number, number]> = [
      ['version', 0, 1],
      ['nonce', 1, 1 + NONCE_BYTES],
      ['ciphertext', 1 + NONCE_BYTES, env.length - TAG_BYTES],
      ['tag', env.length - TAG_BYTES, env.length],
    ];
    let checked = 0;
    for (const [name, from, to] of regions) {
      for (let i = from; i < to; i++) {
        for (let bit = 0; bit < 8; bit++) {
          const t = env.slice();
          t[i] = (t[i] as number) ^ (1 << bit);
          const res = k.open(t, AAD);
          expect(res.ok, `${name} byte ${i} bit ${bit}`).toBe(false);
          if (!res.ok) expect(res.reason, `${name} byte ${i}`).toBe(name === 'version' ? 'bad-version' : 'bad-tag');
          checked++;
        }
      }
    }
    expect(checked).toBe(env.length * 8);
  });

  it.each([
    ['empty', new Uint8Array(0), 'malformed'],
    ['version only', Uint8Array.of(SEALED_VERSION), 'malformed'],
    ['one byte short of the minimum', new Uint8Array(SEAL_OVERHEAD - 1).fill(0).map((_, i) => (i === 0 ? SEALED_VERSION : 7)), 'malformed'],
    ['minimum length, garbage', new Uint8Array(SEAL_OVERHEAD).map((_, i) => (i === 0 ? SEALED_VERSION : 9)), 'bad-tag'],
    ['unknown version 2', Uint8Array.of(2, ...new Uint8Array(40)), 'bad-version'],
    ['unknown version 0, short', Uint8Array.of(0), 'bad-version'],
  ] as const)('open(%s) → %s', (_name, env, reason) => {
    const k = Keyring.fromSecrets(['s3cret']);
    expect(k.open(env, AAD)).toEqual({ ok: false, reason });
  });

  it('truncating a valid envelope at every length never opens it', () => {
    const k = Keyring.fromSecrets(['s3cret']);
    const env = k.seal(MSG, AAD);
    for (let n = 0; n < env.length; n++) {
      const res = k.open(env.subarray(0, n), AAD);
      expect(res.ok, `length ${n}`).toBe(false);
      if (!res.ok) expect(res.reason).toBe(n === 0 || n < SEAL_OVERHEAD ? 'malformed' : 'bad-tag');
    }
    // and appending a byte breaks the tag too
    expect(k.open(Uint8Array.of(...env, 0), AAD)).toEqual({ ok: false, reason: 'bad-tag' });
  });

  it('wrong key → bad-tag; other topic (associated data) → bad-tag', () => {
    const a = Keyring.fromSecrets(['alpha']);
    const b = Keyring.fromSecrets(['beta']);
    const env = a.seal(MSG, AAD);
    expect(b.open(env, AAD)).toEqual({ ok: false, reason: 'bad-tag' });
    expect(a.open(env, enc.encode('/goavail/1/other'))).toEqual({ ok: false, reason: 'bad-tag' });
  });

  // Rotation: the first key seals, every key opens.
  it.each([
    { sealer: ['old'], opener: ['new', 'old'], ok: true, keyIndex: 1 },
    { sealer: ['old'], opener: ['old', 'new'], ok: true, keyIndex: 0 },
    { sealer: ['old', 'new'], opener: ['new', 'old'], ok: true, keyIndex: 1 },
    { sealer: ['new', 'old'], opener: ['old', 'new'], ok: true, keyIndex: 1 },
    // An agent that does not know the new key yet cannot read it: roll out
    // [old, new] everywhere before anyone seals with new.
    { sealer: ['new', 'old'], opener: ['old'], ok: false, keyIndex: -1 },
    { sealer: ['new'], opener: ['old'], ok: false, keyIndex: -1 },
  ])('sealed by $sealer, opened by $opener → ok=$ok', ({ sealer, opener, ok, keyIndex }) => {
    const env = Keyring.fromSecrets(sealer).seal(MSG, AAD);
    const res = Keyring.fromSecrets(opener).open(env, AAD);
    if (ok) expect(res).toEqual({ ok: true, plaintext: MSG, keyIndex });
    else expect(res).toEqual({ ok: false, reason: 'bad-tag' });
  });

  it('refuses an empty key list or an empty secret', () => {
    expect(() => Keyring.fromSecrets([])).toThrow(/at least one/);
    expect(() => Keyring.fromSecrets(['ok', ''])).toThrow(/#1 is empty/);
    expect(Keyring.fromSecrets(['a', 'b', 'c']).size).toBe(3);
  });

  it('open never throws on random input', () => {
    const k = Keyring.fromSecrets(['s3cret', 'other']);
    for (let i = 0; i < 2000; i++) {
      const len = i % 97;
      const buf = new Uint8Array(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(Math.random() * 256);
      if (i % 2 === 0 && len > 0) buf[0] = SEALED_VERSION;
      const res = k.open(buf, AAD);
      expect(res.ok).toBe(false);
    }
  });
});

describe('swarmKeyFromSecret', () => {
  it('is the 95-byte pnet v1 key format, deterministic, distinct per secret', () => {
    const key = swarmKeyFromSecret('s3cret');
    expect(key.length).toBe(95);
    const text = new TextDecoder().decode(key);
    expect(text).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/);
    expect(Buffer.from(swarmKeyFromSecret('s3cret')).equals(Buffer.from(key))).toBe(true);
    expect(Buffer.from(swarmKeyFromSecret('other')).equals(Buffer.from(key))).toBe(false);
  });

  it('a keyring carries the swarm key of its first secret', () => {
    const k = Keyring.fromSecrets(['s3cret', 'old']);
    expect(Buffer.from(k.swarmKey()).equals(Buffer.from(swarmKeyFromSecret('s3cret')))).toBe(true);
    expect(Buffer.from(Keyring.fromSecrets(['old', 's3cret']).swarmKey()).equals(Buffer.from(swarmKeyFromSecret('old')))).toBe(true);
  });
});
