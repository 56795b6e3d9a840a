/**
 * Drains: an operator (or a maintenance window) takes an IP out of DNS on
 * purpose. A drained IP counts as down for DNS on every agent, whatever its
 * probes say; it is still probed, and its real health stays visible.
 *
 * This file is the contract between the drain state (src/drain/), the
 * control endpoint on the status listener, and the CLI
 * (`goavail drain/undrain/drains`).
 */

/** Where a drain came from. */
export type DrainSource = 'operator' | 'maintenance';

/**
 * One IP's drain record, as kept, persisted and gossiped. Last writer wins
 * per IP, ordered by (`at`, `origin`). An undrain is a tombstone
 * (`drained: false`) kept until the drain it replaced would have expired.
 */
export interface DrainEntry {
  readonly ip: string;
  /** false: an undrain (tombstone). */
  readonly drained: boolean;
  /** When it was set (ms since epoch, the setting agent's clock). */
  readonly at: number;
  /** Id of the agent that set it (its libp2p peer id; in gossip, the signed sender). */
  readonly origin: string;
  /** When it ends by itself (ms since epoch); undefined: until undrained. */
  readonly until: number | undefined;
  /** Who asked (as the CLI reports it, e.g. `alice@host`); at most 64 characters. */
  readonly by: string;
  /** Why; at most 200 characters; may be empty. */
  readonly reason: string;
  readonly source: DrainSource;
}

export interface DrainRequest {
  readonly ip: string;
  /** How long (ms); undefined: until undrained. */
  readonly forMs?: number;
  readonly reason?: string;
  readonly by?: string;
  /** Drain even the last up IP of a hostname (its record still stays: keep-last). */
  readonly force?: boolean;
}

export interface UndrainRequest {
  readonly ip: string;
  readonly by?: string;
}

/** The answer to a drain or undrain; `status` is the HTTP status the control endpoint sends. */
export type DrainAnswer =
  { readonly ok: true; readonly entry: DrainEntry; readonly note?: string } | { readonly ok: false; readonly status: 400 | 404 | 409; readonly error: string };

/** What the control endpoint asks of the agent. */
export interface DrainControl {
  drain(req: DrainRequest, now: number): DrainAnswer;
  undrain(req: UndrainRequest, now: number): DrainAnswer;
  /** Active drains and live tombstones, sorted by IP. */
  list(now: number): readonly DrainEntry[];
}
