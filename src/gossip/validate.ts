import { unwrapBatch } from './envelope.js';
import type { Keyring } from './keyring.js';
import type { DropReason, Observation, ObservationBatch } from './types.js';

export const DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024;
export const DEFAULT_MAX_SKEW_MS = 60_000;

/**
 * Highest accepted sequence number per sender.
 *
 * Senders start their sequence at `Date.now() * 1000` when the process starts
 * and add one per message, so a restarted sender continues above its old
 * numbers (unless it published more than 1,000 messages per millisecond of
 * uptime) and is not mistaken for a replay, without any state on disk.
 *
 * Strictly increasing means a message overtaken by a newer one from the same
 * sender is dropped as `replayed`. Accepting it would let an older delta
 * overwrite a newer verdict; the periodic full-state publish repairs
 * anything lost that way.
 */
export class ReplayGuard {
  readonly #last = new Map<string, number>();

  /** True when `seq` is above everything accepted from `from` so far. */
  isFresh(from: string, seq: number): boolean {
    const last = this.#last.get(from);
    return last === undefined || seq > last;
  }

  record(from: string, seq: number): void {
    const last = this.#last.get(from);
    if (last === undefined || seq > last) this.#last.set(from, seq);
  }

  lastSeq(from: string): number | undefined {
    return this.#last.get(from);
  }
}

/** What {@link validateMessage} needs besides the message itself. */
export interface ValidationContext {
  /** Undefined when no crypto_key is configured: payloads are then unsealed. */
  readonly keyring: Keyring | undefined;
  /** The topic, authenticated as associated data of the envelope. */
  readonly topic: string;
  /** Whether a (signature-verified) origin peer id may send observations. */
  readonly isAllowedSender: (peerId: string) => boolean;
  /** Whether an observed IP is one this agent manages (canonical text, see codec.ts). */
  readonly isKnownIp: (ip: string) => boolean;
  readonly replay: ReplayGuard;
  /** Accepted clock difference either way; default 60 s. */
  readonly maxSkewMs?: number;
  /** Largest accepted message; default 256 KiB. */
  readonly maxBytes?: number;
}

/**
 * The context a receiver keeps for its whole life: the configured key,
 * topic and IPs, who may send, and a fresh replay guard (one per receiver).
 */
export function validationContext(
  opts: { readonly keyring?: Keyring | undefined; readonly isKnownIp: (ip: string) => boolean; readonly maxSkewMs?: number | undefined },
  topic: string,
  isAllowedSender: (peerId: string) => boolean,
): ValidationContext {
  return {
    keyring: opts.keyring,
    topic,
    isAllowedSender,
    isKnownIp: opts.isKnownIp,
    replay: new ReplayGuard(),
    ...(opts.maxSkewMs !== undefined ? { maxSkewMs: opts.maxSkewMs } : {}),
  };
}

export type ValidationResult =
  | {
      readonly ok: true;
      /** The batch, with observations of unknown IPs removed. */
      readonly batch: ObservationBatch;
      /** IPs that were removed because `isKnownIp` refused them. */
      readonly unknownIps: readonly string[];
    }
  | { readonly ok: false; readonly reason: DropReason };

/**
 * Decide whether a received message is accepted. Pure apart from recording
 * the sequence number of an authentic, fresh message in `ctx.replay`.
 * Never throws.
 *
 * Checks, cheapest first; the first failure is the reason:
 *
 * | step | check                                   | reason                     |
 * |------|-----------------------------------------|----------------------------|
 * | 1    | size ≤ maxBytes                         | oversized                  |
 * | 2    | origin is an allowed peer               | unknown-sender             |
 * | 3    | envelope version, length, GCM tag       | bad-version/malformed/bad-tag |
 * | 4    | batch decodes                           | malformed                  |
 * | 5    | sentAt within now ± maxSkewMs           | too-old / too-new          |
 * | 6    | seq above the last accepted from origin | replayed                   |
 * | 7    | at least one observation of a known IP  | unknown-ip                 |
 *
 * Unknown IPs: only those observations are dropped and the rest is
 * accepted (returned in `unknownIps` for logging), because agents briefly
 * disagree on the IP list during a config rollout and a peer should not go
 * deaf meanwhile. A non-empty batch in which no IP is known is dropped
 * as `unknown-ip`; an empty batch is accepted (nothing to say is news too).
 * The sequence number is recorded from step 6 on, so even a batch dropped
 * for unknown IPs cannot be replayed.
 */
export function validateMessage(from: string, data: Uint8Array, now: number, ctx: ValidationContext): ValidationResult {
  try {
    return validateUnchecked(from, data, now, ctx);
  } catch {
    // A predicate supplied by the caller threw; the message is still dropped.
    return { ok: false, reason: 'malformed' };
  }
}

function validateUnchecked(from: string, data: Uint8Array, now: number, ctx: ValidationContext): ValidationResult {
  const maxBytes = ctx.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const maxSkew = ctx.maxSkewMs ?? DEFAULT_MAX_SKEW_MS;
  if (data.length > maxBytes) return { ok: false, reason: 'oversized' };
  if (!ctx.isAllowedSender(from)) return { ok: false, reason: 'unknown-sender' };
  const unwrapped = unwrapBatch(data, ctx.keyring, ctx.topic);
  if (!unwrapped.ok) return unwrapped;
  const batch = unwrapped.batch;
  if (batch.sentAt < now - maxSkew) return { ok: false, reason: 'too-old' };
  if (batch.sentAt > now + maxSkew) return { ok: false, reason: 'too-new' };
  if (!ctx.replay.isFresh(from, batch.seq)) return { ok: false, reason: 'replayed' };
  ctx.replay.record(from, batch.seq);
  const known: Observation[] = [];
  const unknownIps: string[] = [];
  for (const o of batch.observations) {
    if (ctx.isKnownIp(o.ip)) known.push(o);
    else unknownIps.push(o.ip);
  }
  if (unknownIps.length === 0) return { ok: true, batch, unknownIps };
  if (known.length === 0) return { ok: false, reason: 'unknown-ip' };
  return { ok: true, batch: { ...batch, observations: known }, unknownIps };
}

/** A zeroed counter per drop reason. */
export function emptyDropCounts(): Record<DropReason, number> {
  return {
    oversized: 0,
    duplicate: 0,
    'bad-signature': 0,
    graylisted: 0,
    'bad-version': 0,
    'bad-tag': 0,
    malformed: 0,
    replayed: 0,
    'too-old': 0,
    'too-new': 0,
    'unknown-sender': 0,
    'unknown-ip': 0,
    unsigned: 0,
    'unknown-kind': 0,
  };
}
