import { Writable } from 'node:stream';
import { inspect } from 'node:util';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CloudflareDnsError, CloudflareProvider, credentialsFromEnv, type CloudflareProviderOptions } from '../../../src/dns/cloudflare.js';
import { silentLogger } from '../../../src/log.js';
import { DnsError, type Change, type DnsRecord, type NewRecord } from '../../../src/dns/types.js';
import { startFakeCloudflare, type FakeCloudflare } from '../../support/fake-cloudflare.js';

/** Retries without real waiting: every wait is recorded, none is slept. */
function instantRetry(): { retry: NonNullable<CloudflareProviderOptions['retry']>; waits: number[] } {
  const waits: number[] = [];
  return {
    waits,
    retry: {
      attempts: 4,
      random: () => 0.5,
      sleep: async (ms) => {
        waits.push(ms);
      },
    },
  };
}

let cf: FakeCloudflare;
let waits: number[];

function provider(extra: Partial<CloudflareProviderOptions> = {}): CloudflareProvider {
  const r = instantRetry();
  waits = r.waits;
  return new CloudflareProvider({
    zoneName: 'example.com',
    credentials: { apiToken: 'test-token' },
    baseURL: cf.baseURL,
    logger: silentLogger(),
    retry: r.retry,
    ...extra,
  });
}

const A = (name: string, content: string): NewRecord => ({ type: 'A', name, content, proxied: false, ttl: 1 });
const AAAA = (name: string, content: string): NewRecord => ({ type: 'AAAA', name, content, proxied: false, ttl: 1 });
const create = (record: NewRecord): Change => ({ op: 'create', record });
const del = (record: DnsRecord): Change => ({ op: 'delete', record });
const summary = (records: readonly { type: string; name: string; content: string }[]): string[] =>
  records.map((r) => `${r.type} ${r.name} ${r.content}`).sort();

async function caught(p: Promise<unknown>): Promise<DnsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DnsError);
    return err as DnsError;
  }
  throw new Error('expected a rejection');
}

beforeEach(async () => {
  cf = await startFakeCloudflare({ zones: ['example.com', 'other.org'] });
});
afterEach(async () => {
  await cf.close();
});

describe('CloudflareProvider: zone', () => {
  it('looks the zone id up once and caches it; concurrent callers share one lookup', async () => {
    const p = provider();
    const ids = await Promise.all([p.zoneId(), p.zoneId(), p.listRecords(['www.example.com']).then(() => p.zoneId())]);
    expect(ids).toEqual([cf.zoneId('example.com'), cf.zoneId('example.com'), cf.zoneId('example.com')]);
    expect(await p.zoneId()).toBe(cf.zoneId('example.com'));
    expect(cf.count({ method: 'GET', path: '/zones' })).toBe(1);
    expect(cf.calls[0]!.query).toMatchObject({ name: 'example.com' });
  });

  it('zone not found → not-found naming the zone, not retried, not cached', async () => {
    const p = provider({ zoneName: 'missing.example' });
    const err = await caught(p.listRecords(['www.missing.example']));
    expect(err.kind).toBe('not-found');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('"missing.example"');
    expect(cf.count({ path: '/zones' })).toBe(1);
    // Created later: the next call finds it (a failed lookup is not cached).
    cf.addZone('missing.example');
    expect(await p.zoneId()).toBe(cf.zoneId('missing.example'));
    expect(cf.count({ path: '/zones' })).toBe(2);
  });

  it('a failed lookup (500s) is not cached', async () => {
    const p = provider({ retry: { attempts: 1 } });
    cf.inject({ match: { path: /^\/zones$/ }, status: 500 });
    expect((await caught(p.zoneId())).kind).toBe('server');
    expect(await p.zoneId()).toBe(cf.zoneId('example.com'));
  });

  it('a cached zone id that Cloudflare no longer knows (7003) → not-found, then looked up again', async () => {
    const p = provider();
    await p.zoneId();
    const gone = {
      success: false,
      errors: [{ code: 7003, message: 'Could not route to /zones/x/dns_records, perhaps your object identifier is invalid?' }],
      messages: [],
      result: null,
    };
    cf.inject({ match: { path: /\/batch$/ }, status: 404, body: gone });
    const err = await caught(p.apply([create(A('www.example.com', '192.0.2.1'))]));
    expect(err.kind).toBe('not-found');
    expect(err.message).toContain('"example.com"');
    expect(cf.count({ method: 'POST' })).toBe(1); // no fallback to single calls
    await p.apply([create(A('www.example.com', '192.0.2.1'))]);
    expect(cf.count({ path: '/zones' })).toBe(2);
    expect(cf.count({ path: /\/batch$/ })).toBe(2);
  });

  describe('several zones with the name', () => {
    let dup: FakeCloudflare;
    const on = (extra: Partial<CloudflareProviderOptions> = {}) =>
      new CloudflareProvider({
        zoneName: 'example.com',
        credentials: { apiToken: 'test-token' },
        baseURL: dup.baseURL,
        logger: silentLogger(),
        retry: instantRetry().retry,
        ...extra,
      });
    beforeEach(async () => {
      dup = await startFakeCloudflare({ zones: [] });
    });
    afterEach(async () => {
      await dup.close();
    });

    it('a pending and an active one (pending listed first) → the active one is used, and logged', async () => {
      const pending = dup.addZone('example.com', { status: 'pending' });
      const active = dup.addZone('example.com', { status: 'active' });
      const lines: string[] = [];
      const logger = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _e, cb) => void (lines.push(chunk.toString()), cb()) }));
      const p = on({ logger });
      await p.apply([create(A('www.example.com', '192.0.2.1'))]);
      expect(summary(dup.records(active))).toEqual(['A www.example.com 192.0.2.1']);
      expect(dup.records(pending)).toEqual([]);
      expect(lines.join('')).toContain(active);
      expect(lines.join('')).toContain(pending);
    });

    for (const statuses of [
      ['pending', 'pending'],
      ['active', 'active'],
    ] as const) {
      it(`two ${statuses[0]} ones → a clear error naming both ids, nothing written`, async () => {
        const ids = statuses.map((status) => dup.addZone('example.com', { status }));
        const err = await caught(on().apply([create(A('www.example.com', '192.0.2.1'))]));
        expect(err.retryable).toBe(false);
        for (const id of ids) expect(err.message).toContain(id);
        expect(err.message).toContain('zone_id');
        expect(dup.mutatingCalls()).toEqual([]);
      });
    }

    it('zoneId pins the zone: no lookup by name; its name is checked once', async () => {
      dup.addZone('example.com', { status: 'active' });
      const second = dup.addZone('example.com', { status: 'active' });
      const p = on({ zoneId: second });
      await p.apply([create(A('www.example.com', '192.0.2.1'))]);
      await p.listRecords(['www.example.com']);
      expect(summary(dup.records(second))).toEqual(['A www.example.com 192.0.2.1']);
      expect(dup.count({ path: '/zones' })).toBe(0);
      expect(dup.count({ method: 'GET', path: `/zones/${second}` })).toBe(1);
    });

    it('a zoneId whose zone has another name → a clear error naming both, nothing written', async () => {
      const other = dup.addZone('other.org');
      const err = await caught(on({ zoneId: other }).apply([create(A('www.example.com', '192.0.2.1'))]));
      expect(err.message).toContain(other);
      expect(err.message).toContain('"other.org"');
      expect(err.message).toContain('"example.com"');
      expect(dup.mutatingCalls()).toEqual([]);
    });

    it('an unknown zoneId → not-found naming it', async () => {
      const err = await caught(on({ zoneId: 'e'.repeat(32) }).zoneId());
      expect(err.kind).toBe('not-found');
      expect(err.message).toContain('e'.repeat(32));
    });
  });

  it('an aborted caller rejects with the abort reason', async () => {
    const p = provider();
    cf.inject({ match: { path: /^\/zones$/ }, hang: true });
    const controller = new AbortController();
    const reason = new Error('shutdown');
    const pending = p.zoneId(controller.signal);
    setTimeout(() => controller.abort(reason), 50);
    await expect(pending).rejects.toBe(reason);
  });
});

describe('CloudflareProvider: listRecords', () => {
  it('returns the A and AAAA records of the names, normalised, and nothing else', async () => {
    cf.addRecord('example.com', { type: 'A', name: 'www.example.com', content: '192.0.2.1', proxied: true, ttl: 300 });
    cf.addRecord('example.com', { type: 'AAAA', name: 'www.example.com', content: '2001:DB8:0:0:0:0:0:1' });
    cf.addRecord('example.com', { type: 'TXT', name: 'www.example.com', content: 'v=spf1 -all' });
    cf.addRecord('example.com', { type: 'A', name: 'api.example.com', content: '192.0.2.2' });
    cf.addRecord('example.com', { type: 'A', name: 'other.example.com', content: '192.0.2.3' });
    const recs = await provider().listRecords(['WWW.example.com.', 'api.example.com', 'www.example.com', 'none.example.com']);
    expect(summary(recs)).toEqual(['A api.example.com 192.0.2.2', 'A www.example.com 192.0.2.1', 'AAAA www.example.com 2001:db8::1']);
    const a = recs.find((r) => r.content === '192.0.2.1')!;
    expect(a).toEqual({ id: a.id, type: 'A', name: 'www.example.com', content: '192.0.2.1', proxied: true, ttl: 300 });
    expect(a.id).toMatch(/^[0-9a-f]{32}$/);
    // One listing per distinct name, filtered by exact name on the server.
    const lists = cf.calls.filter((c) => c.path.endsWith('/dns_records'));
    expect(lists.map((c) => c.query['name.exact'])).toEqual(['www.example.com', 'api.example.com', 'none.example.com']);
  });

  it('reads every page when there are more records than fit one page', async () => {
    for (let i = 0; i < 250; i++) cf.addRecord('example.com', { type: 'A', name: 'www', content: `198.51.100.${i}` });
    const recs = await provider({ pageSize: 100 }).listRecords(['www.example.com']);
    expect(recs).toHaveLength(250);
    expect(new Set(recs.map((r) => r.content)).size).toBe(250);
    const pages = cf.calls.filter((c) => c.path.endsWith('/dns_records')).map((c) => [c.query['page'], c.query['per_page']]);
    expect(pages).toEqual([
      ['1', '100'],
      ['2', '100'],
      ['3', '100'],
    ]);
  });

  it('keeps paging when the server returns fewer records per page than asked', async () => {
    const small = await startFakeCloudflare({ maxPerPage: 7 });
    try {
      for (let i = 0; i < 20; i++) small.addRecord('example.com', { type: 'A', name: 'www', content: `198.51.100.${i}` });
      const p = new CloudflareProvider({ zoneName: 'example.com', credentials: { apiToken: 'test-token' }, baseURL: small.baseURL, logger: silentLogger() });
      expect(await p.listRecords(['www.example.com'])).toHaveLength(20);
    } finally {
      await small.close();
    }
  });

  it('skips records that are not addresses of their type (127.000.0.9): logged once at debug, never a failure', async () => {
    cf.addRecord('example.com', { type: 'A', name: 'www', content: '127.000.0.9' });
    cf.addRecord('example.com', { type: 'AAAA', name: 'www', content: '192.0.2.7' });
    cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, cb) => void (lines.push(chunk.toString()), cb()) }));
    const p = provider({ logger });
    expect(summary(await p.listRecords(['www.example.com']))).toEqual(['A www.example.com 192.0.2.1']);
    expect(summary(await p.listRecords(['www.example.com']))).toEqual(['A www.example.com 192.0.2.1']);
    const skipped = lines.map((l) => JSON.parse(l) as { level: number; msg: string; content?: string }).filter((l) => l.msg.includes('not managed'));
    expect(skipped.map((l) => [l.level, l.content]).sort()).toEqual([
      [20, '127.000.0.9'],
      [20, '192.0.2.7'],
    ]);
  });

  describe('pagination that never ends', () => {
    const item = (id: string, content: string) => ({ id, type: 'A', name: 'www.example.com', content, proxied: false, ttl: 1 });
    const page = (result: unknown[], info: Record<string, number>) => ({ success: true, errors: [], messages: [], result, result_info: info });

    it('the same records on every page with total_pages 999999: stops at the first page that adds no record', async () => {
      const p = provider();
      await p.zoneId();
      const same = page([item('a'.repeat(32), '192.0.2.1')], { page: 1, per_page: 5000, count: 1, total_count: 999999 * 5000, total_pages: 999999 });
      cf.inject({ match: { path: /dns_records$/ }, status: 200, body: same, times: 50 });
      expect(summary(await p.listRecords(['www.example.com']))).toEqual(['A www.example.com 192.0.2.1']);
      expect(cf.count({ path: /dns_records$/ })).toBe(2);
    });

    it('new records on every page: capped by ceil(total_count / per_page)', async () => {
      const p = provider({ pageSize: 2 });
      await p.zoneId();
      let n = 0;
      const fresh = () =>
        page([item(`id-${n}`, `198.51.100.${n++}`), item(`id-${n}`, `198.51.100.${n++}`)], { per_page: 2, count: 2, total_count: 5, total_pages: 999999 });
      cf.inject({ match: { path: /dns_records$/ }, status: 200, body: fresh, times: 50 });
      expect(await p.listRecords(['www.example.com'])).toHaveLength(6);
      expect(cf.count({ path: /dns_records$/ })).toBe(3);
    });

    it('new records on every page and no totals: fails clearly after 100 pages', async () => {
      const p = provider({ pageSize: 1 });
      await p.zoneId();
      let n = 0;
      const fresh = () => page([item(`id-${n}`, `10.0.${n >> 8}.${n++ & 255}`)], { per_page: 1, count: 1 });
      cf.inject({ match: { path: /dns_records$/ }, status: 200, body: fresh, times: 1000 });
      const err = await caught(p.listRecords(['www.example.com']));
      expect(err.kind).toBe('bad-response');
      expect(err.message).toContain('100 pages');
      expect(cf.count({ path: /dns_records$/ })).toBe(100);
    });

    it('60,003 records of one name are read in 13 pages', async () => {
      for (let i = 0; i < 60_003; i++) cf.addRecord('example.com', { type: 'A', name: 'www', content: `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}` });
      const recs = await provider().listRecords(['www.example.com']);
      expect(recs).toHaveLength(60_003);
      expect(cf.count({ path: /dns_records$/ })).toBe(13);
    });
  });

  it('lists no names without calling the API', async () => {
    expect(await provider().listRecords([])).toEqual([]);
    expect(cf.calls).toEqual([]);
  });

  it('a 200 answer with success:false → bad-response', async () => {
    const p = provider();
    await p.zoneId();
    cf.inject({ match: { path: /dns_records$/ }, status: 200, body: { success: false, errors: [{ code: 1000, message: 'odd' }], messages: [], result: null } });
    const err = await caught(p.listRecords(['www.example.com']));
    expect(err.kind).toBe('bad-response');
    expect(err.message).toContain('1000 odd');
  });

  it('a non-JSON answer → bad-response', async () => {
    const p = provider();
    await p.zoneId();
    cf.inject({ match: { path: /dns_records$/ }, status: 200, body: '<html>hello</html>' });
    expect((await caught(p.listRecords(['www.example.com']))).kind).toBe('bad-response');
  });
});

describe('CloudflareProvider: apply (batch)', () => {
  it('creates and deletes in one batch call', async () => {
    const old = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    const p = provider();
    const [current] = await p.listRecords(['www.example.com']);
    cf.resetCalls();
    await p.apply([del(current!), create(A('www.example.com', '192.0.2.2')), create(AAAA('www.example.com', '2001:db8::2'))]);
    expect(cf.mutatingCalls()).toHaveLength(1);
    const call = cf.mutatingCalls()[0]!;
    expect(call.path).toBe(`/zones/${cf.zoneId('example.com')}/dns_records/batch`);
    expect(call.body).toEqual({
      deletes: [{ id: old.id }],
      posts: [
        { type: 'A', name: 'www.example.com', content: '192.0.2.2', proxied: false, ttl: 1 },
        { type: 'AAAA', name: 'www.example.com', content: '2001:db8::2', proxied: false, ttl: 1 },
      ],
    });
    expect(summary(cf.records())).toEqual(['A www.example.com 192.0.2.2', 'AAAA www.example.com 2001:db8::2']);
  });

  it('sends proxied and ttl as given', async () => {
    await provider().apply([create({ type: 'A', name: 'www.example.com', content: '192.0.2.7', proxied: true, ttl: 120 })]);
    expect(cf.records()[0]).toMatchObject({ proxied: true, ttl: 120 });
  });

  it('an empty plan makes no call at all', async () => {
    await provider().apply([]);
    expect(cf.calls).toEqual([]);
  });

  it('a stale plan (record already deleted) → conflict, retryable, nothing applied, sent once', async () => {
    const rec = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    const p = provider();
    const [current] = await p.listRecords(['www.example.com']);
    cf.removeRecord(rec.id);
    cf.resetCalls();
    const err = await caught(p.apply([del(current!), create(A('www.example.com', '192.0.2.9'))]));
    expect(err.kind).toBe('conflict');
    expect(err.retryable).toBe(true);
    expect((err as CloudflareDnsError).codes).toContain(81044);
    expect(cf.records()).toEqual([]);
    expect(cf.mutatingCalls()).toHaveLength(1);
  });

  it('applying the same plan twice creates no duplicate (second time: conflict, state unchanged)', async () => {
    const p = provider();
    const plan = [create(A('www.example.com', '192.0.2.1'))];
    await p.apply(plan);
    const after = cf.records();
    expect((await caught(p.apply(plan))).kind).toBe('conflict');
    expect(cf.records()).toEqual(after);
    expect(summary(await p.listRecords(['www.example.com']))).toEqual(['A www.example.com 192.0.2.1']);
  });
});

describe('CloudflareProvider: apply (one call at a time)', () => {
  it('falls back to single calls when the batch endpoint answers 404, creates before deletes, and remembers', async () => {
    const old = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    const p = provider();
    const [current] = await p.listRecords(['www.example.com']);
    cf.resetCalls();
    cf.inject({ match: { path: /\/dns_records\/batch$/ }, status: 404, times: 1 });
    await p.apply([del(current!), create(A('www.example.com', '192.0.2.2'))]);
    expect(cf.mutatingCalls().map((c) => `${c.method} ${c.path.replace(cf.zoneId('example.com'), 'Z')} ${c.status}`)).toEqual([
      'POST /zones/Z/dns_records/batch 404',
      'POST /zones/Z/dns_records 200',
      `DELETE /zones/Z/dns_records/${old.id} 200`,
    ]);
    expect(summary(cf.records())).toEqual(['A www.example.com 192.0.2.2']);
    // The next apply goes straight to single calls.
    cf.resetCalls();
    await p.apply([create(A('www.example.com', '192.0.2.3'))]);
    expect(cf.count({ path: /batch$/ })).toBe(0);
    expect(cf.count({ method: 'POST' })).toBe(1);
  });

  for (const status of [405, 501]) {
    it(`falls back when the batch endpoint answers ${status}`, async () => {
      const p = provider();
      cf.inject({ match: { path: /\/batch$/ }, status });
      await p.apply([create(A('www.example.com', '192.0.2.2'))]);
      expect(summary(cf.records())).toEqual(['A www.example.com 192.0.2.2']);
    });
  }

  it('does not fall back on a 500 from the batch endpoint (the error goes up; the next apply batches again)', async () => {
    const p = provider();
    cf.inject({ match: { path: /\/batch$/ }, status: 500 });
    expect((await caught(p.apply([create(A('www.example.com', '192.0.2.2'))]))).kind).toBe('server');
    await p.apply([create(A('www.example.com', '192.0.2.2'))]);
    expect(cf.count({ path: /\/batch$/ })).toBe(2);
    expect(cf.count({ method: 'POST', path: /dns_records$/ })).toBe(0);
    expect(summary(cf.records())).toEqual(['A www.example.com 192.0.2.2']);
  });

  it('after a batch 404 it batches again 10 minutes later (clock injected), one by one in between', async () => {
    let now = 1_000_000;
    const p = provider({ now: () => now });
    cf.inject({ match: { path: /\/batch$/ }, status: 404 });
    await p.apply([create(A('www.example.com', '192.0.2.1'))]);
    now += 9 * 60_000;
    await p.apply([create(A('www.example.com', '192.0.2.2'))]);
    expect(cf.count({ path: /\/batch$/ })).toBe(1);
    now += 60_000;
    await p.apply([create(A('www.example.com', '192.0.2.3'))]);
    expect(cf.count({ path: /\/batch$/ })).toBe(2);
    expect(cf.count({ method: 'POST', path: /dns_records$/ })).toBe(2);
    expect(summary(cf.records())).toEqual(['A www.example.com 192.0.2.1', 'A www.example.com 192.0.2.2', 'A www.example.com 192.0.2.3']);
  });

  it('treats "already exists" and "already gone" as done, so applying twice is harmless', async () => {
    const keep = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.5' });
    const p = provider({ useBatch: false });
    const current = await p.listRecords(['www.example.com']);
    const gone = current.find((r) => r.content === '192.0.2.5')!;
    const plan = [create(A('www.example.com', '192.0.2.2')), del(gone)];
    cf.resetCalls();
    await p.apply(plan);
    expect(cf.mutatingCalls().map((c) => c.status)).toEqual([200, 200]);
    await p.apply(plan);
    expect(cf.mutatingCalls().map((c) => c.status)).toEqual([200, 200, 400, 404]);
    expect(summary(cf.records())).toEqual(['A www.example.com 192.0.2.1', 'A www.example.com 192.0.2.2']);
    expect(cf.records().some((r) => r.id === keep.id)).toBe(true);
    expect(cf.count({ path: /batch/ })).toBe(0);
  });

  it('stops at the first failure and reports it', async () => {
    const p = provider({ useBatch: false });
    cf.inject({ match: { method: 'POST' }, status: 403 });
    const err = await caught(p.apply([create(A('www.example.com', '192.0.2.2')), create(A('www.example.com', '192.0.2.3'))]));
    expect(err.kind).toBe('auth');
    expect(cf.records()).toEqual([]);
    expect(cf.count({ method: 'POST' })).toBe(1);
  });
});

describe('CloudflareProvider: failures and retries', () => {
  it('429 with Retry-After: waits what the server asked, then succeeds', async () => {
    const p = provider();
    cf.inject({ match: { method: 'GET', path: /dns_records$/ }, status: 429, retryAfter: 3 });
    cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    expect(await p.listRecords(['www.example.com'])).toHaveLength(1);
    expect(waits).toEqual([3000]);
    expect(cf.count({ path: /dns_records$/ })).toBe(2);
  });

  it('429 with a huge Retry-After is capped', async () => {
    const recorded: number[] = [];
    const q = new CloudflareProvider({
      zoneName: 'example.com',
      credentials: { apiToken: 'test-token' },
      baseURL: cf.baseURL,
      logger: silentLogger(),
      retry: { maxRetryAfterMs: 5000, sleep: async (ms) => void recorded.push(ms) },
    });
    cf.inject({ match: { path: /^\/zones$/ }, status: 429, retryAfter: 3600 });
    expect(await q.zoneId()).toBe(cf.zoneId('example.com'));
    expect(recorded).toEqual([5000]);
  });

  it('429 on every attempt → rate-limit with retryAfterSeconds', async () => {
    const p = provider();
    cf.inject({ status: 429, retryAfter: 2, times: 10 });
    const err = await caught(p.zoneId());
    expect(err.kind).toBe('rate-limit');
    expect(err.retryable).toBe(true);
    expect(err.retryAfterSeconds).toBe(2);
    expect(err.status).toBe(429);
    expect(cf.calls).toHaveLength(4);
  });

  it('a 500 on a change is not retried in place: the error goes up (the agent re-reads and re-plans)', async () => {
    const p = provider();
    cf.inject({ match: { method: 'POST' }, status: 500 });
    const err = await caught(p.apply([create(A('www.example.com', '192.0.2.1'))]));
    expect(err.kind).toBe('server');
    expect(err.retryable).toBe(true);
    expect(cf.count({ method: 'POST' })).toBe(1);
    expect(waits).toEqual([]);
    await p.apply([create(A('www.example.com', '192.0.2.1'))]);
    expect(summary(cf.records())).toEqual(['A www.example.com 192.0.2.1']);
  });

  it('a 429 on a change is not resent after the Retry-After wait: rate-limit with retryAfterSeconds goes up, sent once', async () => {
    const rec = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.2' });
    const p = provider();
    const current = await p.listRecords(['www.example.com']);
    cf.resetCalls();
    cf.inject({ match: { path: /\/batch$/ }, status: 429, retryAfter: 20 });
    const err = await caught(p.apply([del(current.find((r) => r.id === rec.id)!)]));
    expect(err.kind).toBe('rate-limit');
    expect(err.retryAfterSeconds).toBe(20);
    expect(waits).toEqual([]);
    expect(cf.mutatingCalls()).toHaveLength(1);
    expect(cf.records().some((r) => r.id === rec.id)).toBe(true);
  });

  it('one by one: a 429 on a delete is not resent either', async () => {
    const rec = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    const p = provider({ useBatch: false });
    const [current] = await p.listRecords(['www.example.com']);
    cf.inject({ match: { method: 'DELETE' }, status: 429, retryAfter: 20 });
    expect((await caught(p.apply([del(current!)]))).kind).toBe('rate-limit');
    expect(cf.count({ method: 'DELETE' })).toBe(1);
    expect(waits).toEqual([]);
    expect(cf.records().map((r) => r.id)).toEqual([rec.id]);
  });

  it('5xx every time → server error after all attempts', async () => {
    const p = provider();
    cf.inject({ status: 503, times: 10 });
    const err = await caught(p.zoneId());
    expect(err.kind).toBe('server');
    expect(err.status).toBe(503);
    expect(cf.calls).toHaveLength(4);
    expect(waits).toEqual([375, 750, 1500]);
  });

  it('a request that hangs → timeout after the retries', async () => {
    const p = provider({ requestTimeoutMs: 200, retry: { ...instantRetry().retry, attempts: 3 } });
    cf.inject({ hang: true, times: 10 });
    const err = await caught(p.zoneId());
    expect(err.kind).toBe('timeout');
    expect(err.retryable).toBe(true);
    expect(err.message).toContain('200 ms');
    expect(cf.calls).toHaveLength(3);
  });

  it('a batch whose answer was lost is not resent: timeout goes up, the server applied it once, no duplicate', async () => {
    // The server applies the batch after 300 ms, but the client gives up at 200 ms.
    cf.inject({ match: { path: /\/batch$/ }, delayMs: 300 });
    const p = provider({ requestTimeoutMs: 200 });
    const err = await caught(p.apply([create(A('www.example.com', '192.0.2.1'))]));
    expect(err.kind).toBe('timeout');
    // Let the server finish the batch it was still working on.
    while (cf.calls.some((c) => c.path.endsWith('/batch') && c.status === 0)) await new Promise((r) => setTimeout(r, 10));
    expect(cf.count({ path: /\/batch$/ })).toBe(1);
    expect(summary(cf.records())).toEqual(['A www.example.com 192.0.2.1']);
    // Applying the same (now stale) plan again is refused: no duplicate.
    expect((await caught(p.apply([create(A('www.example.com', '192.0.2.1'))]))).kind).toBe('conflict');
    expect(summary(cf.records())).toEqual(['A www.example.com 192.0.2.1']);
  });

  it('an abort during apply rejects with the abort reason and sends nothing more', async () => {
    const p = provider();
    await p.zoneId();
    cf.inject({ match: { path: /\/batch$/ }, hang: true });
    const controller = new AbortController();
    const reason = new Error('shutdown');
    setTimeout(() => controller.abort(reason), 50);
    await expect(p.apply([create(A('www.example.com', '192.0.2.1'))], controller.signal)).rejects.toBe(reason);
    expect(cf.count({ path: /\/batch$/ })).toBe(1);
    expect(waits).toEqual([]);
  });

  it('a slow answer within the timeout is fine', async () => {
    const p = provider({ requestTimeoutMs: 5000 });
    cf.inject({ delayMs: 100 });
    expect(await p.zoneId()).toBe(cf.zoneId('example.com'));
  });

  it('403 → auth, not retried, message names the permissions', async () => {
    const p = new CloudflareProvider({
      zoneName: 'example.com',
      credentials: { apiToken: 'wrong-token' },
      baseURL: cf.baseURL,
      logger: silentLogger(),
      retry: instantRetry().retry,
    });
    const err = await caught(p.zoneId());
    expect(err.kind).toBe('auth');
    expect(err.retryable).toBe(false);
    expect(err.status).toBe(403);
    expect(err.message).toContain('CLOUDFLARE_API_TOKEN');
    expect(err.message).toContain('Zone:Read');
    expect(err.message).toContain('DNS:Edit');
    expect(cf.calls).toHaveLength(1);
  });

  it('401 → auth', async () => {
    const p = provider();
    cf.inject({ status: 401 });
    expect((await caught(p.zoneId())).kind).toBe('auth');
    expect(cf.calls).toHaveLength(1);
  });

  it('400 → bad-request, not retried', async () => {
    const p = provider({ useBatch: false });
    cf.inject({ match: { method: 'POST' }, status: 400 });
    const err = await caught(p.apply([create(A('www.example.com', '192.0.2.1'))]));
    expect(err.kind).toBe('bad-request');
    expect(cf.count({ method: 'POST' })).toBe(1);
  });

  it('connection refused → network, retried', async () => {
    const port = cf.port;
    await cf.close();
    const p = new CloudflareProvider({
      zoneName: 'example.com',
      credentials: { apiToken: 'test-token' },
      baseURL: `http://127.0.0.1:${port}/client/v4`,
      logger: silentLogger(),
      retry: instantRetry().retry,
    });
    const err = await caught(p.zoneId());
    expect(err.kind).toBe('network');
    expect(err.retryable).toBe(true);
    cf = await startFakeCloudflare(); // for afterEach
  });

  it('never puts the token in errors or logs', async () => {
    const secret = 'sEcReT-token-1234567890';
    const lines: string[] = [];
    const logger = pino({ level: 'debug' }, new Writable({ write: (chunk: Buffer, _e, cb) => void (lines.push(chunk.toString()), cb()) }));
    const p = new CloudflareProvider({ zoneName: 'example.com', credentials: { apiToken: secret }, baseURL: cf.baseURL, logger, retry: instantRetry().retry });
    // The fake echoes the token back in its error body, as a careless proxy might.
    cf.inject({ status: 500, times: 10, body: { success: false, errors: [{ code: 1, message: `bad token ${secret}` }], messages: [], result: null } });
    const err = await caught(p.zoneId());
    expect(lines.length).toBeGreaterThan(0); // retries were logged
    expect(lines.join('')).not.toContain(secret);
    expect(err.message).toContain('[redacted]');
    expect(inspect(err, { depth: 0 })).not.toContain(secret);
    expect(JSON.stringify({ message: err.message, kind: err.kind })).not.toContain(secret);
  });
});

describe('CloudflareProvider: credentials', () => {
  it('token credentials send only the Bearer header', async () => {
    const saved = { key: process.env['CLOUDFLARE_API_KEY'], email: process.env['CLOUDFLARE_EMAIL'] };
    process.env['CLOUDFLARE_API_KEY'] = 'from-env';
    process.env['CLOUDFLARE_EMAIL'] = 'env@example.com';
    try {
      await provider().zoneId();
      expect(cf.calls.map((c) => c.auth)).toEqual(['token']);
    } finally {
      for (const [k, v] of [
        ['CLOUDFLARE_API_KEY', saved.key],
        ['CLOUDFLARE_EMAIL', saved.email],
      ] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('key + email credentials work against a key-only API; a wrong key → auth', async () => {
    const keyed = await startFakeCloudflare({ apiKey: 'global-key', apiEmail: 'ops@example.com' });
    try {
      const ok = new CloudflareProvider({
        zoneName: 'example.com',
        credentials: { apiKey: 'global-key', apiEmail: 'ops@example.com' },
        baseURL: keyed.baseURL,
        logger: silentLogger(),
      });
      await ok.apply([create(A('www.example.com', '192.0.2.1'))]);
      expect(summary(await ok.listRecords(['www.example.com']))).toEqual(['A www.example.com 192.0.2.1']);
      expect(new Set(keyed.calls.map((c) => c.auth))).toEqual(new Set(['key']));
      const bad = new CloudflareProvider({
        zoneName: 'example.com',
        credentials: { apiKey: 'nope', apiEmail: 'ops@example.com' },
        baseURL: keyed.baseURL,
        logger: silentLogger(),
      });
      const err = await caught(bad.zoneId());
      expect(err.kind).toBe('auth');
      expect(err.message).toContain('CF_API_KEY');
    } finally {
      await keyed.close();
    }
  });

  it('empty credentials are refused at construction', () => {
    expect(() => new CloudflareProvider({ zoneName: 'example.com', credentials: { apiToken: '' }, logger: silentLogger() })).toThrow(DnsError);
  });

  const envCases: { name: string; env: Record<string, string>; want: unknown }[] = [
    { name: 'token', env: { CLOUDFLARE_API_TOKEN: 'tok' }, want: { apiToken: 'tok' } },
    { name: 'token wins over key', env: { CLOUDFLARE_API_TOKEN: 'tok', CF_API_KEY: 'k', CF_API_EMAIL: 'e@x' }, want: { apiToken: 'tok' } },
    { name: "goavail's CF_API_KEY + CF_API_EMAIL", env: { CF_API_KEY: 'k', CF_API_EMAIL: 'e@x' }, want: { apiKey: 'k', apiEmail: 'e@x' } },
    {
      name: "the SDK's CLOUDFLARE_API_KEY + CLOUDFLARE_EMAIL",
      env: { CLOUDFLARE_API_KEY: 'k2', CLOUDFLARE_EMAIL: 'e2@x' },
      want: { apiKey: 'k2', apiEmail: 'e2@x' },
    },
    {
      name: 'CF_ names win over CLOUDFLARE_ names',
      env: { CF_API_KEY: 'k', CF_API_EMAIL: 'e@x', CLOUDFLARE_API_KEY: 'k2', CLOUDFLARE_EMAIL: 'e2@x' },
      want: { apiKey: 'k', apiEmail: 'e@x' },
    },
    { name: 'empty token is unset', env: { CLOUDFLARE_API_TOKEN: '  ', CF_API_KEY: 'k', CF_API_EMAIL: 'e@x' }, want: { apiKey: 'k', apiEmail: 'e@x' } },
    { name: 'key without email', env: { CF_API_KEY: 'k' }, want: undefined },
    { name: 'email without key', env: { CLOUDFLARE_EMAIL: 'e@x' }, want: undefined },
    { name: 'nothing', env: {}, want: undefined },
  ];
  for (const c of envCases) {
    it(`credentialsFromEnv: ${c.name}`, () => {
      expect(credentialsFromEnv(c.env)).toEqual(c.want);
    });
  }
});

describe('CloudflareProvider: IPv6', () => {
  it('creates AAAA records and reads them back in canonical form', async () => {
    const p = provider();
    await p.apply([create(AAAA('www.example.com', '2001:db8::10'))]);
    cf.addRecord('example.com', { type: 'AAAA', name: 'www', content: '2001:0DB8:0000:0000:0000:0000:0000:0011' });
    const recs = await p.listRecords(['www.example.com']);
    expect(summary(recs)).toEqual(['AAAA www.example.com 2001:db8::10', 'AAAA www.example.com 2001:db8::11']);
    const odd = recs.find((r) => r.content === '2001:db8::11')!;
    await p.apply([del(odd)]);
    expect(summary(cf.records())).toEqual(['AAAA www.example.com 2001:db8::10']);
  });
});
