import { APIError } from 'cloudflare';
import { describe, expect, it } from 'vitest';
import {
  CloudflareDnsError,
  CloudflareProvider,
  type CloudflareDns,
  type CloudflareProviderOptions,
  type Envelope,
  type RecordBody,
} from '../../../src/dns/cloudflare.js';
import { DnsError, type Change, type DnsRecord, type NewRecord } from '../../../src/dns/types.js';
import { silentLogger } from '../../../src/log.js';

/**
 * The provider's logic against a recording fake of the CloudflareDns seam:
 * no SDK, no HTTP. Failures are the SDK's own errors (APIError.generate),
 * so the provider's error mapping is exercised as with the real client.
 * (The wrapper itself is tested in cloudflare.test.ts against the HTTP stand-in.)
 */
type Method = keyof CloudflareDns;
type Failure = { status: number; codes?: number[] };

class RecordingDns implements CloudflareDns {
  /** Every call, in order: `batchRecords -2 +1`, `createRecord A www 192.0.2.2`, `deleteRecord r1`. */
  readonly calls: string[] = [];
  /** Per method, failures answered in turn before calls succeed. */
  readonly fail: Partial<Record<Method, Failure[]>> = {};
  /** Batch bodies received, in order. */
  readonly batches: { deletes: string[]; posts: string[] }[] = [];

  #answer(method: Method, call: string, result: unknown = {}): Promise<Envelope> {
    this.calls.push(call);
    const f = this.fail[method]?.shift();
    if (f) {
      const errors = (f.codes ?? []).map((code) => ({ code, message: `code ${code}` }));
      return Promise.reject(APIError.generate(f.status, { success: false, errors }, undefined, new Headers()));
    }
    return Promise.resolve({ result, resultInfo: undefined });
  }
  listZones(params: { name: string }): Promise<Envelope> {
    return this.#answer('listZones', `listZones ${params.name}`, [{ id: 'Z', name: params.name, status: 'active' }]);
  }
  getZone(params: { zone_id: string }): Promise<Envelope> {
    return this.#answer('getZone', `getZone ${params.zone_id}`, { name: 'example.com' });
  }
  listRecords(params: { name: { exact: string } }): Promise<Envelope> {
    return this.#answer('listRecords', `listRecords ${params.name.exact}`, []);
  }
  createRecord(params: { zone_id: string } & RecordBody): Promise<Envelope> {
    return this.#answer('createRecord', `createRecord ${params.type} ${params.name} ${params.content}`);
  }
  deleteRecord(id: string): Promise<Envelope> {
    return this.#answer('deleteRecord', `deleteRecord ${id}`);
  }
  batchRecords(params: { deletes: { id: string }[]; posts: RecordBody[] }): Promise<Envelope> {
    this.batches.push({ deletes: params.deletes.map((d) => d.id), posts: params.posts.map((p) => `${p.type} ${p.name} ${p.content}`) });
    return this.#answer('batchRecords', `batchRecords -${params.deletes.length} +${params.posts.length}`);
  }
}

function provider(api: CloudflareDns, extra: Partial<CloudflareProviderOptions> = {}): CloudflareProvider {
  return new CloudflareProvider({
    zoneName: 'example.com',
    credentials: { apiToken: 'test-token' },
    logger: silentLogger(),
    retry: { attempts: 4, random: () => 0.5, sleep: async () => undefined },
    api,
    ...extra,
  });
}

const A = (name: string, content: string): NewRecord => ({ type: 'A', name, content, proxied: false, ttl: 1 });
const create = (name: string, content: string): Change => ({ op: 'create', record: A(name, content) });
const del = (name: string, content: string, id: string): Change => ({ op: 'delete', record: { ...A(name, content), id } satisfies DnsRecord });
/** www: replace .1 (r1) by .2; api: add .3. */
const PLAN: Change[] = [del('www.example.com', '192.0.2.1', 'r1'), create('www.example.com', '192.0.2.2'), create('api.example.com', '192.0.2.3')];
const ONE_BY_ONE = ['createRecord A www.example.com 192.0.2.2', 'createRecord A api.example.com 192.0.2.3', 'deleteRecord r1'];

async function caught(p: Promise<unknown>): Promise<DnsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DnsError);
    return err as DnsError;
  }
  throw new Error('expected a rejection');
}

describe('CloudflareProvider over the CloudflareDns seam: batch → one by one', () => {
  it('a plan goes as one batch call: deletes and posts', async () => {
    const api = new RecordingDns();
    await provider(api).apply(PLAN);
    expect(api.calls).toEqual(['listZones example.com', 'batchRecords -1 +2']);
    expect(api.batches).toEqual([{ deletes: ['r1'], posts: ['A www.example.com 192.0.2.2', 'A api.example.com 192.0.2.3'] }]);
  });

  const fallbacks: { name: string; failure: Failure }[] = [
    { name: '404 without a record code (no such route)', failure: { status: 404, codes: [7000] } },
    { name: '404 with no body codes', failure: { status: 404 } },
    { name: '405', failure: { status: 405 } },
    { name: '501', failure: { status: 501 } },
  ];
  for (const f of fallbacks) {
    it(`batch ${f.name} → one call at a time, every create before any delete`, async () => {
      const api = new RecordingDns();
      api.fail.batchRecords = [f.failure];
      await provider(api).apply(PLAN);
      expect(api.calls).toEqual(['listZones example.com', 'batchRecords -1 +2', ...ONE_BY_ONE]);
    });
  }

  const noFallback: { name: string; failure: Failure; kind: DnsError['kind'] }[] = [
    { name: '404 record missing (81044): DNS changed since planning', failure: { status: 404, codes: [81044] }, kind: 'conflict' },
    { name: '400 record exists (81057)', failure: { status: 400, codes: [81057] }, kind: 'conflict' },
    { name: '400 record conflict (81058)', failure: { status: 400, codes: [81058] }, kind: 'conflict' },
    { name: '404 unknown zone (7003)', failure: { status: 404, codes: [7003] }, kind: 'not-found' },
    { name: '500', failure: { status: 500 }, kind: 'server' },
    { name: '429', failure: { status: 429 }, kind: 'rate-limit' },
    { name: '403', failure: { status: 403 }, kind: 'auth' },
  ];
  for (const f of noFallback) {
    it(`batch ${f.name} → ${f.kind}, sent once, no single calls`, async () => {
      const api = new RecordingDns();
      api.fail.batchRecords = [f.failure];
      const err = await caught(provider(api).apply(PLAN));
      expect(err.kind).toBe(f.kind);
      expect(err).toBeInstanceOf(CloudflareDnsError);
      expect(api.calls).toEqual(['listZones example.com', 'batchRecords -1 +2']);
    });
  }

  it('after a fallback: one by one for 10 minutes, then a batch is tried again (clock injected)', async () => {
    const api = new RecordingDns();
    api.fail.batchRecords = [{ status: 404 }];
    let now = 1_000_000;
    const p = provider(api, { now: () => now });
    await p.apply(PLAN);
    api.calls.length = 0;
    now += 10 * 60_000 - 1;
    await p.apply(PLAN);
    expect(api.calls).toEqual(ONE_BY_ONE);
    api.calls.length = 0;
    now += 1;
    await p.apply(PLAN);
    expect(api.calls).toEqual(['batchRecords -1 +2']);
  });

  it('one by one: "already exists" and "already gone" count as done', async () => {
    const api = new RecordingDns();
    api.fail.createRecord = [{ status: 400, codes: [81057] }];
    api.fail.deleteRecord = [{ status: 404, codes: [81044] }];
    await provider(api, { useBatch: false }).apply(PLAN);
    expect(api.calls).toEqual(['listZones example.com', ...ONE_BY_ONE]);
  });

  it('one by one: a failed create stops before any delete', async () => {
    const api = new RecordingDns();
    api.fail.createRecord = [{ status: 500 }];
    const err = await caught(provider(api, { useBatch: false }).apply(PLAN));
    expect(err.kind).toBe('server');
    expect(api.calls).toEqual(['listZones example.com', 'createRecord A www.example.com 192.0.2.2']);
  });

  it('one by one: a delete answering "unknown zone" is not "already gone"', async () => {
    const api = new RecordingDns();
    api.fail.deleteRecord = [{ status: 404, codes: [7003] }];
    const err = await caught(provider(api, { useBatch: false }).apply(PLAN));
    expect(err.kind).toBe('not-found');
    expect(api.calls.at(-1)).toBe('deleteRecord r1');
  });
});

describe('CloudflareProvider over the CloudflareDns seam: batches split', () => {
  /** n names, each replacing one record: 2 changes per (name, type). */
  const replaceMany = (n: number): Change[] =>
    Array.from({ length: n }, (_, k) => [del(`h${k}.example.com`, '192.0.2.1', `r${k}`), create(`h${k}.example.com`, '192.0.2.2')]).flat();

  it('250 replacements (500 changes) → batches of 200, 200, 100, no name split between two', async () => {
    const api = new RecordingDns();
    await provider(api).apply(replaceMany(250));
    expect(api.calls).toEqual(['listZones example.com', 'batchRecords -100 +100', 'batchRecords -100 +100', 'batchRecords -50 +50']);
    for (const b of api.batches) {
      const deleted = b.deletes.map((id) => `A h${id.slice(1)}.example.com`);
      const created = b.posts.map((p) => p.split(' ').slice(0, 2).join(' '));
      expect(deleted).toEqual(created); // each name's delete travels with its create
    }
  });

  it('batchChanges is configurable', async () => {
    const api = new RecordingDns();
    await provider(api, { batchChanges: 4 }).apply(replaceMany(3));
    expect(api.calls.slice(1)).toEqual(['batchRecords -2 +2', 'batchRecords -1 +1']);
  });

  it('the batch endpoint gone after the first batch: the rest goes one by one, creates first', async () => {
    const api = new RecordingDns();
    // The first batch succeeds, the second answers 404.
    const orig = api.batchRecords.bind(api);
    let n = 0;
    api.batchRecords = (params) => {
      n += 1;
      if (n === 2) api.fail.batchRecords = [{ status: 404 }];
      return orig(params);
    };
    await provider(api, { batchChanges: 2 }).apply(replaceMany(2));
    expect(api.calls).toEqual([
      'listZones example.com',
      'batchRecords -1 +1',
      'batchRecords -1 +1',
      'createRecord A h1.example.com 192.0.2.2',
      'deleteRecord r1',
    ]);
  });

  it('a failure in a later batch goes up; the earlier batches stay applied', async () => {
    const api = new RecordingDns();
    const orig = api.batchRecords.bind(api);
    let n = 0;
    api.batchRecords = (params) => {
      n += 1;
      if (n === 2) api.fail.batchRecords = [{ status: 500 }];
      return orig(params);
    };
    const err = await caught(provider(api, { batchChanges: 2 }).apply(replaceMany(3)));
    expect(err.kind).toBe('server');
    expect(api.calls).toEqual(['listZones example.com', 'batchRecords -1 +1', 'batchRecords -1 +1']);
  });
});
