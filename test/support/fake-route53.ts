/**
 * A local stand-in for the Route 53 REST/XML API (2013-04-01): only the calls
 * goavail makes — ListHostedZonesByName, GetHostedZone, ListResourceRecordSets
 * (honest paging), ChangeResourceRecordSets (Route 53's all-or-nothing
 * validation) and GetChange (PENDING, then INSYNC after a delay) — plus a call
 * log and fault injection (Throttling, 5xx, slow answers, AccessDenied).
 *
 * Why: no AWS emulator can be installed here, and the provider must be tested
 * with the real SDK (signing, XML shapes, error classes). Point the SDK at it
 * with AWS_ENDPOINT_URL_ROUTE_53 = `url`. XML is parsed and built with
 * fast-xml-parser.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';

const NS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const PREFIX = '/2013-04-01';

/** A record set as the stand-in stores it (the API's field names, name with the trailing dot). */
export interface FakeSet {
  Name: string;
  Type: string;
  SetIdentifier?: string;
  Weight?: number;
  Failover?: string;
  Region?: string;
  MultiValueAnswer?: boolean;
  HealthCheckId?: string;
  TTL?: number;
  ResourceRecords: { Value: string }[];
}

export interface FakeRoute53Call {
  method: string;
  /** Path without the /2013-04-01 prefix, e.g. `/hostedzone/Z1/rrset`. */
  path: string;
  query: Record<string, string>;
  /** The parsed XML body of a POST. */
  body: unknown;
  status: number;
  at: number;
  /** The access key id the request was signed with ('' if unsigned). */
  accessKeyId: string;
}

/** A fault for the next `times` (default 1) matching requests: answered with `status`/`code` and not processed, or delayed. */
export interface FakeRoute53Fault {
  match?: { method?: string; path?: RegExp };
  status?: number;
  /** Error code in the XML answer (default: Throttling for 400, AccessDenied for 403, InternalFailure for 5xx). */
  code?: string;
  delayMs?: number;
  times?: number;
}

export interface FakeRoute53Options {
  /** Zone names to create (default ['example.com']); ids Z1..Zn unless given by addZone. */
  zones?: string[];
  /** The access key id accepted (default 'AKIDGOAVAILTEST'); null accepts any signed request. */
  accessKeyId?: string | null;
  /** GetChange says INSYNC this long after the change (default 200 ms). */
  insyncAfterMs?: number;
  /** Server-side cap on MaxItems (default 300, Route 53's). */
  maxItems?: number;
}

export interface FakeRoute53 {
  /** `http://127.0.0.1:PORT`: the value for AWS_ENDPOINT_URL_ROUTE_53. */
  readonly url: string;
  readonly calls: FakeRoute53Call[];
  close(): Promise<void>;
  addZone(name: string, opts?: { id?: string; private?: boolean }): string;
  /** The id of the only zone of that name. */
  zoneId(name: string): string;
  /** A copy of the sets of a zone (by id or unique name), in Route 53's order. */
  sets(zone: string): FakeSet[];
  /** Puts a set directly (replacing one of the same name, type and identifier), bypassing the API. */
  putSet(zone: string, set: FakeSet): void;
  /** Removes a set directly; false if there was none. */
  removeSet(zone: string, key: { Name: string; Type: string; SetIdentifier?: string }): boolean;
  /** The values of the A/AAAA sets of one name (all sets together, sorted). */
  values(zone: string, name: string, type?: string): string[];
  changeCalls(): FakeRoute53Call[];
  count(filter: (c: FakeRoute53Call) => boolean): number;
  resetCalls(): void;
  inject(fault: FakeRoute53Fault): void;
  clearFaults(): void;
  /** Change ids and when they were accepted. */
  readonly changes: Map<string, { submittedAt: number }>;
}

class Refused extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

// Lists in the request bodies the stand-in reads (a ChangeBatch).
const LISTS = new Set(['ResourceRecord', 'Change']);
const parser = new XMLParser({ ignoreAttributes: true, parseTagValue: false, isArray: (name) => LISTS.has(name) });
const builder = new XMLBuilder({ ignoreAttributes: false, attributeNamePrefix: '@_', suppressEmptyNode: false });

function fqdn(name: string): string {
  const n = name.toLowerCase();
  return n.endsWith('.') ? n : `${n}.`;
}

/** Route 53 orders names by their labels read right to left. */
function nameOrder(name: string): string {
  return fqdn(name).replace(/\.$/, '').split('.').reverse().join('\u0001');
}

function compareSets(a: { Name: string; Type: string; SetIdentifier?: string }, b: { Name: string; Type: string; SetIdentifier?: string }): number {
  const n = nameOrder(a.Name).localeCompare(nameOrder(b.Name));
  if (n !== 0) return n;
  if (a.Type !== b.Type) return a.Type < b.Type ? -1 : 1;
  return (a.SetIdentifier ?? '').localeCompare(b.SetIdentifier ?? '');
}

function keyOf(s: { Name: string; Type: string; SetIdentifier?: string }): string {
  return `${fqdn(s.Name)} ${s.Type} ${s.SetIdentifier ?? ''}`;
}

/** A set from its parsed XML. */
function readSet(x: Record<string, unknown>): FakeSet {
  const num = (v: unknown): number | undefined => (v === undefined ? undefined : Number(v));
  const rr = (x.ResourceRecords as { ResourceRecord?: { Value: string }[] } | undefined)?.ResourceRecord ?? [];
  const s: FakeSet = { Name: fqdn(String(x.Name)), Type: String(x.Type), ResourceRecords: rr.map((r) => ({ Value: String(r.Value) })) };
  if (x.SetIdentifier !== undefined) s.SetIdentifier = String(x.SetIdentifier);
  if (x.Weight !== undefined) s.Weight = num(x.Weight);
  if (x.Failover !== undefined) s.Failover = String(x.Failover);
  if (x.Region !== undefined) s.Region = String(x.Region);
  if (x.MultiValueAnswer !== undefined) s.MultiValueAnswer = String(x.MultiValueAnswer) === 'true';
  if (x.HealthCheckId !== undefined) s.HealthCheckId = String(x.HealthCheckId);
  if (x.TTL !== undefined) s.TTL = num(x.TTL);
  return s;
}

/** A set as XML, in the API's element order. */
function writeSet(s: FakeSet): Record<string, unknown> {
  const o: Record<string, unknown> = { Name: s.Name, Type: s.Type };
  if (s.SetIdentifier !== undefined) o.SetIdentifier = s.SetIdentifier;
  if (s.Weight !== undefined) o.Weight = s.Weight;
  if (s.Region !== undefined) o.Region = s.Region;
  if (s.Failover !== undefined) o.Failover = s.Failover;
  if (s.MultiValueAnswer !== undefined) o.MultiValueAnswer = s.MultiValueAnswer;
  if (s.TTL !== undefined) o.TTL = s.TTL;
  o.ResourceRecords = { ResourceRecord: s.ResourceRecords.map((r) => ({ Value: r.Value })) };
  if (s.HealthCheckId !== undefined) o.HealthCheckId = s.HealthCheckId;
  return o;
}

/** Route 53's "exactly as read": every field and the same values (in any order). */
function sameSet(a: FakeSet, b: FakeSet): boolean {
  const norm = (s: FakeSet) =>
    JSON.stringify(writeSet({ ...s, Name: fqdn(s.Name), ResourceRecords: [...s.ResourceRecords].sort((x, y) => x.Value.localeCompare(y.Value)) }));
  return norm(a) === norm(b);
}

function xml(root: string, body: Record<string, unknown>): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n${builder.build({ [root]: { '@_xmlns': NS, ...body } })}`;
}

export async function startFakeRoute53(opts: FakeRoute53Options = {}): Promise<FakeRoute53> {
  const zones = new Map<string, { name: string; private: boolean; sets: Map<string, FakeSet> }>();
  const calls: FakeRoute53Call[] = [];
  const faults: (FakeRoute53Fault & { left: number })[] = [];
  const changes = new Map<string, { submittedAt: number }>();
  const insyncAfterMs = opts.insyncAfterMs ?? 200;
  const accepted = opts.accessKeyId === undefined ? 'AKIDGOAVAILTEST' : opts.accessKeyId;
  let nextZone = 1;
  let nextChange = 1;

  const addZone = (name: string, o: { id?: string; private?: boolean } = {}): string => {
    const id = o.id ?? `Z${String(nextZone++).padStart(13, '0')}`;
    zones.set(id, { name: fqdn(name), private: o.private ?? false, sets: new Map() });
    return id;
  };
  const zoneRef = (ref: string) => {
    const byId = zones.get(ref);
    if (byId) return byId;
    const named = [...zones.values()].filter((z) => z.name === fqdn(ref));
    if (named.length !== 1) throw new Error(`fake-route53: ${named.length} zones named ${ref}`);
    return named[0]!;
  };
  const zoneId = (name: string): string => {
    const ids = [...zones.entries()].filter(([, z]) => z.name === fqdn(name)).map(([id]) => id);
    if (ids.length !== 1) throw new Error(`fake-route53: ${ids.length} zones named ${name}`);
    return ids[0]!;
  };
  for (const z of opts.zones ?? ['example.com']) addZone(z);

  const sorted = (sets: Map<string, FakeSet>): FakeSet[] => [...sets.values()].sort(compareSets);
  const zoneXml = (id: string, z: { name: string; private: boolean; sets: Map<string, FakeSet> }) => ({
    Id: `/hostedzone/${id}`,
    Name: z.name,
    CallerReference: `goavail-${id}`,
    Config: { PrivateZone: z.private },
    ResourceRecordSetCount: z.sets.size,
  });

  /** Validates the whole batch against a copy, then swaps it in: all or nothing. */
  const change = (z: { sets: Map<string, FakeSet> }, body: unknown): string => {
    const req = (body as { ChangeResourceRecordSetsRequest?: { ChangeBatch?: { Changes?: { Change?: unknown[] } } } }).ChangeResourceRecordSetsRequest;
    const list = req?.ChangeBatch?.Changes?.Change;
    if (!Array.isArray(list) || list.length === 0) throw new Refused(400, 'InvalidInput', 'ChangeBatch must hold at least one Change');
    const next = new Map(z.sets);
    const messages: string[] = [];
    let values = 0;
    for (const raw of list as { Action?: string; ResourceRecordSet?: Record<string, unknown> }[]) {
      if (!raw.ResourceRecordSet) throw new Refused(400, 'InvalidInput', 'a Change without ResourceRecordSet');
      const s = readSet(raw.ResourceRecordSet);
      values += s.ResourceRecords.length;
      const k = keyOf(s);
      const where = `[name='${s.Name}', type='${s.Type}'${s.SetIdentifier !== undefined ? `, set-identifier='${s.SetIdentifier}'` : ''}]`;
      if (raw.Action === 'DELETE') {
        const cur = next.get(k);
        if (!cur) messages.push(`Tried to delete resource record set ${where} but it was not found`);
        else if (!sameSet(cur, s)) messages.push(`Tried to delete resource record set ${where} but the values provided do not match the current values`);
        else next.delete(k);
      } else if (raw.Action === 'CREATE') {
        if (next.has(k)) messages.push(`Tried to create resource record set ${where} but it already exists`);
        else if (s.ResourceRecords.length === 0) messages.push(`Resource record set ${where} must have at least one ResourceRecord`);
        else if (s.MultiValueAnswer === true && s.ResourceRecords.length !== 1) messages.push(`Multivalue answer set ${where} must hold exactly one value`);
        else if (
          [...next.values()].some(
            (o) => fqdn(o.Name) === fqdn(s.Name) && o.Type === s.Type && (o.SetIdentifier === undefined) !== (s.SetIdentifier === undefined),
          )
        )
          messages.push(`RRSet ${where} cannot mix simple routing with sets that have a SetIdentifier`);
        else next.set(k, s);
      } else {
        throw new Refused(400, 'InvalidInput', `Action ${String(raw.Action)} is not supported by the stand-in`);
      }
    }
    if (values > 1000) messages.push(`Number of records in the request (${values}) exceeds 1000`);
    if (messages.length > 0) throw new Refused(400, 'InvalidChangeBatch', messages.join('; '));
    z.sets.clear();
    for (const [k, s] of next) z.sets.set(k, s);
    const id = `C${String(nextChange++).padStart(12, '0')}`;
    changes.set(id, { submittedAt: Date.now() });
    return id;
  };

  const changeInfo = (id: string) => {
    const c = changes.get(id);
    if (!c) throw new Refused(404, 'NoSuchChange', `A change with the specified change ID does not exist: ${id}`);
    return {
      Id: `/change/${id}`,
      Status: Date.now() - c.submittedAt >= insyncAfterMs ? 'INSYNC' : 'PENDING',
      SubmittedAt: new Date(c.submittedAt).toISOString(),
    };
  };

  const route = (method: string, path: string, q: Record<string, string>, body: unknown): string => {
    let m: RegExpMatchArray | null;
    if (method === 'GET' && path === '/hostedzonesbyname') {
      const dns = q.dnsname !== undefined ? fqdn(q.dnsname) : undefined;
      const all = [...zones.entries()].sort((a, b) => nameOrder(a[1].name).localeCompare(nameOrder(b[1].name)) || a[0].localeCompare(b[0]));
      const from = dns === undefined ? all : all.filter(([, z]) => nameOrder(z.name) >= nameOrder(dns));
      const max = Math.min(Number(q.maxitems ?? 100), 100);
      const page = from.slice(0, max);
      return xml('ListHostedZonesByNameResponse', {
        HostedZones: { HostedZone: page.map(([id, z]) => zoneXml(id, z)) },
        ...(dns !== undefined ? { DNSName: dns } : {}),
        IsTruncated: from.length > max,
        MaxItems: max,
      });
    }
    if (method === 'GET' && (m = path.match(/^\/hostedzone\/([^/]+)$/))) {
      const z = zones.get(m[1]!);
      if (!z) throw new Refused(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${m[1]}`);
      return xml('GetHostedZoneResponse', { HostedZone: zoneXml(m[1]!, z), DelegationSet: { NameServers: { NameServer: ['ns-1.awsdns-00.com'] } } });
    }
    if ((m = path.match(/^\/hostedzone\/([^/]+)\/rrset\/?$/))) {
      const z = zones.get(m[1]!);
      if (!z) throw new Refused(404, 'NoSuchHostedZone', `No hosted zone found with ID: ${m[1]}`);
      if (method === 'POST') {
        const id = change(z, body);
        return xml('ChangeResourceRecordSetsResponse', { ChangeInfo: changeInfo(id) });
      }
      if (method === 'GET') {
        if (q.type !== undefined && q.name === undefined) throw new Refused(400, 'InvalidInput', 'type given without name');
        if (q.identifier !== undefined && q.type === undefined) throw new Refused(400, 'InvalidInput', 'identifier given without type');
        const max = Math.min(Number(q.maxitems ?? 300), opts.maxItems ?? 300);
        if (!Number.isInteger(max) || max < 1) throw new Refused(400, 'InvalidInput', `bad maxitems ${q.maxitems}`);
        const all = sorted(z.sets);
        const start = q.name === undefined ? undefined : { Name: q.name, Type: q.type ?? '', SetIdentifier: q.identifier };
        const from = start === undefined ? all : all.filter((s) => compareSets(s, start) >= 0);
        const page = from.slice(0, max);
        const next = from[max];
        return xml('ListResourceRecordSetsResponse', {
          ResourceRecordSets: { ResourceRecordSet: page.map(writeSet) },
          IsTruncated: next !== undefined,
          ...(next !== undefined
            ? {
                NextRecordName: next.Name,
                NextRecordType: next.Type,
                ...(next.SetIdentifier !== undefined ? { NextRecordIdentifier: next.SetIdentifier } : {}),
              }
            : {}),
          MaxItems: max,
        });
      }
    }
    if (method === 'GET' && (m = path.match(/^\/change\/([^/]+)$/))) return xml('GetChangeResponse', { ChangeInfo: changeInfo(m[1]!) });
    throw new Refused(404, 'UnknownOperationException', `the stand-in does not serve ${method} ${path}`);
  };

  const errorXml = (code: string, message: string, status: number): string =>
    xml('ErrorResponse', { Error: { Type: status >= 500 ? 'Receiver' : 'Sender', Code: code, Message: message }, RequestId: `req-${calls.length}` });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const auth = req.headers.authorization ?? '';
    const call: FakeRoute53Call = {
      method: req.method ?? 'GET',
      path: url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) : url.pathname,
      query: Object.fromEntries(url.searchParams),
      body: text === '' ? undefined : parser.parse(text),
      status: 0,
      at: Date.now(),
      accessKeyId: /Credential=([^/]+)\//.exec(auth)?.[1] ?? '',
    };
    calls.push(call);
    const send = (status: number, body: string): void => {
      call.status = status;
      res.writeHead(status, { 'content-type': 'text/xml', 'x-amzn-requestid': `req-${calls.length}` });
      res.end(body);
    };
    const fault = faults.find((f) => f.left > 0 && (!f.match?.method || f.match.method === call.method) && (!f.match?.path || f.match.path.test(call.path)));
    if (fault) {
      fault.left -= 1;
      if (fault.delayMs) await new Promise((r) => setTimeout(r, fault.delayMs));
      if (fault.status !== undefined) {
        const code = fault.code ?? (fault.status === 403 ? 'AccessDenied' : fault.status >= 500 ? 'InternalFailure' : 'Throttling');
        send(fault.status, errorXml(code, `injected ${code}`, fault.status));
        return;
      }
    }
    if (!auth.startsWith('AWS4-HMAC-SHA256 ') || (accepted !== null && call.accessKeyId !== accepted)) {
      send(403, errorXml('InvalidClientTokenId', 'The security token included in the request is invalid.', 403));
      return;
    }
    try {
      send(200, route(call.method, call.path, call.query, call.body));
    } catch (err) {
      if (err instanceof Refused) send(err.status, errorXml(err.code, err.message, err.status));
      else send(500, errorXml('InternalFailure', String(err), 500));
    }
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    changes,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
    addZone,
    zoneId,
    sets: (zone) => sorted(zoneRef(zone).sets).map((s) => structuredClone(s)),
    putSet: (zone, set) => {
      const s = { ...structuredClone(set), Name: fqdn(set.Name) };
      zoneRef(zone).sets.set(keyOf(s), s);
    },
    removeSet: (zone, key) => zoneRef(zone).sets.delete(keyOf(key)),
    values: (zone, name, type) =>
      sorted(zoneRef(zone).sets)
        .filter((s) => fqdn(s.Name) === fqdn(name) && (type === undefined ? s.Type === 'A' || s.Type === 'AAAA' : s.Type === type))
        .flatMap((s) => s.ResourceRecords.map((r) => r.Value))
        .sort(),
    changeCalls: () => calls.filter((c) => c.method === 'POST' && /\/rrset\/?$/.test(c.path)),
    count: (filter) => calls.filter(filter).length,
    resetCalls: () => {
      calls.length = 0;
    },
    inject: (f) => {
      faults.push({ ...f, left: f.times ?? 1 });
    },
    clearFaults: () => {
      faults.length = 0;
    },
  };
}
