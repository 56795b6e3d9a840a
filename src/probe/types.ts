import type { ProbeType } from '../model.js';
import type { NoObservationReason } from './local.js';

export type { ProbeType } from '../model.js';

export type { LocalErrorCode, NoObservationReason } from './local.js';

/**
 * The result of probing one target once. Three outcomes:
 *
 * | ok    | local     | meaning                                                       | detector         |
 * |-------|-----------|---------------------------------------------------------------|------------------|
 * | true  | —         | the target answered                                           | success          |
 * | false | undefined | the target did not answer (timeout, refused, unreachable...)  | miss             |
 * | false | a code    | no probe could be sent: this host ran out of something        | no observation   |
 *
 * Why the third: a probe that fails with EMFILE, ENFILE, ENOBUFS, ENOMEM or
 * EADDRNOTAVAIL says nothing about the target, only about this machine. A
 * local process that eats this agent's file descriptors must not be able to
 * make it delete a healthy IP (see src/probe/local.ts for the list and why).
 */
export interface ProbeResult {
  readonly ip: string;
  readonly ok: boolean;
  /** Round-trip time in ms when ok. */
  readonly rttMs?: number;
  /** Why it missed (timeout, refused, unreachable...) or why no probe was sent, for logs and status. */
  readonly error?: string;
  /** Why it missed, one word (HTTP(S) probes: see HTTP_MISS_REASONS in ./http-check.ts); for the misses-by-reason metric. */
  readonly reason?: string;
  /** HTTPS probes: when the server's certificate expires (ms since the epoch), read during the handshake. */
  readonly certExpiresAt?: number;
  /** Set (with `ok: false`) when the probe could not be sent for a reason of this host: no observation, not a miss. */
  readonly local?: NoObservationReason;
}

/**
 * Probes a list of targets once each, concurrently, every probe bounded by
 * the timeout. Never rejects for a per-target failure: those are misses, or
 * no-observation results when the failure is this host's (`local`).
 */
export interface Prober {
  readonly kind: ProbeType;
  /**
   * `onResult`, when given, hears each target's result the moment it is
   * known (an answer, an error, or the timeout), before the round resolves:
   * the observer suspects the targets still silent after `suspect_after`.
   */
  probe(ips: readonly string[], timeoutMs: number, signal?: AbortSignal, onResult?: (result: ProbeResult) => void): Promise<ProbeResult[]>;
  close(): void;
}

/** Thrown at start-up when the prober cannot work at all (e.g. no raw-socket permission). */
export class ProberSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProberSetupError';
  }
}
