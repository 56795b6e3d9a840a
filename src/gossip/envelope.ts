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

/** The gossipsub topic of signals (src/gossip/signals.ts): agents without signals never subscribe to it. */
export const DEFAULT_SIGNAL_TOPIC = '/goavail/1/signals';

/** Encode and seal (or prefix) a batch for the given topic. */
export function wrapBatch(batch: ObservationBatch, keyring: Keyring | undefined, topic: string): Uint8Array {
  return wrapPayload(encodeBatch(batch), keyring, topic);
}

/** Seal (or prefix) any encoded payload for the given topic. */
export function wrapPayload(encoded: Uint8Array, keyring: Keyring | undefined, topic: string): Uint8Array {
  if (keyring !== undefined) return keyring.seal(encoded, topicAad(topic));
  const out = new Uint8Array(encoded.length + 1);
  out[0] = PLAIN_VERSION;
  out.set(encoded, 1);
  return out;
}

export type UnwrapResult = { readonly ok: true; readonly batch: ObservationBatch } | { readonly ok: false; readonly reason: OpenFailure };

/** Open (or strip) any payload; never throws. */
export function unwrapPayload(
  data: Uint8Array,
  keyring: Keyring | undefined,
  topic: string,
): { readonly ok: true; readonly plaintext: Uint8Array } | { readonly ok: false; readonly reason: OpenFailure } {
  if (keyring !== undefined) return keyring.open(data, topicAad(topic));
  if (data.length === 0) return { ok: false, reason: 'malformed' };
  if (data[0] !== PLAIN_VERSION) return { ok: false, reason: 'bad-version' };
  return { ok: true, plaintext: data.subarray(1) };
}

/** Open (or strip) and decode; never throws. */
export function unwrapBatch(data: Uint8Array, keyring: Keyring | undefined, topic: string): UnwrapResult {
  const opened = unwrapPayload(data, keyring, topic);
  if (!opened.ok) return opened;
  const plaintext = opened.plaintext;
  const batch = decodeBatch(plaintext);
  return batch === undefined ? { ok: false, reason: 'malformed' } : { ok: true, batch };
}

/** The associated data binding an envelope to its topic. */
export function topicAad(topic: string): Uint8Array {
  return new TextEncoder().encode(topic);
}
