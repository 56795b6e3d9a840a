import type { DnsErrorKind, RecordType } from '../model.js';

export type { DnsErrorKind, RecordType } from '../model.js';

/** A DNS record as the provider reports it. */
export interface DnsRecord {
  readonly id: string;
  readonly type: RecordType;
  /** Fully qualified, lower case, no trailing dot. */
  readonly name: string;
  /** The IP address, normalised. */
  readonly content: string;
  readonly proxied: boolean;
  readonly ttl: number;
  /**
   * Where the provider keeps this record, in words for logs (Route 53: the
   * record set, `set test, weighted`); absent for Cloudflare, whose records
   * stand alone.
   */
  readonly note?: string;
}

/** A record to create: everything but the id the provider assigns. */
export type NewRecord = Omit<DnsRecord, 'id'>;

/** One step of a plan. Deletes carry the record (with id) they remove. */
export type Change = { readonly op: 'create'; readonly record: NewRecord } | { readonly op: 'delete'; readonly record: DnsRecord };

/**
 * The narrow seam in front of a DNS API: only the calls goavail needs.
 * `listRecords` returns every A/AAAA record of the given names.
 * `apply` performs the changes (atomically where the API allows) or throws
 * a DnsError; it may say what it did ({@link Applied}).
 */
export interface DnsProvider {
  readonly name: string;
  listRecords(names: readonly string[], signal?: AbortSignal): Promise<DnsRecord[]>;
  /** Resolves with what it did; nothing (undefined) means the changes were made in DNS. */
  apply(changes: readonly Change[], signal?: AbortSignal): Promise<Applied | void>;
}

/**
 * What an apply did. A real provider made the changes (it may return
 * nothing: {@link APPLIED}). The dry-run provider made none: `dryRun`, and
 * `listed` says whether the records it lists follow the would-be changes
 * (its simulated zone does; a real zone read for a dry run does not).
 */
export interface Applied {
  readonly dryRun: boolean;
  /** Whether `listRecords` now shows the changes. */
  readonly listed: boolean;
}

/** A provider that returns nothing from apply made the changes. */
export const APPLIED: Applied = { dryRun: false, listed: true };

export class DnsError extends Error {
  readonly kind: DnsErrorKind;
  readonly retryable: boolean;
  /** Seconds the API asked us to wait (Retry-After), if any. */
  readonly retryAfterSeconds: number | undefined;
  readonly status: number | undefined;
  constructor(kind: DnsErrorKind, message: string, opts: { status?: number; retryAfterSeconds?: number; cause?: unknown } = {}) {
    super(message, { cause: opts.cause });
    this.name = 'DnsError';
    this.kind = kind;
    this.status = opts.status;
    this.retryAfterSeconds = opts.retryAfterSeconds;
    this.retryable = kind === 'rate-limit' || kind === 'server' || kind === 'timeout' || kind === 'network' || kind === 'conflict';
  }
}
