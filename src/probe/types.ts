/** The result of probing one target once. Any error is a miss (`ok: false`). */
export interface ProbeResult {
  readonly ip: string;
  readonly ok: boolean;
  /** Round-trip time in ms when ok. */
  readonly rttMs?: number;
  /** Why it missed (timeout, refused, unreachable...), for debug logs. */
  readonly error?: string;
}

/**
 * Probes a list of targets once each, concurrently, every probe bounded by
 * the timeout. Never rejects for a per-target failure: those are misses.
 */
export interface Prober {
  readonly kind: 'ip' | 'tcp';
  probe(ips: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult[]>;
  close(): void;
}

/** Thrown at start-up when the prober cannot work at all (e.g. no raw-socket permission). */
export class ProberSetupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProberSetupError';
  }
}
