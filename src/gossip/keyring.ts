import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

/**
 * Authenticated encryption of gossip payloads with a rotating set of keys.
 *
 * Why: gossipsub signs messages (who sent it) but does not hide them, and
 * pnet's XSalsa20 only protects the wire between two nodes, without a MAC.
 * The envelope keeps each verdict confidential and tamper-evident end to end,
 * and binds it to the topic (associated data) so a message cannot be moved to
 * another topic.
 *
 * Envelope (all lengths in bytes):
 *
 * | offset | length | field                              |
 * |--------|--------|------------------------------------|
 * | 0      | 1      | version = 1 (AES-256-GCM, HKDF v1) |
 * | 1      | 12     | nonce, random per message          |
 * | 13     | n      | ciphertext                         |
 * | 13+n   | 16     | GCM tag                            |
 *
 * Rotation (as memberlist's keyring): the first key seals, every key opens.
 * Roll out `[old, new]` everywhere (still sealing with old, already opening
 * new), then `[new, old]`, then `[new]`. A keyring `[old]` cannot open what
 * `[new, old]` seals: that is why the first step must reach every agent
 * before the second starts. (Each secret also gives a pnet swarm key, see
 * {@link swarmKeyFromSecret}: agents dial with the first and accept all.)
 */
export const SEALED_VERSION = 1;
export const NONCE_BYTES = 12;
export const TAG_BYTES = 16;
/** version + nonce + tag: the smallest envelope (empty plaintext). */
export const SEAL_OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES;

const HKDF_SALT = 'goavail/1';
const AES_INFO = 'goavail observations v1';
const SWARM_INFO = 'goavail pnet swarm key v1';

/** Why an envelope did not open; the names match the gossip drop reasons. */
export type OpenFailure = 'bad-version' | 'malformed' | 'bad-tag';

/**
 * The result of {@link Keyring.open}: the plaintext, or why there is none.
 * A discriminated union rather than `undefined` so the caller can count
 * a peer on another protocol version apart from a forged or corrupted
 * message.
 */
export type OpenResult =
  | { readonly ok: true; readonly plaintext: Uint8Array; /** index of the key that opened it (0 = current) */ readonly keyIndex: number }
  | { readonly ok: false; readonly reason: OpenFailure };

function deriveKey(secret: string, info: string): Buffer {
  return Buffer.from(hkdfSync('sha256', Buffer.from(secret, 'utf8'), HKDF_SALT, info, 32));
}

/** An ordered set of AES-256-GCM keys derived from the configured secrets. */
export class Keyring {
  readonly #keys: readonly Buffer[];
  readonly #swarmKeys: readonly Uint8Array[];

  private constructor(keys: readonly Buffer[], swarmKeys: readonly Uint8Array[]) {
    this.#keys = keys;
    this.#swarmKeys = swarmKeys;
  }

  /**
   * Derive one key per secret (HKDF-SHA256). Throws on an empty list or an
   * empty secret: both are configuration errors, caught at startup.
   */
  static fromSecrets(secrets: readonly string[]): Keyring {
    if (secrets.length === 0) throw new Error('keyring: at least one secret is required');
    const keys = secrets.map((s, i) => {
      if (typeof s !== 'string' || s.length === 0) throw new Error(`keyring: secret #${i} is empty`);
      return deriveKey(s, AES_INFO);
    });
    return new Keyring(keys, secrets.map(swarmKeyFromSecret));
  }

  get size(): number {
    return this.#keys.length;
  }

  /** The pnet swarm key of the first secret ({@link swarmKeyFromSecret}); a copy. */
  swarmKey(): Uint8Array {
    return (this.#swarmKeys[0] as Uint8Array).slice();
  }

  /**
   * The pnet swarm key of every secret, in configured order (first = the one
   * this agent dials with); copies. See `MultiKeyPnet` in pnet.ts.
   */
  swarmKeys(): Uint8Array[] {
    return this.#swarmKeys.map((k) => k.slice());
  }

  /** Seal with the first key; `aad` (the topic) is authenticated, not sent. */
  seal(plaintext: Uint8Array, aad: Uint8Array): Uint8Array {
    const key = this.#keys[0];
    if (key === undefined) throw new Error('keyring: empty');
    const nonce = randomBytes(NONCE_BYTES);
    const cipher = createCipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const head = cipher.update(plaintext);
    const tail = cipher.final();
    const tag = cipher.getAuthTag();
    const out = new Uint8Array(1 + NONCE_BYTES + head.length + tail.length + TAG_BYTES);
    out[0] = SEALED_VERSION;
    out.set(nonce, 1);
    out.set(head, 1 + NONCE_BYTES);
    out.set(tail, 1 + NONCE_BYTES + head.length);
    out.set(tag, out.length - TAG_BYTES);
    return out;
  }

  /**
   * Try every key in order. Never throws:
   * - `bad-version`: first byte is not {@link SEALED_VERSION};
   * - `malformed`: empty or shorter than version + nonce + tag;
   * - `bad-tag`: no key authenticates it (wrong key, tampering, other topic).
   */
  open(envelope: Uint8Array, aad: Uint8Array): OpenResult {
    if (envelope.length === 0) return { ok: false, reason: 'malformed' };
    if (envelope[0] !== SEALED_VERSION) return { ok: false, reason: 'bad-version' };
    if (envelope.length < SEAL_OVERHEAD) return { ok: false, reason: 'malformed' };
    const nonce = envelope.subarray(1, 1 + NONCE_BYTES);
    const body = envelope.subarray(1 + NONCE_BYTES, envelope.length - TAG_BYTES);
    const tag = envelope.subarray(envelope.length - TAG_BYTES);
    for (let i = 0; i < this.#keys.length; i++) {
      const key = this.#keys[i] as Buffer;
      try {
        const decipher = createDecipheriv('aes-256-gcm', key, nonce, { authTagLength: TAG_BYTES });
        decipher.setAAD(aad);
        decipher.setAuthTag(tag);
        const head = decipher.update(body);
        const tail = decipher.final(); // throws when the tag does not match
        const plaintext = tail.length === 0 ? new Uint8Array(head) : new Uint8Array(Buffer.concat([head, tail]));
        return { ok: true, plaintext, keyIndex: i };
      } catch {
        // try the next key
      }
    }
    return { ok: false, reason: 'bad-tag' };
  }
}

const SWARM_HEADER = '/key/swarm/psk/1.0.0/\n/base16/\n';

/**
 * The 95-byte libp2p pnet swarm key derived from a secret (one per
 * configured secret, see {@link Keyring.swarmKeys}). A distinct HKDF info
 * string keeps it independent of the AES key: knowing one says nothing about
 * the other. The derivation never changes: agents on older versions still
 * connect with the first key.
 *
 * Rotation: stock pnet accepts exactly one key, so the gossip node uses
 * `MultiKeyPnet` (pnet.ts), which dials with the first secret's key and
 * accepts a dialer using any configured secret's key; agents on adjacent
 * rotation steps keep connecting both ways.
 */
export function swarmKeyFromSecret(secret: string): Uint8Array {
  if (secret.length === 0) throw new Error('swarm key: secret is empty');
  const hex = deriveKey(secret, SWARM_INFO).toString('hex');
  return new Uint8Array(Buffer.from(SWARM_HEADER + hex, 'utf8'));
}
