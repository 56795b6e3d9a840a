/**
 * A local stand-in for the Cloudflare v4 API: just the zone and DNS record
 * routes goavail uses, with Cloudflare's envelope, pagination, error codes
 * and a transactional batch endpoint, plus a call log and fault injection.
 *
 * Why: the provider must be tested with the real `cloudflare` SDK (request
 * shapes, query encoding, pagination, error classes) without the network.
 * Point the SDK at `baseURL` (or set CLOUDFLARE_BASE_URL for a whole agent).
 *
 * Paths in the call log and in fault matchers are relative to `/client/v4`
 * (e.g. `/zones/<id>/dns_records/batch`).
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, SocketAddress, type AddressInfo } from 'node:net';

export interface FakeCloudflareOptions {
  /** Zones to create at start (default `['example.com']`). */
  zones?: string[];
  /**
   * Accepted API token (`Authorization: Bearer …`). Default "test-token"
   * unless `apiKey` is given; `null` turns token auth off. With neither a
   * token nor a key configured, any request is accepted.
   */
  token?: string | null;
  /** Accepted legacy global key (`X-Auth-Key`), together with `apiEmail`. */
  apiKey?: string;
  apiEmail?: string;
  /** Listen port on 127.0.0.1 (default 0: any free port). */
  port?: number;
  /** Server-side cap on `per_page` for DNS record lists (default 5,000,000, Cloudflare's documented maximum). */
  maxPerPage?: number;
}

/** A record as the fake stores and returns it (Cloudflare's field names). */
export interface FakeRecord {
  id: string;
  zone_id: string;
  zone_name: string;
  type: string;
  name: string;
  content: string;
  proxied: boolean;
  proxiable: boolean;
  ttl: number;
  comment: string | null;
  tags: string[];
  settings: Record<string, unknown>;
  meta: Record<string, unknown>;
  created_on: string;
  modified_on: string;
}

export interface SeedRecord {
  type: string;
  name: string;
  content: string;
  proxied?: boolean;
  ttl?: number;
}

/** One HTTP request the fake received; `status` is 0 while it is unanswered (e.g. hung). */
export interface FakeCall {
  method: string;
  path: string;
  query: Record<string, string>;
  body: unknown;
  status: number;
  at: number;
  /** Which credentials the request carried. */
  auth: 'token' | 'key' | 'both' | 'none';
}

export interface CallFilter {
  method?: string;
  path?: RegExp | string;
  status?: number;
}

/**
 * A fault for the next `times` (default 1) matching requests. With `status`
 * the request is answered with it (and `body`, else a Cloudflare-style error
 * envelope; `retryAfter` seconds become a Retry-After header) and never
 * processed. A `body` function is called with the request and its result
 * sent (e.g. a listing that answers every page with new records). `delayMs` waits before answering or processing; `hang` never
 * answers (the client must time out). Faults are checked before auth.
 */
export interface Fault {
  match?: { method?: string; path?: RegExp };
  status?: number;
  retryAfter?: number;
  body?: unknown | ((call: FakeCall) => unknown);
  delayMs?: number;
  hang?: boolean;
  times?: number;
}

export interface FakeCloudflare {
  /** `http://127.0.0.1:PORT/client/v4` */
  readonly baseURL: string;
  readonly port: number;
  /** Every request received, in order (live array; `resetCalls()` empties it). */
  readonly calls: FakeCall[];
  close(): Promise<void>;
  /**
   * Adds a zone and returns its id. Without options a zone of that name that
   * exists already is returned instead; with options a new zone is always
   * added, so several zones can share a name (as a pending and an active
   * copy of one domain do on Cloudflare).
   */
  addZone(name: string, opts?: { status?: ZoneStatus; id?: string }): string;
  /** The id of a zone; throws if the fake has no zone, or several zones, of that name. */
  zoneId(name: string): string;
  /** A snapshot (copies) of the records, of the zones with that name or id, or of all. */
  records(zone?: string): FakeRecord[];
  /**
   * Seeds a record directly into a zone (by name, or by id when names are
   * shared), bypassing the API, the duplicate check, the content check (so
   * odd content such as `127.000.0.9` can be stored) and the call log.
   */
  addRecord(zone: string, record: SeedRecord): FakeRecord;
  /** Removes a record directly; false if there was none. */
  removeRecord(id: string): boolean;
  /** POST/PUT/PATCH/DELETE calls (a batch is one call). */
  mutatingCalls(): FakeCall[];
  count(filter?: CallFilter | ((call: FakeCall) => boolean)): number;
  resetCalls(): void;
  inject(fault: Fault): void;
  clearFaults(): void;
}

const PREFIX = '/client/v4';
const DEFAULT_MAX_PER_PAGE = 5_000_000;

interface ApiErrorItem {
  code: number;
  message: string;
}

class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly errors: ApiErrorItem[],
  ) {
    super(errors.map((e) => `${e.code}: ${e.message}`).join('; '));
  }
}

/** Cloudflare's zone statuses: a zone being set up again is `pending` next to the `active` one. */
export type ZoneStatus = 'active' | 'pending' | 'initializing' | 'moved';

interface Zone {
  id: string;
  name: string;
  status: ZoneStatus;
  records: Map<string, FakeRecord>;
}

interface PendingFault extends Fault {
  remaining: number;
}

/** 32 hex digits like Cloudflare's ids: a random prefix per process and a counter (seeding 60,000 records stays fast). */
const ID_PREFIX = randomBytes(8).toString('hex');
let idCounter = 0;
const newId = (): string => ID_PREFIX + (idCounter++).toString(16).padStart(16, '0');

function envelope(result: unknown, resultInfo?: unknown): Record<string, unknown> {
  const body: Record<string, unknown> = { success: true, errors: [], messages: [], result };
  if (resultInfo !== undefined) body['result_info'] = resultInfo;
  return body;
}

function errorEnvelope(errors: ApiErrorItem[]): Record<string, unknown> {
  return { success: false, errors, messages: [], result: null };
}

function defaultFaultErrors(status: number): ApiErrorItem[] {
  if (status === 429) return [{ code: 971, message: 'Please wait and consider throttling your request speed' }];
  if (status === 401 || status === 403) return [{ code: 10000, message: 'Authentication error' }];
  if (status === 404) return [{ code: 7000, message: 'No route for that URI' }];
  if (status === 405) return [{ code: 7001, message: 'Method not allowed for this route' }];
  if (status >= 500) return [{ code: 10001, message: 'Internal server error' }];
  return [{ code: 1000, message: `Injected fault ${status}` }];
}

function canonicalIp(s: string): string {
  if (isIPv6(s)) return new SocketAddress({ address: s, family: 'ipv6' }).address;
  return s;
}

function normName(name: string, zone: string): string {
  let n = name.trim().toLowerCase();
  if (n.endsWith('.')) n = n.slice(0, -1);
  if (n === '@' || n === '') return zone;
  if (n !== zone && !n.endsWith(`.${zone}`)) n = `${n}.${zone}`;
  return n;
}

const SUPPORTED_TYPES = new Set(['A', 'AAAA', 'CNAME', 'TXT', 'MX', 'NS']);

function validationError(message: string): ApiFailure {
  return new ApiFailure(400, [{ code: 1004, message: `DNS Validation Error: ${message}` }]);
}

/** Validates a record body (create/put/post, or a patch merged onto an existing record); `seed` skips the content check. */
function buildRecord(zone: Zone, input: unknown, base?: FakeRecord, seed = false): FakeRecord {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw validationError('record must be an object');
  const i = input as Record<string, unknown>;
  const type = i['type'] ?? base?.type;
  const name = i['name'] ?? base?.name;
  const content = i['content'] ?? base?.content;
  const proxied = i['proxied'] ?? base?.proxied ?? false;
  const ttl = i['ttl'] ?? base?.ttl ?? 1;
  if (typeof type !== 'string' || !SUPPORTED_TYPES.has(type)) throw validationError(`unsupported type ${JSON.stringify(type)}`);
  if (typeof name !== 'string' || name.trim() === '') throw validationError('name is required');
  if (typeof content !== 'string' || content.trim() === '') throw validationError('content is required');
  if (typeof proxied !== 'boolean') throw validationError('proxied must be a boolean');
  if (typeof ttl !== 'number' || !Number.isInteger(ttl) || (ttl !== 1 && (ttl < 30 || ttl > 86_400))) {
    throw validationError('ttl must be 1 (automatic) or between 30 and 86400');
  }
  const c = content.trim();
  if (type === 'A' && !seed && !isIPv4(c)) throw new ApiFailure(400, [{ code: 9005, message: 'Content for A record must be a valid IPv4 address.' }]);
  if (type === 'AAAA' && !seed && !isIPv6(c)) throw new ApiFailure(400, [{ code: 9006, message: 'Content for AAAA record must be a valid IPv6 address.' }]);
  const now = new Date().toISOString();
  return {
    id: base?.id ?? newId(),
    zone_id: zone.id,
    zone_name: zone.name,
    type,
    name: normName(name, zone.name),
    content: c,
    proxied,
    proxiable: type === 'A' || type === 'AAAA' || type === 'CNAME',
    ttl,
    comment: base?.comment ?? null,
    tags: base?.tags ?? [],
    settings: base?.settings ?? {},
    meta: base?.meta ?? {},
    created_on: base?.created_on ?? now,
    modified_on: now,
  };
}

function identical(a: FakeRecord, b: FakeRecord): boolean {
  return a.id !== b.id && a.type === b.type && a.name === b.name && canonicalIp(a.content) === canonicalIp(b.content);
}

function assertNoDuplicate(records: Map<string, FakeRecord>, rec: FakeRecord): void {
  for (const other of records.values()) {
    if (identical(other, rec)) throw new ApiFailure(400, [{ code: 81057, message: 'An identical record already exists.' }]);
  }
}

const missingRecord = (status = 404): ApiFailure => new ApiFailure(status, [{ code: 81044, message: 'Record does not exist.' }]);

function positiveInt(raw: string | undefined, fallback: number, what: string): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new ApiFailure(400, [{ code: 1004, message: `Invalid ${what}: ${raw}` }]);
  return n;
}

function paginate<T>(items: T[], query: Record<string, string>, defaultPerPage: number, maxPerPage: number): { result: T[]; info: Record<string, number> } {
  const page = positiveInt(query['page'], 1, 'page');
  const perPage = Math.min(positiveInt(query['per_page'], defaultPerPage, 'per_page'), maxPerPage);
  const start = (page - 1) * perPage;
  const result = items.slice(start, start + perPage);
  return {
    result,
    info: { page, per_page: perPage, count: result.length, total_count: items.length, total_pages: Math.ceil(items.length / perPage) },
  };
}

/** Cloudflare's string filters: `x` / `x.exact`, `x.contains`, `x.startswith`, `x.endswith` (case-insensitive). */
function stringFilter(query: Record<string, string>, key: string, value: string, norm: (s: string) => string): boolean {
  const v = value.toLowerCase();
  const exact = query[`${key}.exact`] ?? query[key];
  if (exact !== undefined && norm(exact) !== v) return false;
  const contains = query[`${key}.contains`];
  if (contains !== undefined && !v.includes(contains.toLowerCase())) return false;
  const starts = query[`${key}.startswith`];
  if (starts !== undefined && !v.startsWith(starts.toLowerCase())) return false;
  const ends = query[`${key}.endswith`];
  if (ends !== undefined && !v.endsWith(ends.toLowerCase())) return false;
  return true;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function authOf(req: IncomingMessage): FakeCall['auth'] {
  const token = typeof req.headers.authorization === 'string';
  const key = typeof req.headers['x-auth-key'] === 'string' || typeof req.headers['x-auth-email'] === 'string';
  return token && key ? 'both' : token ? 'token' : key ? 'key' : 'none';
}

export async function startFakeCloudflare(opts: FakeCloudflareOptions = {}): Promise<FakeCloudflare> {
  const token = opts.token === undefined ? (opts.apiKey === undefined ? 'test-token' : null) : opts.token;
  const apiKey = opts.apiKey;
  const apiEmail = opts.apiEmail;
  const maxPerPage = opts.maxPerPage ?? DEFAULT_MAX_PER_PAGE;
  const zones = new Map<string, Zone>(); // by id
  const calls: FakeCall[] = [];
  let faults: PendingFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const pendingResponses = new Set<ServerResponse>();
  let closed = false;

  const zoneName = (name: string): string => name.trim().toLowerCase().replace(/\.$/, '');
  const addZone = (name: string, o?: { status?: ZoneStatus; id?: string }): string => {
    const n = zoneName(name);
    if (o === undefined) for (const z of zones.values()) if (z.name === n) return z.id;
    const id = o?.id ?? newId();
    zones.set(id, { id, name: n, status: o?.status ?? 'active', records: new Map() });
    return id;
  };
  for (const z of opts.zones ?? ['example.com']) addZone(z);

  /** The zone with this id, else the one zone with this name; throws when there is none or several. */
  const zoneRef = (ref: string): Zone => {
    const byId = zones.get(ref);
    if (byId) return byId;
    const named = [...zones.values()].filter((z) => z.name === zoneName(ref));
    if (named.length === 0) throw new Error(`fake-cloudflare: no zone ${ref}`);
    if (named.length > 1) throw new Error(`fake-cloudflare: ${named.length} zones named ${ref}; use the ids addZone returned`);
    return named[0]!;
  };

  const authorized = (req: IncomingMessage): boolean => {
    if (token === null && apiKey === undefined) return true;
    if (token !== null && req.headers.authorization === `Bearer ${token}`) return true;
    if (apiKey !== undefined && req.headers['x-auth-key'] === apiKey && req.headers['x-auth-email'] === apiEmail) return true;
    return false;
  };

  const takeFault = (method: string, path: string): PendingFault | undefined => {
    const f = faults.find(
      (x) =>
        x.remaining > 0 &&
        (x.match?.method === undefined || x.match.method.toUpperCase() === method) &&
        (x.match?.path === undefined || x.match.path.test(path)),
    );
    if (f) {
      f.remaining -= 1;
      faults = faults.filter((x) => x.remaining > 0);
    }
    return f;
  };

  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  /** Routes one API request; returns [status, body]. Throws ApiFailure for API errors. */
  const route = (method: string, path: string, query: Record<string, string>, body: unknown): [number, unknown] => {
    const parts = path.split('/').filter(Boolean);
    if (parts[0] !== 'zones') throw new ApiFailure(404, [{ code: 7000, message: 'No route for that URI' }]);
    if (parts.length === 1) {
      if (method !== 'GET') throw new ApiFailure(405, [{ code: 7001, message: 'Method not allowed for this route' }]);
      let list = [...zones.values()];
      const name = query['name'];
      if (name !== undefined) list = list.filter((z) => z.name === zoneName(name));
      const { result, info } = paginate(list, query, 20, 50);
      return [200, envelope(result.map(zoneJson), info)];
    }
    const zone = zones.get(parts[1] ?? '');
    const unknownZone = (): ApiFailure =>
      new ApiFailure(404, [{ code: 7003, message: 'Could not route to /zones/' + (parts[1] ?? '') + ', perhaps your object identifier is invalid?' }]);
    if (parts.length === 2 && method === 'GET') {
      if (!zone) throw unknownZone();
      return [200, envelope(zoneJson(zone))];
    }
    if (parts[2] !== 'dns_records' || parts.length > 4) throw new ApiFailure(404, [{ code: 7000, message: 'No route for that URI' }]);
    if (!zone) throw unknownZone();

    if (parts.length === 3) {
      if (method === 'GET') return [200, listRecords(zone, query)];
      if (method === 'POST') {
        const rec = buildRecord(zone, body);
        assertNoDuplicate(zone.records, rec);
        zone.records.set(rec.id, rec);
        return [200, envelope(rec)];
      }
      throw new ApiFailure(405, [{ code: 7001, message: 'Method not allowed for this route' }]);
    }
    const rid = parts[3] ?? '';
    if (rid === 'batch') {
      if (method !== 'POST') throw new ApiFailure(405, [{ code: 7001, message: 'Method not allowed for this route' }]);
      return [200, envelope(batch(zone, body))];
    }
    const rec = zone.records.get(rid);
    if (method === 'GET') {
      if (!rec) throw missingRecord();
      return [200, envelope(rec)];
    }
    if (method === 'DELETE') {
      if (!rec) throw missingRecord();
      zone.records.delete(rid);
      return [200, envelope({ id: rid })];
    }
    throw new ApiFailure(405, [{ code: 7001, message: 'Method not allowed for this route' }]);
  };

  const listRecords = (zone: Zone, query: Record<string, string>): Record<string, unknown> => {
    let list = [...zone.records.values()];
    const type = query['type'];
    if (type !== undefined) list = list.filter((r) => r.type === type.toUpperCase());
    list = list.filter((r) => stringFilter(query, 'name', r.name, (s) => normName(s, zone.name)));
    list = list.filter((r) => stringFilter(query, 'content', canonicalIp(r.content).toLowerCase(), (s) => canonicalIp(s.trim()).toLowerCase()));
    const { result, info } = paginate(list, query, 100, maxPerPage);
    return envelope(result, info);
  };

  /** Transactional: all operations run on a copy, which replaces the zone's records only if every one succeeded. */
  const batch = (zone: Zone, body: unknown): Record<string, FakeRecord[]> => {
    if (typeof body !== 'object' || body === null) throw validationError('batch body must be an object');
    const b = body as Record<string, unknown>;
    const arr = (k: string): unknown[] => {
      const v = b[k];
      if (v === undefined) return [];
      if (!Array.isArray(v)) throw validationError(`${k} must be an array`);
      return v;
    };
    const draft = new Map(zone.records);
    const out: Record<string, FakeRecord[]> = { deletes: [], patches: [], puts: [], posts: [] };
    const idOf = (x: unknown): string => {
      const id = (x as { id?: unknown } | null)?.id;
      if (typeof id !== 'string') throw validationError('id is required');
      return id;
    };
    for (const d of arr('deletes')) {
      const id = idOf(d);
      const rec = draft.get(id);
      if (!rec) throw missingRecord(400);
      draft.delete(id);
      out['deletes']!.push(rec);
    }
    for (const [key, isPatch] of [
      ['patches', true],
      ['puts', false],
    ] as const) {
      for (const p of arr(key)) {
        const id = idOf(p);
        const old = draft.get(id);
        if (!old) throw missingRecord(400);
        const rec = buildRecord(zone, p, isPatch ? old : { ...old, proxied: false, ttl: 1 });
        assertNoDuplicate(draft, rec);
        draft.set(id, rec);
        out[key]!.push(rec);
      }
    }
    for (const p of arr('posts')) {
      const rec = buildRecord(zone, p);
      assertNoDuplicate(draft, rec);
      draft.set(rec.id, rec);
      out['posts']!.push(rec);
    }
    zone.records = draft;
    return out;
  };

  const send = (res: ServerResponse, call: FakeCall, status: number, body: unknown, headers: Record<string, string> = {}): void => {
    call.status = status;
    pendingResponses.delete(res);
    if (res.destroyed || res.writableEnded) return;
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(text)), ...headers });
    res.end(text);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const method = (req.method ?? 'GET').toUpperCase();
    const full = url.pathname;
    const path = full.startsWith(`${PREFIX}/`) ? full.slice(PREFIX.length) : full;
    const query: Record<string, string> = {};
    for (const [k, v] of url.searchParams) query[k] = v;
    const raw = await readBody(req);
    let body: unknown;
    let badJson = false;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw);
      } catch {
        badJson = true;
        body = raw;
      }
    }
    const call: FakeCall = { method, path, query, body, status: 0, at: Date.now(), auth: authOf(req) };
    calls.push(call);
    pendingResponses.add(res);

    const fault = takeFault(method, path);
    if (fault?.hang) return; // never answered; close() destroys the socket
    if (fault?.delayMs !== undefined) await wait(fault.delayMs);
    if (closed) return;
    if (fault?.status !== undefined) {
      const headers: Record<string, string> = fault.retryAfter !== undefined ? { 'retry-after': String(fault.retryAfter) } : {};
      const body = typeof fault.body === 'function' ? (fault.body as (c: FakeCall) => unknown)(call) : fault.body;
      send(res, call, fault.status, body ?? errorEnvelope(defaultFaultErrors(fault.status)), headers);
      return;
    }
    if (!full.startsWith(`${PREFIX}/`)) {
      send(res, call, 404, errorEnvelope([{ code: 7000, message: 'No route for that URI' }]));
      return;
    }
    if (!authorized(req)) {
      send(res, call, 403, errorEnvelope([{ code: 10000, message: 'Authentication error' }]));
      return;
    }
    if (badJson) {
      send(res, call, 400, errorEnvelope([{ code: 6007, message: 'Malformed JSON in request body' }]));
      return;
    }
    try {
      const [status, out] = route(method, path, query, body);
      send(res, call, status, out);
    } catch (err) {
      if (err instanceof ApiFailure) send(res, call, err.status, errorEnvelope(err.errors));
      else send(res, call, 500, errorEnvelope([{ code: 10001, message: `fake-cloudflare bug: ${String(err)}` }]));
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent && !res.destroyed) {
        res.statusCode = 500;
        res.end();
      }
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;

  const matches = (call: FakeCall, filter: CallFilter): boolean =>
    (filter.method === undefined || filter.method.toUpperCase() === call.method) &&
    (filter.path === undefined || (typeof filter.path === 'string' ? call.path === filter.path : filter.path.test(call.path))) &&
    (filter.status === undefined || filter.status === call.status);

  return {
    baseURL: `http://127.0.0.1:${port}${PREFIX}`,
    port,
    calls,
    async close() {
      if (closed) return;
      closed = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      for (const res of pendingResponses) res.destroy();
      pendingResponses.clear();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
    addZone,
    zoneId(name) {
      return zoneRef(name).id;
    },
    records(zone) {
      const list: FakeRecord[] = [];
      for (const z of zones.values()) {
        if (zone !== undefined && z.id !== zone && z.name !== zoneName(zone)) continue;
        for (const r of z.records.values()) list.push(copyRecord(r));
      }
      return list;
    },
    addRecord(zone, seed) {
      const z = zoneRef(zone);
      const rec = buildRecord(z, seed, undefined, true);
      z.records.set(rec.id, rec);
      return copyRecord(rec);
    },
    removeRecord(id) {
      for (const z of zones.values()) if (z.records.delete(id)) return true;
      return false;
    },
    mutatingCalls() {
      return calls.filter((c) => c.method === 'POST' || c.method === 'PUT' || c.method === 'PATCH' || c.method === 'DELETE');
    },
    count(filter = {}) {
      return calls.filter((c) => (typeof filter === 'function' ? filter(c) : matches(c, filter))).length;
    },
    resetCalls() {
      calls.length = 0;
    },
    inject(fault) {
      faults.push({ ...fault, remaining: fault.times ?? 1 });
    },
    clearFaults() {
      faults = [];
    },
  };
}

function zoneJson(z: Zone): Record<string, unknown> {
  return {
    id: z.id,
    name: z.name,
    status: z.status,
    paused: false,
    type: 'full',
    development_mode: 0,
    name_servers: ['ns1.fake-cloudflare.test', 'ns2.fake-cloudflare.test'],
    account: { id: '0'.repeat(32), name: 'fake account' },
  };
}

/** A copy the caller may change freely (cheaper than structuredClone when seeding many records). */
function copyRecord(r: FakeRecord): FakeRecord {
  return { ...r, tags: [...r.tags], settings: structuredClone(r.settings), meta: structuredClone(r.meta) };
}
