import { describe, expect, it } from 'vitest';
import { route53Error, Route53Provider, stripZonePrefix, type ChangeAnswer, type Route53Api, type Route53ProviderOptions } from '../../../src/dns/route53.js';
import type { RecordSet, SetChange } from '../../../src/dns/route53-sets.js';
import { silentLogger } from '../../../src/log.js';
import { DnsError, type Change } from '../../../src/dns/types.js';

/**
 * The provider's logic against a fake Route53Api that records its calls (no
 * HTTP): zone choice, paging, set rewriting into batches, memory, error
 * mapping, bad answers. The SDK itself is tested in route53.test.ts.
 */
type Call = { op: string; params: unknown };

class RecordingApi implements Route53Api {
  readonly calls: Call[] = [];
  zones: { Id: string; Name: string }[] = [{ Id: '/hostedzone/Z1', Name: 'example.com.' }];
  sets: RecordSet[] = [];
  pageSize = 300;
  failNext: unknown[] = [];
  listAnswer: ((p: { StartRecordName?: string }) => unknown) | undefined;
  private fail(): void {
    const e = this.failNext.shift();
    if (e !== undefined) throw e;
  }
  async listHostedZonesByName(p: { DNSName: string }) {
    this.calls.push({ op: 'zones', params: p });
    this.fail();
    return { HostedZones: this.zones };
  }
  async getHostedZone(p: { Id: string }) {
    this.calls.push({ op: 'zone', params: p });
    this.fail();
    const z = this.zones.find((x) => stripZonePrefix(x.Id) === p.Id);
    return { HostedZone: z };
  }
  async listResourceRecordSets(p: { StartRecordName?: string; StartRecordType?: string; StartRecordIdentifier?: string; MaxItems?: number }) {
    this.calls.push({ op: 'list', params: p });
    this.fail();
    if (this.listAnswer) return this.listAnswer(p) as never;
    const key = (s: { Name: string; Type: string; SetIdentifier?: string }) => `${s.Name} ${s.Type} ${s.SetIdentifier ?? ''}`;
    const all = [...this.sets].sort((a, b) => key(a).localeCompare(key(b)));
    const start = all.findIndex((s) => key(s) >= key({ Name: p.StartRecordName ?? '', Type: p.StartRecordType ?? '', SetIdentifier: p.StartRecordIdentifier }));
    const from = start < 0 ? [] : all.slice(start);
    const max = Math.min(p.MaxItems ?? 300, this.pageSize);
    const next = from[max];
    return {
      ResourceRecordSets: from.slice(0, max),
      IsTruncated: next !== undefined,
      NextRecordName: next?.Name,
      NextRecordType: next?.Type,
      NextRecordIdentifier: next?.SetIdentifier,
    };
  }
  async changeResourceRecordSets(p: { HostedZoneId: string; ChangeBatch: { Changes: SetChange[] } }): Promise<ChangeAnswer> {
    this.calls.push({ op: 'change', params: p });
    this.fail();
    return { ChangeInfo: { Id: `/change/C${this.calls.length}`, Status: 'INSYNC' } };
  }
  async getChange(p: { Id: string }): Promise<ChangeAnswer> {
    this.calls.push({ op: 'getChange', params: p });
    return { ChangeInfo: { Id: p.Id, Status: 'INSYNC' } };
  }
  ops(): string[] {
    return this.calls.map((c) => c.op);
  }
}

const W = 'www.example.com';
function provider(api: RecordingApi, extra: Partial<Route53ProviderOptions> = {}): Route53Provider {
  return new Route53Provider({ zoneName: 'example.com', api, logger: silentLogger(), ttl: 60, retry: { attempts: 3, sleep: async () => undefined }, ...extra });
}
const awsError = (name: string, status: number, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${name} said no`), { name, $metadata: { httpStatusCode: status }, ...extra });

async function caught(p: Promise<unknown>): Promise<DnsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DnsError);
    return err as DnsError;
  }
  throw new Error('expected a rejection');
}

describe('route53Error: SDK errors → DnsError kinds', () => {
  it.each<[string, unknown, string, boolean]>([
    ['Throttling', awsError('Throttling', 400), 'rate-limit', true],
    ['PriorRequestNotComplete', awsError('PriorRequestNotComplete', 400), 'rate-limit', true],
    ['5xx', awsError('InternalFailure', 500, { $fault: 'server' }), 'server', true],
    ['ServiceUnavailable', awsError('ServiceUnavailable', 503), 'server', true],
    ['timeout', Object.assign(new Error('socket timed out'), { name: 'TimeoutError' }), 'timeout', true],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), 'network', true],
    ['AccessDenied', awsError('AccessDenied', 403), 'auth', false],
    ['InvalidClientTokenId', awsError('InvalidClientTokenId', 403), 'auth', false],
    ['no credentials', Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }), 'auth', false],
    ['InvalidChangeBatch', awsError('InvalidChangeBatch', 400), 'conflict', true],
    ['NoSuchHostedZone', awsError('NoSuchHostedZone', 404), 'not-found', false],
    ['InvalidInput', awsError('InvalidInput', 400), 'bad-request', false],
  ])('%s', (_name, err, kind, retryable) => {
    const e = route53Error(err, 'ListResourceRecordSets');
    expect(e.kind).toBe(kind);
    expect(e.retryable).toBe(retryable);
    expect(e.message).toMatch(/^Route 53 ListResourceRecordSets: /);
  });
});

describe('Route53Provider logic (recording fake)', () => {
  it('looks the zone up once by name; with aws_zoneid it checks the name instead', async () => {
    const api = new RecordingApi();
    const p = provider(api);
    await p.listRecords([W]);
    await p.listRecords([W]);
    expect(api.ops().filter((o) => o === 'zones')).toHaveLength(1);
    const api2 = new RecordingApi();
    await provider(api2, { zoneId: 'Z1' }).listRecords([W]);
    expect(api2.ops()[0]).toBe('zone');
    const wrong = await caught(provider(new RecordingApi(), { zoneId: 'Z1', zoneName: 'example.org' }).listRecords(['www.example.org']));
    expect(wrong.kind).toBe('bad-request');
  });

  it('no zone of that name: not-found, looked up again on the next call', async () => {
    const api = new RecordingApi();
    api.zones = [{ Id: '/hostedzone/Z9', Name: 'other.org.' }];
    const p = provider(api);
    expect((await caught(p.listRecords([W]))).kind).toBe('not-found');
    api.zones = [{ Id: '/hostedzone/Z1', Name: 'example.com.' }];
    expect(await p.listRecords([W])).toEqual([]);
    expect(api.ops().filter((o) => o === 'zones')).toHaveLength(2);
  });

  it('pages until the name ends, starting at (name, A)', async () => {
    const api = new RecordingApi();
    api.pageSize = 1;
    api.sets = [
      { Name: `${W}.`, Type: 'A', SetIdentifier: 'a', Weight: 1, TTL: 60, ResourceRecords: [{ Value: '198.18.0.1' }] },
      { Name: `${W}.`, Type: 'A', SetIdentifier: 'b', Weight: 1, TTL: 60, ResourceRecords: [{ Value: '198.18.0.2' }] },
      { Name: `${W}.`, Type: 'AAAA', TTL: 60, ResourceRecords: [{ Value: '2001:db8::1' }] },
      { Name: 'xyz.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '198.18.0.9' }] },
    ];
    const records = await provider(api).listRecords([W]);
    expect(records.map((r) => r.content)).toEqual(['198.18.0.1', '198.18.0.2', '2001:db8::1']);
    const lists = api.calls.filter((c) => c.op === 'list').map((c) => c.params);
    expect(lists[0]).toMatchObject({ StartRecordName: `${W}.`, StartRecordType: 'A' });
    expect(lists[1]).toMatchObject({ StartRecordName: `${W}.`, StartRecordType: 'A', StartRecordIdentifier: 'b' });
    expect(lists).toHaveLength(4); // the 4th page shows the next name and ends the walk
  });

  it.each<[string, unknown]>([
    ['no list', { IsTruncated: false }],
    ['a set without a name', { ResourceRecordSets: [{ Type: 'A' }], IsTruncated: false }],
    ['truncated without NextRecordName', { ResourceRecordSets: [], IsTruncated: true }],
  ])('a bad listing (%s) is a bad-response error, not a crash', async (_name, answer) => {
    const api = new RecordingApi();
    api.listAnswer = () => answer;
    expect((await caught(provider(api).listRecords([W]))).kind).toBe('bad-response');
  });

  it('a refused batch (InvalidChangeBatch) is a conflict, sent once, memory unchanged', async () => {
    const api = new RecordingApi();
    api.sets = [
      { Name: `${W}.`, Type: 'A', SetIdentifier: 'm', MultiValueAnswer: true, TTL: 60, ResourceRecords: [{ Value: '198.18.0.1' }] },
      { Name: `${W}.`, Type: 'A', SetIdentifier: 'n', MultiValueAnswer: true, TTL: 60, ResourceRecords: [{ Value: '198.18.0.2' }] },
    ];
    const p = provider(api);
    const records = await p.listRecords([W]);
    api.failNext = [awsError('InvalidChangeBatch', 400)];
    const err = await caught(p.apply([{ op: 'delete', record: records[0]! }]));
    expect(err.kind).toBe('conflict');
    expect(api.ops().filter((o) => o === 'change')).toHaveLength(1);
    expect(p.memory().size).toBe(0);
    // Throttling is retried, and the memory is kept once the batch went in.
    api.failNext = [awsError('Throttling', 400)];
    await p.apply([{ op: 'delete', record: records[0]! }]);
    expect(api.ops().filter((o) => o === 'change')).toHaveLength(3);
    expect([...p.memory().keys()]).toEqual([`A ${W} 198.18.0.1`]);
  });

  it('a removal of a record this pass did not read is a conflict; no call is made', async () => {
    const api = new RecordingApi();
    const p = provider(api);
    await p.listRecords([W]);
    const stray: Change = { op: 'delete', record: { id: 'x', type: 'A', name: W, content: '198.18.0.1', proxied: false, ttl: 60 } };
    expect((await caught(p.apply([stray]))).kind).toBe('conflict');
    expect(api.ops()).not.toContain('change');
  });

  it('splits a big plan into requests within the limits, one name per request at most as needed', async () => {
    const api = new RecordingApi();
    const names = ['a', 'b', 'c'].map((n) => `${n}.example.com`);
    const p = provider(api, { limits: { resourceRecords: 4, valueCharacters: 32_000 } });
    await p.listRecords(names);
    const adds: Change[] = names.flatMap((name) =>
      ['198.18.0.1', '198.18.0.2', '198.18.0.3'].map((content) => ({
        op: 'create' as const,
        record: { type: 'A' as const, name, content, proxied: false, ttl: 60 },
      })),
    );
    await p.apply(adds);
    const batches = api.calls.filter((c) => c.op === 'change').map((c) => (c.params as { ChangeBatch: { Changes: SetChange[] } }).ChangeBatch.Changes.length);
    expect(batches).toEqual([1, 1, 1]);
    const p2 = provider(api);
    await p2.listRecords(names);
    api.calls.length = 0;
    await p2.apply(adds);
    expect(api.calls.filter((c) => c.op === 'change')).toHaveLength(1);
  });
});
