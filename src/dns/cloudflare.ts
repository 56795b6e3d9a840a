import Cloudflare, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError, type APIPromise } from 'cloudflare';
import { parseRetryAfter, parseRetryAfterMs } from '../backoff.js';
import type { Logger } from '../log.js';
import { canonicalIpOrText, parseIp } from '../net/ip.js';
import { DEFAULT_BATCH_CHANGES, splitChanges } from './batch.js';
import { withRetry, type RetryOptions } from './retry.js';
import { DnsError, type Change, type DnsErrorKind, type DnsProvider, type DnsRecord, type NewRecord, type RecordType } from './types.js';

/**
 * How goavail authenticates to Cloudflare. A scoped API token is preferred;
 * the legacy global key + email is kept because original goavail deployments
 * use it (CF_API_KEY / CF_API_EMAIL).
 */
export type CloudflareCredentials = { apiToken: string } | { apiKey: string; apiEmail: string };

/**
 * Credentials from the environment: CLOUDFLARE_API_TOKEN first, else a key
 * and email from goavail's CF_API_KEY + CF_API_EMAIL or the SDK's
 * CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL. Empty values count as unset;
 * a key without an email (or the reverse) gives undefined.
 */
export function credentialsFromEnv(env: NodeJS.ProcessEnv): CloudflareCredentials | undefined {
  const get = (k: string): string | undefined => {
    const v = env[k]?.trim();
    return v ? v : undefined;
  };
  const apiToken = get('CLOUDFLARE_API_TOKEN');
  if (apiToken) return { apiToken };
  const apiKey = get('CF_API_KEY') ?? get('CLOUDFLARE_API_KEY');
  const apiEmail = get('CF_API_EMAIL') ?? get('CLOUDFLARE_EMAIL');
  if (apiKey && apiEmail) return { apiKey, apiEmail };
  return undefined;
}

export interface CloudflareProviderOptions {
  /** The zone that holds the managed names, e.g. "example.com". */
  zoneName: string;
  /**
   * The zone's id (`zone_id` in [Cloudflare]): no lookup by name then (two
   * zones may share one, e.g. a pending and an active copy); the zone's name
   * is checked against `zoneName` once.
   */
  zoneId?: string | undefined;
  credentials: CloudflareCredentials;
  /** API base ending in /client/v4; default env CLOUDFLARE_BASE_URL, else the SDK default. */
  baseURL?: string;
  logger: Logger;
  /** Per-request timeout, each retry included separately (default 10000). */
  requestTimeoutMs?: number;
  retry?: RetryOptions;
  /** Apply each plan as transactional batch calls (default true). */
  useBatch?: boolean;
  /** Changes per batch call at most, a (name, type) group never split (default 200; src/dns/batch.ts). */
  batchChanges?: number;
  /** `per_page` of record listings (default 5000). */
  pageSize?: number;
  /** Injected for tests (default Date.now). */
  now?: () => number;
  /** Injected for tests: the API calls (default: the SDK on `baseURL` with `credentials`). */
  api?: CloudflareDns;
}

/** A record's fields as the API takes them. */
export interface RecordBody {
  type: RecordType;
  name: string;
  content: string;
  proxied: boolean;
  ttl: number;
}

/** The result and paging info of one answer that said `success: true`. */
export interface Envelope {
  result: unknown;
  resultInfo: Record<string, unknown> | undefined;
}

/**
 * The subset of the Cloudflare API that we actually use (after external-dns's
 * `cloudFlareDNS`), so the provider's logic — zone choice, paging, batch and
 * its one-by-one fallback, "already exists/gone" — can be tested against a
 * fake that records its calls, with no HTTP. `sdkCloudflareDns` is the real
 * one, a thin wrapper tested through the SDK against a local HTTP stand-in.
 *
 * Each call resolves with the envelope of a `success: true` answer or rejects
 * with what the SDK throws (APIError and its connection errors) or an
 * EnvelopeError; the provider turns every rejection into a CloudflareDnsError.
 * The parameter shapes are the SDK's.
 */
export interface CloudflareDns {
  listZones(params: { name: string; per_page: number }, signal?: AbortSignal): Promise<Envelope>;
  getZone(params: { zone_id: string }, signal?: AbortSignal): Promise<Envelope>;
  listRecords(params: { zone_id: string; name: { exact: string }; page: number; per_page: number }, signal?: AbortSignal): Promise<Envelope>;
  createRecord(params: { zone_id: string } & RecordBody, signal?: AbortSignal): Promise<Envelope>;
  deleteRecord(id: string, params: { zone_id: string }, signal?: AbortSignal): Promise<Envelope>;
  batchRecords(params: { zone_id: string; deletes: { id: string }[]; posts: RecordBody[] }, signal?: AbortSignal): Promise<Envelope>;
}

/** An answer that is not a `success: true` JSON envelope; `errors` undefined: the body is not JSON. */
class EnvelopeError extends Error {
  constructor(
    readonly status: number,
    readonly errors: readonly ErrorItem[] | undefined,
  ) {
    super(errors === undefined ? `HTTP ${status}, body not JSON` : `HTTP ${status}, success: false`);
    this.name = 'EnvelopeError';
  }
}

/** The real CloudflareDns: the SDK's calls, each answer read and checked within `timeoutMs`. */
function sdkCloudflareDns(client: Cloudflare, timeoutMs: number): CloudflareDns {
  const call = async (p: APIPromise<unknown>, signal: AbortSignal | undefined): Promise<Envelope> => readEnvelope(await p.asResponse(), timeoutMs, signal);
  return {
    listZones: (params, signal) => call(client.zones.list(params, { signal }), signal),
    getZone: (params, signal) => call(client.zones.get(params, { signal }), signal),
    listRecords: (params, signal) => call(client.dns.records.list(params, { signal }), signal),
    createRecord: (params, signal) => call(client.dns.records.create(params, { signal }), signal),
    deleteRecord: (id, params, signal) => call(client.dns.records.delete(id, params, { signal }), signal),
    batchRecords: (params, signal) => call(client.dns.records.batch(params, { signal }), signal),
  };
}

/** The body of `response` as a checked envelope; the read is bounded by `timeoutMs`. */
async function readEnvelope(response: Response, timeoutMs: number, signal: AbortSignal | undefined): Promise<Envelope> {
  let text: string;
  let timer: NodeJS.Timeout | undefined;
  try {
    text = await Promise.race([
      response.text(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new APIConnectionTimeoutError({ message: 'Timed out reading the response body.' })), timeoutMs);
      }),
    ]);
  } catch (err) {
    response.body?.cancel().catch(() => undefined);
    if (signal?.aborted) throw signal.reason;
    throw err;
  } finally {
    clearTimeout(timer);
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new EnvelopeError(response.status, undefined);
  }
  const b = body as { success?: unknown; errors?: unknown; result?: unknown; result_info?: unknown } | null;
  if (typeof b !== 'object' || b === null || b.success !== true) throw new EnvelopeError(response.status, errorItems(b?.errors));
  const info = b.result_info;
  return { result: b.result, resultInfo: typeof info === 'object' && info !== null ? (info as Record<string, unknown>) : undefined };
}

/**
 * A DnsError from the Cloudflare API that also carries Cloudflare's error
 * codes, so callers can tell "record already exists" (81057) from "record
 * does not exist" (81044) or "unknown zone" (7003) without parsing text.
 */
export class CloudflareDnsError extends DnsError {
  readonly codes: readonly number[];
  constructor(kind: DnsErrorKind, message: string, opts: { status?: number; retryAfterSeconds?: number; cause?: unknown; codes?: readonly number[] } = {}) {
    super(kind, message, opts);
    this.codes = opts.codes ?? [];
  }
}

/** Cloudflare error codes the provider acts on. */
const CODE = {
  noRoute: 7000,
  unknownZone: 7003,
  recordMissing: 81044,
  recordExists: 81057,
  recordConflict: 81058,
} as const;

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_PAGE_SIZE = 5000;
/** After the batch endpoint answered "no such route", single calls are used this long before batching is tried again. */
const BATCH_RETRY_MS = 10 * 60_000;
/** Pages of one name's listing at most (500,000 records at the default page size). */
const MAX_PAGES = 100;

/** Thrown by the batch path when the API has no batch endpoint; never leaves this module. */
class BatchUnavailable extends Error {}

/**
 * The Cloudflare side of the DnsProvider seam, on the official SDK.
 *
 * - The SDK's own retries are off (`maxRetries: 0`): `withRetry` retries
 *   reads only, only what can help, and caps Retry-After. A change is sent
 *   once: after a wait the plan may be stale (an IP down at planning time
 *   may be up again), so a failed change goes up to the agent, which waits
 *   (Retry-After or backoff), re-reads and re-plans.
 * - `apply` sends a plan as batches (deletes then posts, all or nothing per
 *   batch) of at most 200 changes, each (name, type) whole in one batch.
 *   Without a batch endpoint it falls back to single calls for 10 minutes,
 *   creates first so a name never has zero records in between; there
 *   "already exists" and "already gone" count as done, which makes a resent
 *   plan harmless.
 * - Every failure leaves as a DnsError (a CloudflareDnsError when the API
 *   answered), except an abort, which rejects with the signal's reason.
 * - Secrets never appear in messages: the provider scrubs its own
 *   credentials from any text it passes on.
 */
export class CloudflareProvider implements DnsProvider {
  readonly name = 'cloudflare';
  readonly #api: CloudflareDns;
  readonly #batchChanges: number;
  readonly #zoneName: string;
  readonly #pinnedZoneId: string | undefined;
  readonly #logger: Logger;
  readonly #retry: RetryOptions;
  readonly #useBatch: boolean;
  readonly #pageSize: number;
  readonly #timeoutMs: number;
  readonly #secrets: string[];
  readonly #credentialHint: string;
  readonly #now: () => number;
  /** Until then (ms), changes go one call at a time: the batch endpoint answered "no such route". */
  #batchRetryAt = 0;
  /** Records already logged as not managed (by id), so each is logged once. */
  readonly #skipped = new Set<string>();
  #zoneId: string | undefined;
  #zoneLookup: { promise: Promise<string>; controller: AbortController; waiters: number } | undefined;

  constructor(opts: CloudflareProviderOptions) {
    this.#zoneName = normaliseName(opts.zoneName);
    this.#pinnedZoneId = opts.zoneId;
    this.#logger = opts.logger;
    this.#retry = opts.retry ?? {};
    this.#useBatch = opts.useBatch ?? true;
    this.#pageSize = opts.pageSize ?? DEFAULT_PAGE_SIZE;
    this.#timeoutMs = opts.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#now = opts.now ?? Date.now;
    const creds = opts.credentials;
    // Explicit nulls: otherwise the SDK also picks up CLOUDFLARE_API_KEY /
    // CLOUDFLARE_EMAIL / CLOUDFLARE_API_TOKEN from the environment and sends both schemes.
    const auth =
      'apiToken' in creds
        ? { apiToken: creds.apiToken, apiKey: null, apiEmail: null, userServiceKey: null }
        : { apiToken: null, apiKey: creds.apiKey, apiEmail: creds.apiEmail, userServiceKey: null };
    this.#secrets = ('apiToken' in creds ? [creds.apiToken] : [creds.apiKey]).filter((s) => s.length > 0);
    this.#credentialHint =
      'apiToken' in creds
        ? 'check that CLOUDFLARE_API_TOKEN is valid and has the Zone:Read and DNS:Edit permissions'
        : 'check CF_API_KEY and CF_API_EMAIL (or use a CLOUDFLARE_API_TOKEN with Zone:Read and DNS:Edit)';
    if (this.#secrets.length === 0) {
      throw new DnsError('auth', `Cloudflare credentials are empty: ${this.#credentialHint}`);
    }
    this.#batchChanges = opts.batchChanges ?? DEFAULT_BATCH_CHANGES;
    this.#api =
      opts.api ??
      sdkCloudflareDns(
        new Cloudflare({
          ...auth,
          ...(opts.baseURL !== undefined ? { baseURL: opts.baseURL } : {}),
          maxRetries: 0,
          timeout: this.#timeoutMs,
          logLevel: 'off',
        }),
        this.#timeoutMs,
      );
  }

  /** The zone id, looked up (or, when pinned, checked) once and cached; concurrent callers share one lookup. */
  async zoneId(signal?: AbortSignal): Promise<string> {
    signal?.throwIfAborted();
    if (this.#zoneId !== undefined) return this.#zoneId;
    if (this.#zoneLookup === undefined) {
      const controller = new AbortController();
      const lookup = { promise: this.#lookupZone(controller.signal), controller, waiters: 0 };
      this.#zoneLookup = lookup;
      lookup.promise
        .then(
          (id) => {
            this.#zoneId = id;
          },
          () => undefined,
        )
        .finally(() => {
          if (this.#zoneLookup === lookup) this.#zoneLookup = undefined;
        });
    }
    const lookup = this.#zoneLookup;
    lookup.waiters += 1;
    try {
      return await raceAbort(lookup.promise, signal);
    } finally {
      lookup.waiters -= 1;
      // The last interested caller gave up: stop the shared lookup too.
      if (lookup.waiters === 0 && signal?.aborted) {
        if (this.#zoneLookup === lookup) this.#zoneLookup = undefined;
        lookup.controller.abort(signal.reason);
      }
    }
  }

  async listRecords(names: readonly string[], signal?: AbortSignal): Promise<DnsRecord[]> {
    const wanted = [...new Set(names.map(normaliseName))];
    if (wanted.length === 0) return [];
    const zoneId = await this.zoneId(signal);
    const out: DnsRecord[] = [];
    const seen = new Set<string>();
    for (const name of wanted) {
      // Every id listed for this name, of any type: a page that adds none ends the listing.
      const ids = new Set<string>();
      for (let page = 1; ; page++) {
        const env = await this.#request(
          `listing records of ${name} (page ${page})`,
          (s) => this.#api.listRecords({ zone_id: zoneId, name: { exact: name }, page, per_page: this.#pageSize }, s),
          signal,
        );
        if (!Array.isArray(env.result)) throw new CloudflareDnsError('bad-response', `Cloudflare answered a record listing of ${name} without a result list`);
        const before = ids.size;
        for (const item of env.result) {
          const id = (item as { id?: unknown } | null)?.id;
          if (typeof id === 'string') ids.add(id);
          const listed = toDnsRecord(item);
          if (listed === undefined) continue;
          const { record: rec, address } = listed;
          if (rec.name !== name || seen.has(rec.id)) continue;
          seen.add(rec.id);
          if (address) out.push(rec);
          else this.#skipUnmanaged(rec);
        }
        if (ids.size === before || page >= lastPage(env.resultInfo, this.#pageSize)) break;
        if (page >= MAX_PAGES) {
          throw new CloudflareDnsError(
            'bad-response',
            `Cloudflare still reports more records of ${name} after ${MAX_PAGES} pages; stopping rather than reading forever`,
          );
        }
      }
    }
    return out;
  }

  async apply(changes: readonly Change[], signal?: AbortSignal): Promise<void> {
    if (changes.length === 0) return;
    const zoneId = await this.zoneId(signal);
    let rest: readonly Change[] = changes;
    if (this.#useBatch && this.#now() >= this.#batchRetryAt) {
      // At most batchChanges per call, each (name, type) whole in one call (src/dns/batch.ts).
      // A failure after the first call leaves the earlier calls applied; the agent re-reads.
      const batches = splitChanges(changes, this.#batchChanges);
      for (let i = 0; i < batches.length; i++) {
        try {
          await this.#applyBatch(zoneId, batches[i]!, signal, batches.length > 1 ? `batch ${i + 1} of ${batches.length}` : 'one batch');
        } catch (err) {
          if (!(err instanceof BatchUnavailable)) throw err;
          this.#batchRetryAt = this.#now() + BATCH_RETRY_MS;
          this.#logger.warn(
            { provider: this.name, zone: this.#zoneName, reason: err.message, retryBatchInMs: BATCH_RETRY_MS },
            'cloudflare batch endpoint unavailable, applying changes one call at a time for the next 10 minutes',
          );
          rest = batches.slice(i).flat();
          break;
        }
        if (i === batches.length - 1) return;
      }
    }
    await this.#applyOneByOne(zoneId, rest, signal);
  }

  async #applyBatch(zoneId: string, changes: readonly Change[], signal: AbortSignal | undefined, which: string): Promise<void> {
    const deletes = changes.filter((c) => c.op === 'delete').map((c) => ({ id: c.record.id }));
    const posts = changes.filter((c) => c.op === 'create').map((c) => recordBody(c.record));
    const op = `applying ${deletes.length} deletion(s) and ${posts.length} creation(s) as ${which}`;
    try {
      await this.#request(op, (s) => this.#api.batchRecords({ zone_id: zoneId, deletes, posts }, s), signal, { change: true });
    } catch (err) {
      if (!(err instanceof CloudflareDnsError)) throw err;
      const { status, codes } = err;
      const zoneGone = codes.includes(CODE.unknownZone);
      const noBatchRoute = status === 405 || status === 501 || (status === 404 && !codes.includes(CODE.recordMissing));
      if (noBatchRoute && !zoneGone) throw new BatchUnavailable(`HTTP ${status}`);
      if (codes.includes(CODE.recordMissing) || codes.includes(CODE.recordExists) || codes.includes(CODE.recordConflict)) {
        throw new CloudflareDnsError(
          'conflict',
          `Cloudflare rejected the batch because DNS changed since it was planned (${err.message}); the next reconcile re-reads and re-plans`,
          {
            status,
            codes,
            cause: err,
          },
        );
      }
      throw err;
    }
    this.#logger.debug({ provider: this.name, zone: this.#zoneName, deleted: deletes.length, created: posts.length }, 'cloudflare batch applied');
  }

  async #applyOneByOne(zoneId: string, changes: readonly Change[], signal?: AbortSignal): Promise<void> {
    for (const change of changes) {
      if (change.op !== 'create') continue;
      const r = change.record;
      try {
        await this.#request(`creating ${r.type} ${r.name} ${r.content}`, (s) => this.#api.createRecord({ zone_id: zoneId, ...recordBody(r) }, s), signal, {
          change: true,
        });
      } catch (err) {
        if (!(err instanceof CloudflareDnsError && err.codes.includes(CODE.recordExists))) throw err;
        this.#logger.info({ provider: this.name, hostname: r.name, ip: r.content, action: 'create' }, 'record already exists, nothing to do');
      }
    }
    for (const change of changes) {
      if (change.op !== 'delete') continue;
      const r = change.record;
      try {
        await this.#request(`deleting ${r.type} ${r.name} ${r.content} (${r.id})`, (s) => this.#api.deleteRecord(r.id, { zone_id: zoneId }, s), signal, {
          change: true,
        });
      } catch (err) {
        if (!(err instanceof CloudflareDnsError && err.status === 404 && !err.codes.includes(CODE.unknownZone))) throw err;
        this.#logger.info({ provider: this.name, hostname: r.name, ip: r.content, action: 'delete' }, 'record already gone, nothing to do');
      }
    }
  }

  /**
   * The zone by name. Several zones may share a name (a pending copy next to
   * the active one): exactly one active → that one (logged); otherwise an
   * error naming them all, since writing into the wrong one is silent.
   */
  async #lookupZone(signal: AbortSignal): Promise<string> {
    if (this.#pinnedZoneId !== undefined) return this.#checkPinnedZone(this.#pinnedZoneId, signal);
    const env = await this.#request(`looking up zone ${this.#zoneName}`, (s) => this.#api.listZones({ name: this.#zoneName, per_page: 50 }, s), signal);
    if (!Array.isArray(env.result))
      throw new CloudflareDnsError('bad-response', `Cloudflare answered the lookup of zone ${this.#zoneName} without a result list`);
    const zones: { id: string; status: string }[] = [];
    for (const z of env.result as unknown[]) {
      const zone = z as { id?: unknown; name?: unknown; status?: unknown } | null;
      if (typeof zone?.id === 'string' && typeof zone.name === 'string' && normaliseName(zone.name) === this.#zoneName) {
        zones.push({ id: zone.id, status: typeof zone.status === 'string' ? zone.status : 'unknown' });
      }
    }
    if (zones.length === 0) {
      throw new CloudflareDnsError(
        'not-found',
        `Cloudflare zone "${this.#zoneName}" not found: check dns_domain, and that the credentials can read that zone (Zone:Read)`,
      );
    }
    if (zones.length === 1) return zones[0]!.id;
    const all = zones.map((z) => `${z.id} (${z.status})`).join(', ');
    const active = zones.filter((z) => z.status === 'active');
    if (active.length === 1) {
      this.#logger.info(
        { provider: this.name, zone: this.#zoneName, zoneId: active[0]!.id, zones: all },
        `Cloudflare has ${zones.length} zones named ${this.#zoneName}: ${all}; using the active one, ${active[0]!.id} (set zone_id in [Cloudflare] to choose)`,
      );
      return active[0]!.id;
    }
    throw new CloudflareDnsError(
      'not-found',
      `Cloudflare has ${zones.length} zones named "${this.#zoneName}" (${all}) and ${active.length === 0 ? 'none' : active.length} of them active: set zone_id in [Cloudflare] to the id of the zone to manage`,
    );
  }

  /** A pinned zone id: one read, to check that it is the zone of dns_domain. */
  async #checkPinnedZone(id: string, signal: AbortSignal): Promise<string> {
    const env = await this.#request(`reading zone_id ${id}`, (s) => this.#api.getZone({ zone_id: id }, s), signal);
    const name = (env.result as { name?: unknown } | null)?.name;
    if (typeof name !== 'string') throw new CloudflareDnsError('bad-response', `Cloudflare answered the read of zone_id ${id} without a zone name`);
    if (normaliseName(name) !== this.#zoneName) {
      throw new CloudflareDnsError(
        'not-found',
        `zone_id ${id} is the Cloudflare zone "${normaliseName(name)}", not dns_domain "${this.#zoneName}": fix zone_id or dns_domain in [Cloudflare]`,
      );
    }
    return id;
  }

  /**
   * A record whose content is not an address of its type (`A 127.000.0.9`)
   * can never be one of the configured IPs, so it is not managed: skipped,
   * logged once at debug, never a reason to fail a pass.
   */
  #skipUnmanaged(rec: DnsRecord): void {
    if (this.#skipped.has(rec.id)) return;
    if (this.#skipped.size >= 10_000) this.#skipped.clear();
    this.#skipped.add(rec.id);
    this.#logger.debug(
      { provider: this.name, hostname: rec.name, type: rec.type, content: rec.content, id: rec.id },
      'record content is not an IP address of its type: not managed, skipped',
    );
  }

  /** One API call, a read with retries, a change (`change: true`) sent once; returns the checked envelope or throws a mapped error. */
  async #request(
    op: string,
    send: (signal?: AbortSignal) => Promise<Envelope>,
    signal: AbortSignal | undefined,
    opts: { change?: boolean } = {},
  ): Promise<Envelope> {
    return withRetry(
      async () => {
        try {
          return await send(signal);
        } catch (err) {
          throw this.#mapError(err, op, signal);
        }
      },
      {
        ...this.#retry,
        ...(opts.change ? { attempts: 1 } : {}),
        ...(signal ? { signal } : {}),
        onRetry: (err, delayMs, attempt) => {
          this.#logger.warn(
            { provider: this.name, zone: this.#zoneName, op, kind: err.kind, status: err.status, attempt, delayMs, err: err.message },
            'cloudflare request failed, retrying',
          );
        },
      },
    );
  }

  /** Every failure as a DnsError; an abort as the signal's reason. */
  #mapError(err: unknown, op: string, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted) return signal.reason;
    if (err instanceof DnsError) return err;
    if (err instanceof EnvelopeError) {
      const { status, errors } = err;
      if (errors === undefined)
        return new CloudflareDnsError('bad-response', `Cloudflare answered ${op} with HTTP ${status} and a body that is not JSON`, { status });
      return new CloudflareDnsError(
        'bad-response',
        this.#scrub(`Cloudflare reported failure while ${op} (HTTP ${status}, success: false)${describe(errors)}`),
        {
          status,
          codes: errors.map((e) => e.code),
        },
      );
    }
    if (err instanceof APIUserAbortError) return new CloudflareDnsError('timeout', `Cloudflare request aborted while ${op}`, { cause: err });
    if (err instanceof APIConnectionTimeoutError) {
      return new CloudflareDnsError('timeout', `Cloudflare did not answer within ${this.#timeoutMs} ms while ${op}`, { cause: err });
    }
    if (err instanceof APIConnectionError) {
      const cause = err.cause instanceof Error ? `: ${err.cause.message}${err.cause.cause instanceof Error ? ` (${err.cause.cause.message})` : ''}` : '';
      return new CloudflareDnsError('network', this.#scrub(`cannot reach Cloudflare while ${op}${cause}`), { cause: err });
    }
    if (err instanceof APIError && typeof err.status === 'number') {
      const status = err.status;
      const errors = errorItems(err.errors);
      const codes = errors.map((e) => e.code);
      const detail = `HTTP ${status}${describe(errors)}`;
      const make = (kind: DnsErrorKind, message: string, retryAfterSeconds?: number): CloudflareDnsError =>
        new CloudflareDnsError(kind, this.#scrub(message), { status, codes, cause: err, ...(retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}) });
      if (status === 401 || status === 403) {
        return make('auth', `Cloudflare refused the request while ${op} (${detail}): ${this.#credentialHint} on zone ${this.#zoneName}`);
      }
      if (codes.includes(CODE.unknownZone)) {
        // Cloudflare answers an unknown zone id with 7003 (status 400 or 404).
        const staleId = this.#zoneId ?? this.#pinnedZoneId;
        this.#zoneId = undefined; // the zone may have been re-created: look it up again next time
        return make('not-found', `Cloudflare zone "${this.#zoneName}" (id ${staleId ?? 'unknown'}) no longer exists or is not visible while ${op} (${detail})`);
      }
      if (status === 429) return make('rate-limit', `Cloudflare rate limit hit while ${op} (${detail})`, retryAfterSeconds(err.headers, this.#now()));
      if (status >= 500) return make('server', `Cloudflare server error while ${op} (${detail})`);
      if (status === 408) return make('timeout', `Cloudflare timed out the request while ${op} (${detail})`);
      if (status === 409) return make('conflict', `Cloudflare reported a conflict while ${op} (${detail})`);
      if (status === 404) return make('not-found', `Cloudflare answered ${op} with ${detail}`);
      return make('bad-request', `Cloudflare rejected the request while ${op} (${detail})`);
    }
    const message = err instanceof Error ? err.message : String(err);
    return new CloudflareDnsError('bad-response', this.#scrub(`unexpected failure while ${op}: ${message}`), { cause: err });
  }

  #scrub(text: string): string {
    let out = text;
    for (const s of this.#secrets) out = out.split(s).join('[redacted]');
    return out;
  }
}

/**
 * The last page a listing can have, from its result_info: the smaller of
 * total_pages and ceil(total_count / per_page); Infinity when neither is
 * given (then an empty page, a page of ids already seen, or MAX_PAGES ends it).
 */
function lastPage(info: Record<string, unknown> | undefined, askedPerPage: number): number {
  const num = (k: string): number | undefined => {
    const v = info?.[k];
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : undefined;
  };
  const perPage = num('per_page') || askedPerPage;
  const totalCount = num('total_count');
  return Math.min(num('total_pages') ?? Infinity, totalCount === undefined ? Infinity : Math.ceil(totalCount / perPage));
}

/** Lower case, no trailing dot. */
function normaliseName(name: string): string {
  const n = name.trim().toLowerCase();
  return n.endsWith('.') ? n.slice(0, -1) : n;
}

/**
 * An A/AAAA item of a listing as a DnsRecord (other types: undefined).
 * `address` says whether the content is an address of the record's type;
 * only then is it in canonical form and can it be a managed record.
 */
function toDnsRecord(item: unknown): { record: DnsRecord; address: boolean } | undefined {
  const r = item as { id?: unknown; type?: unknown; name?: unknown; content?: unknown; proxied?: unknown; ttl?: unknown } | null;
  if (typeof r !== 'object' || r === null) return undefined;
  const type = r.type;
  if (type !== 'A' && type !== 'AAAA') return undefined;
  if (typeof r.id !== 'string' || typeof r.name !== 'string' || typeof r.content !== 'string') {
    throw new CloudflareDnsError('bad-response', 'Cloudflare returned a DNS record without an id, name or content');
  }
  const parsed = parseIp(r.content.trim());
  const address = parsed !== undefined && parsed.family === (type === 'A' ? 4 : 6);
  const record: DnsRecord = {
    id: r.id,
    type: type as RecordType,
    name: normaliseName(r.name),
    content: address ? canonicalIpOrText(r.content) : r.content,
    proxied: r.proxied === true,
    ttl: typeof r.ttl === 'number' ? r.ttl : 1,
  };
  return { record, address };
}

function recordBody(r: NewRecord): RecordBody {
  return { type: r.type, name: r.name, content: r.content, proxied: r.proxied, ttl: r.ttl };
}

interface ErrorItem {
  code: number;
  message: string;
}

function errorItems(raw: unknown): ErrorItem[] {
  if (!Array.isArray(raw)) return [];
  return raw.flatMap((e: unknown) => {
    const x = e as { code?: unknown; message?: unknown } | null;
    if (typeof x !== 'object' || x === null) return [];
    return [{ code: typeof x.code === 'number' ? x.code : Number(x.code ?? 0), message: typeof x.message === 'string' ? x.message : '' }];
  });
}

function describe(errors: readonly ErrorItem[]): string {
  if (errors.length === 0) return '';
  return `: ${errors.map((e) => `${e.code} ${e.message}`.trim()).join('; ')}`;
}

/**
 * The wait the server asked for, in seconds: Retry-After-Ms first, else
 * Retry-After (src/backoff.ts reads both); undefined when absent or unreadable.
 */
function retryAfterSeconds(headers: Headers | undefined, now: number): number | undefined {
  const ms = parseRetryAfterMs(headers?.get('retry-after-ms')) ?? parseRetryAfter(headers?.get('retry-after'), now);
  return ms === undefined ? undefined : ms / 1000;
}

/** Resolves or rejects with `promise`, or rejects with the signal's reason as soon as it aborts. */
function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  signal.throwIfAborted();
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}
