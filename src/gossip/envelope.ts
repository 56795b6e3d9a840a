import { decodeBatch, encodeBatch } from './codec.js';
import type { Keyring, OpenFailure } from './keyring.js';
import type { ObservationBatch } from './types.js';

/**
 * The bytes a gossip message carries: a sealed envelope when a keyring is
 * configured ({@link Keyring}: version 1), otherwise the encoded batch behind
 * its own version byte {@link PLAIN_VERSION}. Distinct first bytes mean an
 * agent with keys never accepts an unsealed message (it is a `bad-version`),
 * and an agent without keys reports sealed ones as `bad-version` too instead
 * of failing to decode them: the log then points at a crypto_key mismatch.
 */
export const PLAIN_VERSION = 0x80;

/** The gossipsub topic of observations; versioned with the payload format. */
export const DEFAULT_TOPIC = '/goavail/1/observations';

/** Encode and seal (or prefix) a batch for the given topic. */
export function wrapBatch(batch: ObservationBatch, keyring: Keyring | undefined, topic: string): Uint8Array {
  const encoded = encodeBatch(batch);
  if (keyring !== undefined) return keyring.seal(encoded, topicAad(topic));
  const out = new Uint8Array(encoded.length + 1);
  out[0] = PLAIN_VERSION;
  out.set(encoded, 1);
  return out;
}

export type UnwrapResult = { readonly ok: true; readonly batch: ObservationBatch } | { readonly ok: false; readonly reason: OpenFailure };

/** Open (or strip) and decode; never throws. */
export function unwrapBatch(data: Uint8Array, keyring: Keyring | undefined, topic: string): UnwrapResult {
  let plaintext: Uint8Array;
  if (keyring !== undefined) {
    const opened = keyring.open(data, topicAad(topic));
    if (!opened.ok) return opened;
    plaintext = opened.plaintext;
  } else {
    if (data.length === 0) return { ok: false, reason: 'malformed' };
    if (data[0] !== PLAIN_VERSION) return { ok: false, reason: 'bad-version' };
    plaintext = data.subarray(1);
  }
  const batch = decodeBatch(plaintext);
  return batch === undefined ? { ok: false, reason: 'malformed' } : { ok: true, batch };
}

/** The associated data binding an envelope to its topic. */
export function topicAad(topic: string): Uint8Array {
  return new TextEncoder().encode(topic);
}
