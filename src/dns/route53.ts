import {
  ChangeResourceRecordSetsCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesByNameCommand,
  ListResourceRecordSetsCommand,
  Route53Client,
  type RRType,
  type ResourceRecordSet,
} from '@aws-sdk/client-route-53';
import type { Logger } from '../log.js';
import { normaliseSetName, packBatches, planSetChanges, recordsOfSets, ROUTE53_LIMITS, type RecordSet, type SetChange } from './route53-sets.js';
import { withRetry, type RetryOptions } from './retry.js';
import { DnsError, type Change, type DnsErrorKind, type DnsProvider, type DnsRecord } from './types.js';

/**
 * The subset of the Route 53 API that goavail uses (as external-dns declares
 * `Route53API`), so the provider's logic — zone choice, paging, set
 * rewriting, batching, error mapping — is tested against a fake that records
 * its calls; {@link sdkRoute53Api} is the real one, a thin wrapper tested
 * through the SDK against a local stand-in (test/support/fake-route53.ts).
 * Parameter and answer shapes are the SDK's; every call rejects with what the
 * SDK throws.
 */
export interface Route53Api {
  listHostedZonesByName(p: { DNSName: string; MaxItems?: number }, signal?: AbortSignal): Promise<ZoneList>;
  getHostedZone(p: { Id: string }, signal?: AbortSignal): Promise<{ HostedZone?: Zone | undefined }>;
  listResourceRecordSets(
    p: { HostedZoneId: string; StartRecordName?: string; StartRecordType?: string; StartRecordIdentifier?: string; MaxItems?: number },
    signal?: AbortSignal,
  ): Promise<RecordSetPage>;
  changeResourceRecordSets(p: { HostedZoneId: string; ChangeBatch: { Comment?: string; Changes: SetChange[] } }, signal?: AbortSignal): Promise<ChangeAnswer>;
  getChange(p: { Id: string }, signal?: AbortSignal): Promise<ChangeAnswer>;
}

export interface Zone {
  readonly Id?: string | undefined;
  readonly Name?: string | undefined;
  readonly Config?: { readonly PrivateZone?: boolean | undefined } | undefined;
}
export interface ZoneList {
  readonly HostedZones?: readonly Zone[] | undefined;
  readonly IsTruncated?: boolean | undefined;
}
export interface RecordSetPage {
  readonly ResourceRecordSets?: readonly RecordSet[] | undefined;
  readonly IsTruncated?: boolean | undefined;
  readonly NextRecordName?: string | undefined;
  readonly NextRecordType?: string | undefined;
  readonly NextRecordIdentifier?: string | undefined;
}
export interface ChangeAnswer {
  readonly ChangeInfo?: { readonly Id?: string | undefined; readonly Status?: string | undefined; readonly SubmittedAt?: Date | undefined } | undefined;
}

/** The real {@link Route53Api}: one SDK command per call, abortable. */
export function sdkRoute53Api(client: Route53Client): Route53Api {
  const opts = (signal: AbortSignal | undefined) => ({ abortSignal: signal });
  return {
    listHostedZonesByName: (p, signal) => client.send(new ListHostedZonesByNameCommand(p), opts(signal)),
    getHostedZone: (p, signal) => client.send(new GetHostedZoneCommand(p), opts(signal)),
    listResourceRecordSets: (p, signal) =>
      client.send(
        new ListResourceRecordSetsCommand({ ...p, StartRecordType: p.StartRecordType as RRType | undefined }),
        opts(signal),
      ) as Promise<RecordSetPage>,
    changeResourceRecordSets: (p, signal) =>
      client.send(
        new ChangeResourceRecordSetsCommand({
          HostedZoneId: p.HostedZoneId,
          ChangeBatch: {
            Comment: p.ChangeBatch.Comment,
            Changes: p.ChangeBatch.Changes.map((c) => ({ Action: c.Action, ResourceRecordSet: c.ResourceRecordSet as ResourceRecordSet })),
          },
        }),
        opts(signal),
      ),
    getChange: (p, signal) => client.send(new GetChangeCommand(p), opts(signal)),
  };
}

/**
 * The SDK client. Its own retries are off (maxAttempts 1): goavail retries
 * in src/dns/retry.ts, with capped waits and an abort. Credentials come from
 * the SDK's default chain (env, AWS_PROFILE and the shared files, container
 * and instance roles); the endpoint follows AWS_ENDPOINT_URL_ROUTE_53 when set.
 */
export function createRoute53Client(opts: { region?: string | undefined; requestTimeoutMs?: number }): Route53Client {
  const timeout = opts.requestTimeoutMs ?? 10_000;
  return new Route53Client({
    // Route 53 is a global service signed for us-east-1; the region only matters to the SDK.
    region: opts.region ?? (process.env.AWS_REGION || undefined) ?? 'us-east-1',
    maxAttempts: 1,
    requestHandler: { requestTimeout: timeout, connectionTimeout: timeout, throwOnRequestTimeout: true },
  });
}

/**
 * Whether the default chain finds any credentials (within `timeoutMs`).
 * The credentials themselves are never returned or logged.
 */
export async function hasCredentials(client: Route53Client, timeoutMs = 5_000): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const found = await Promise.race([
      client.config.credentials().then((c) => c.accessKeyId !== ''),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
        timer.unref();
      }),
    ]);
    return found;
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** More than one hosted zone has the name: the operator must say which (aws_zoneid). */
export class AmbiguousZoneError extends DnsError {
  constructor(
    readonly zoneName: string,
    readonly ids: readonly string[],
  ) {
    super(
      'bad-request',
      `${ids.length} Route 53 hosted zones are named ${zoneName} (${ids.join(', ')}, e.g. a public and a private one): set aws_zoneid in [Route53] to the one to manage`,
    );
    this.name = 'AmbiguousZoneError';
  }
}

/** A GetChange poll's end: the change reached INSYNC after `ms`, or polling gave up. */
export interface ChangeSettled {
  readonly changeId: string;
  readonly status: 'INSYNC' | 'unknown';
  /** From the write's answer to the INSYNC answer (or to giving up). */
  readonly ms: number;
  readonly at: number;
}

export interface Route53ProviderOptions {
  /** The hosted zone's name (`aws_domain`), lower case, no trailing dot. */
  zoneName: string;
  /** `aws_zoneid`, without the /hostedzone/ prefix: no lookup by name then (its name is checked once). */
  zoneId?: string | undefined;
  api: Route53Api;
  logger: Logger;
  /** TTL of sets goavail creates from nothing (`ttl`). */
  ttl: number;
  retry?: RetryOptions;
  /** MaxItems of record set listings (default 300, the API's maximum). */
  pageSize?: number;
  /** Request limits (default Route 53's: 1,000 values and 32,000 characters). */
  limits?: { resourceRecords: number; valueCharacters: number };
  /** First GetChange poll after this (default 1000 ms); the wait grows ×1.5 to 10 s. */
  pollIntervalMs?: number;
  /** Polling a change gives up after this (default 15 min). */
  pollForMs?: number;
  /** Told when a written change is INSYNC (or polling gave up); never blocks a pass. */
  onChangeSettled?: (e: ChangeSettled) => void;
  now?: () => number;
}

/**
 * Route 53 behind the DNS seam: the names' A/AAAA record sets are listed
 * and shown to the planner as one record per IP value; the planned value
 * changes are rewritten into set changes (src/dns/route53-sets.ts) and sent
 * as compare-and-swap batches: each changed set is a DELETE exactly as read
 * and a CREATE, in as few ChangeResourceRecordSets requests as the limits
 * allow, a name's sets always in one request. Route 53 applies a batch
 * atomically and refuses it whole if a set changed since it was read
 * (InvalidChangeBatch): that is a `conflict` error, the pass fails, and the
 * next pass reads and plans again. Nothing is ever UPSERTed blindly.
 *
 * Memory: a value removed from a set is remembered with the set as read, so
 * a restore goes back into that set, or re-creates it as it was (a
 * multivalue set, deleted with its only value, comes back with its
 * SetIdentifier and HealthCheckId). The memory is in this process only: after
 * a restart, a restored IP goes into an existing non-multivalue set of the
 * name, else a new multivalue set (identifier = the IP, no health check) if
 * the name has only multivalue sets, else a new simple set with `ttl`.
 */
export class Route53Provider implements DnsProvider {
  readonly name = 'route53';
  private zone: Promise<string> | undefined;
  /** The sets of the last listing, per name: what apply's DELETEs must match. */
  private lastSets = new Map<string, RecordSet[]>();
  private readonly remembered = new Map<string, RecordSet>();
  private readonly now: () => number;

  constructor(private readonly o: Route53ProviderOptions) {
    this.now = o.now ?? Date.now;
  }

  /** The hosted zone id (looked up once; a failed lookup is tried again on the next call). */
  zoneId(signal?: AbortSignal): Promise<string> {
    if (!this.zone) {
      this.zone = this.findZone(signal);
      this.zone.catch(() => {
        this.zone = undefined;
      });
    }
    return this.zone;
  }

  private async findZone(signal: AbortSignal | undefined): Promise<string> {
    const want = this.o.zoneName;
    if (this.o.zoneId !== undefined) {
      const id = this.o.zoneId;
      const answer = await this.call('GetHostedZone', () => this.o.api.getHostedZone({ Id: id }, signal), signal);
      const name = answer.HostedZone?.Name;
      if (typeof name !== 'string') throw new DnsError('bad-response', `Route 53 GetHostedZone ${id}: the answer names no zone`);
      if (normaliseSetName(name) !== want) {
        throw new DnsError('bad-request', `Route 53 hosted zone ${id} is ${normaliseSetName(name)}, not ${want} (aws_domain): check aws_zoneid`);
      }
      return id;
    }
    const answer = await this.call('ListHostedZonesByName', () => this.o.api.listHostedZonesByName({ DNSName: want, MaxItems: 100 }, signal), signal);
    const zones = answer.HostedZones;
    if (!Array.isArray(zones)) throw new DnsError('bad-response', 'Route 53 ListHostedZonesByName: the answer holds no HostedZones list');
    const named = zones.filter((z) => typeof z.Name === 'string' && normaliseSetName(z.Name) === want);
    const ids = named.map((z) => stripZonePrefix(String(z.Id ?? '')));
    if (ids.length === 0) throw new DnsError('not-found', `no Route 53 hosted zone is named ${want} (aws_domain); the credentials may not see it`);
    if (ids.length > 1) throw new AmbiguousZoneError(want, ids);
    const id = ids[0]!;
    this.o.logger.info({ zone: want, zoneId: id }, 'Route 53 hosted zone found');
    return id;
  }

  async listRecords(names: readonly string[], signal?: AbortSignal): Promise<DnsRecord[]> {
    const zoneId = await this.zoneId(signal);
    const sets = new Map<string, RecordSet[]>();
    for (const name of names) sets.set(name, await this.listName(zoneId, name, signal));
    this.lastSets = sets;
    return recordsOfSets([...sets.values()].flat());
  }

  /** Every set of one name: from (name, A) on, page by page, until the name ends. */
  private async listName(zoneId: string, name: string, signal: AbortSignal | undefined): Promise<RecordSet[]> {
    const out: RecordSet[] = [];
    let start: { StartRecordName: string; StartRecordType?: string; StartRecordIdentifier?: string } = { StartRecordName: `${name}.`, StartRecordType: 'A' };
    for (let page = 1; ; page++) {
      const at = start;
      const answer = await this.call(
        'ListResourceRecordSets',
        () => this.o.api.listResourceRecordSets({ HostedZoneId: zoneId, ...at, MaxItems: this.o.pageSize ?? 300 }, signal),
        signal,
      );
      const sets = answer.ResourceRecordSets;
      if (!Array.isArray(sets)) throw new DnsError('bad-response', `Route 53 ListResourceRecordSets (${name}): the answer holds no ResourceRecordSets list`);
      for (const s of sets) {
        if (typeof s?.Name !== 'string' || typeof s.Type !== 'string')
          throw new DnsError('bad-response', `Route 53 ListResourceRecordSets (${name}): a set without Name or Type`);
        if (normaliseSetName(s.Name) !== name) return out;
        if (s.Type === 'A' || s.Type === 'AAAA') out.push(s);
      }
      if (answer.IsTruncated !== true) return out;
      if (typeof answer.NextRecordName !== 'string')
        throw new DnsError('bad-response', `Route 53 ListResourceRecordSets (${name}): truncated without NextRecordName`);
      if (page > 10_000) throw new DnsError('bad-response', `Route 53 ListResourceRecordSets (${name}): more than 10,000 pages`);
      start = { StartRecordName: answer.NextRecordName, StartRecordType: answer.NextRecordType, StartRecordIdentifier: answer.NextRecordIdentifier };
      if (start.StartRecordIdentifier === undefined) delete start.StartRecordIdentifier;
      if (start.StartRecordType === undefined) delete start.StartRecordType;
    }
  }

  async apply(changes: readonly Change[], signal?: AbortSignal): Promise<void> {
    if (changes.length === 0) return;
    const zoneId = await this.zoneId(signal);
    const p = planSetChanges({ sets: [...this.lastSets.values()].flat(), changes, remembered: this.remembered, ttl: this.o.ttl });
    if (p.unmatched.length > 0) {
      throw new DnsError('conflict', `Route 53: ${p.unmatched.length} planned removal(s) match no record set read in this pass; re-reading on the next pass`);
    }
    const batches = packBatches(p.groups, this.o.limits ?? ROUTE53_LIMITS);
    for (const [i, batch] of batches.entries()) {
      const answer = await this.call(
        'ChangeResourceRecordSets',
        () => this.o.api.changeResourceRecordSets({ HostedZoneId: zoneId, ChangeBatch: { Comment: 'goavail', Changes: batch } }, signal),
        signal,
      );
      this.o.logger.debug({ batch: i + 1, of: batches.length, changes: batch.length, changeId: answer.ChangeInfo?.Id }, 'Route 53 change batch accepted');
      // What this batch applied is remembered now: a later batch may fail.
      const done = new Set(batch.map((c) => `${c.ResourceRecordSet.Type} ${normaliseSetName(c.ResourceRecordSet.Name)}`));
      for (const [k, set] of p.remember) if (done.has(k.split(' ').slice(0, 2).join(' '))) this.remembered.set(k, set);
      for (const k of p.forget) if (done.has(k.split(' ').slice(0, 2).join(' '))) this.remembered.delete(k);
      const id = answer.ChangeInfo?.Id;
      if (typeof id === 'string' && answer.ChangeInfo?.Status !== 'INSYNC') this.track(id, this.now());
      else if (typeof id === 'string') this.o.onChangeSettled?.({ changeId: id, status: 'INSYNC', ms: 0, at: this.now() });
    }
  }

  /** Remembered sets (for status and tests): value → the set it was removed from. */
  memory(): ReadonlyMap<string, RecordSet> {
    return this.remembered;
  }

  /** Polls GetChange until INSYNC, in the background; timers never hold the process open. */
  private track(changeId: string, since: number): void {
    const pollFor = this.o.pollForMs ?? 15 * 60_000;
    let wait = this.o.pollIntervalMs ?? 1000;
    const settle = (status: 'INSYNC' | 'unknown'): void => {
      const at = this.now();
      this.o.onChangeSettled?.({ changeId, status, ms: at - since, at });
      if (status === 'INSYNC') this.o.logger.info({ changeId, ms: at - since }, 'Route 53 change is INSYNC');
      else this.o.logger.warn({ changeId, ms: at - since }, 'Route 53 change: gave up waiting for INSYNC');
    };
    const poll = async (): Promise<void> => {
      try {
        const answer = await this.o.api.getChange({ Id: changeId }, AbortSignal.timeout(10_000));
        if (answer.ChangeInfo?.Status === 'INSYNC') return settle('INSYNC');
      } catch (err) {
        this.o.logger.debug({ changeId, err: route53Error(err, 'GetChange').message }, 'Route 53 GetChange failed; polling on');
      }
      if (this.now() - since >= pollFor) return settle('unknown');
      wait = Math.min(wait * 1.5, 10_000);
      setTimeout(() => void poll(), wait).unref();
    };
    setTimeout(() => void poll(), wait).unref();
  }

  /** One API call with goavail's retries; every failure becomes a DnsError (a conflict is never retried here). */
  private call<T>(what: string, fn: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    return withRetry(
      async () => {
        try {
          return await fn();
        } catch (err) {
          if (signal?.aborted) throw signal.reason;
          throw route53Error(err, what);
        }
      },
      {
        ...this.o.retry,
        signal,
        retryIf: (e) => e.kind !== 'conflict',
        onRetry: (e, delayMs, attempt) =>
          this.o.logger.warn({ call: what, kind: e.kind, attempt, delayMs }, `Route 53 ${what} failed (${e.message}); retrying`),
      },
    );
  }
}

/** "/hostedzone/Z1" → "Z1". */
export function stripZonePrefix(id: string): string {
  return id.replace(/^\/?hostedzone\//, '');
}

const AUTH_CODES = new Set([
  'AccessDenied',
  'AccessDeniedException',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'UnrecognizedClientException',
  'ExpiredToken',
  'ExpiredTokenException',
  'InvalidSignatureException',
  'MissingAuthenticationToken',
  'IncompleteSignature',
  'CredentialsProviderError',
]);
const RATE_CODES = new Set(['Throttling', 'ThrottlingException', 'PriorRequestNotComplete', 'TooManyRequestsException', 'RequestLimitExceeded']);

/**
 * What the SDK threw, as a DnsError that says whether a retry can help.
 *
 * | SDK error                                              | kind        | retried |
 * |--------------------------------------------------------|-------------|---------|
 * | Throttling, PriorRequestNotComplete                    | rate-limit  | yes     |
 * | HTTP 5xx, ServiceUnavailable                           | server      | yes     |
 * | TimeoutError, RequestTimeout                           | timeout     | yes     |
 * | ECONNREFUSED, ECONNRESET, ENOTFOUND...                 | network     | yes     |
 * | AccessDenied, InvalidClientTokenId, no credentials...  | auth        | no (next interval) |
 * | InvalidChangeBatch                                     | conflict    | next pass, after a re-read |
 * | NoSuchHostedZone, NoSuchChange                         | not-found   | no      |
 * | anything else                                          | bad-request | no      |
 */
export function route53Error(err: unknown, what: string): DnsError {
  if (err instanceof DnsError) return err;
  const e = (err ?? {}) as { name?: unknown; code?: unknown; message?: unknown; $metadata?: { httpStatusCode?: number }; $fault?: string; Code?: unknown };
  const name = typeof e.name === 'string' ? e.name : typeof e.Code === 'string' ? e.Code : '';
  const code = typeof e.code === 'string' ? e.code : '';
  const status = e.$metadata?.httpStatusCode;
  const message = typeof e.message === 'string' && e.message !== '' ? e.message : name || String(err);
  const says = (kind: DnsErrorKind, text: string): DnsError => new DnsError(kind, `Route 53 ${what}: ${text}`, { status, cause: err });
  if (RATE_CODES.has(name)) return says('rate-limit', `${name}: ${message}`);
  if (AUTH_CODES.has(name) || status === 403) return says('auth', `${name || 'HTTP 403'}: ${message}`);
  if (name === 'InvalidChangeBatch') return says('conflict', `the change batch was refused (a record set changed since it was read?): ${message}`);
  if (name === 'NoSuchHostedZone' || name === 'NoSuchChange') return says('not-found', `${name}: ${message}`);
  if (name === 'TimeoutError' || name === 'RequestTimeout' || name === 'RequestTimeoutException' || code === 'ETIMEDOUT') return says('timeout', message);
  if (['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code))
    return says('network', `${code}: ${message}`);
  if ((status !== undefined && status >= 500) || e.$fault === 'server' || name === 'ServiceUnavailable' || name === 'InternalFailure')
    return says('server', `${name || `HTTP ${status}`}: ${message}`);
  if (name === 'SyntaxError' || /Deserialization|Unexpected|parse/i.test(message)) return says('bad-response', message);
  return says('bad-request', `${name || 'error'}: ${message}`);
}
