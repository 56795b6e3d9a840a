import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFakeCloudflare, type FakeCloudflare } from '../../support/fake-cloudflare.js';

interface Env {
  success: boolean;
  errors: { code: number; message: string }[];
  messages: unknown[];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each endpoint's result has its own shape; the tests index into it
  result: any;
  result_info?: { page: number; per_page: number; count: number; total_count: number; total_pages: number };
}

let cf: FakeCloudflare;

async function api(
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = { authorization: 'Bearer test-token' },
): Promise<{ status: number; env: Env; headers: Headers }> {
  const res = await fetch(cf.baseURL + path, {
    method,
    headers: { ...headers, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
  });
  return { status: res.status, env: (await res.json()) as Env, headers: res.headers };
}

const codes = (env: Env): number[] => env.errors.map((e) => e.code);

beforeEach(async () => {
  cf = await startFakeCloudflare({ zones: ['example.com', 'other.org'] });
});
afterEach(async () => {
  await cf.close();
});

describe('fake Cloudflare: zones and envelope', () => {
  it('lists zones filtered by name, in the v4 envelope', async () => {
    const { status, env } = await api('GET', '/zones?name=example.com');
    expect(status).toBe(200);
    expect(env.success).toBe(true);
    expect(env.errors).toEqual([]);
    expect(env.messages).toEqual([]);
    expect(env.result).toHaveLength(1);
    expect(env.result[0]).toMatchObject({ id: cf.zoneId('example.com'), name: 'example.com', status: 'active' });
    expect(env.result[0].id).toMatch(/^[0-9a-f]{32}$/);
    expect(env.result_info).toEqual({ page: 1, per_page: 20, count: 1, total_count: 1, total_pages: 1 });
    const all = await api('GET', '/zones');
    expect(all.env.result.map((z: { name: string }) => z.name).sort()).toEqual(['example.com', 'other.org']);
    const none = await api('GET', '/zones?name=nope.net');
    expect(none.env.result).toEqual([]);
  });

  it('zoneId throws for an unknown zone', () => {
    expect(() => cf.zoneId('nope.net')).toThrow(/no zone/);
  });

  it('holds several zones with one name, each with its status; GET /zones/{id} answers one, 7003 for an unknown id', async () => {
    const pending = cf.addZone('example.com', { status: 'pending' });
    const { env } = await api('GET', '/zones?name=example.com');
    expect(env.result.map((z: { id: string; status: string }) => [z.id === pending, z.status]).sort()).toEqual([
      [false, 'active'],
      [true, 'pending'],
    ]);
    expect(() => cf.zoneId('example.com')).toThrow(/2 zones named example.com/);
    const rec = cf.addRecord(pending, { type: 'A', name: 'www', content: '192.0.2.1' });
    expect(rec.zone_id).toBe(pending);
    expect(cf.records(pending)).toHaveLength(1);
    const one = await api('GET', `/zones/${pending}`);
    expect(one.env.result).toMatchObject({ id: pending, name: 'example.com', status: 'pending' });
    const unknown = await api('GET', `/zones/${'e'.repeat(32)}`);
    expect(unknown.status).toBe(404);
    expect(codes(unknown.env)).toEqual([7003]);
    expect(cf.addZone('example.com', { id: 'f'.repeat(32) })).toBe('f'.repeat(32));
  });

  it('unknown zone id → 404 code 7003; unknown route → 404 code 7000', async () => {
    const z = await api('GET', `/zones/${'f'.repeat(32)}/dns_records`);
    expect(z.status).toBe(404);
    expect(z.env.success).toBe(false);
    expect(codes(z.env)).toEqual([7003]);
    const r = await api('GET', '/accounts');
    expect(r.status).toBe(404);
    expect(codes(r.env)).toEqual([7000]);
    const outside = await fetch(`http://127.0.0.1:${cf.port}/elsewhere`);
    expect(outside.status).toBe(404);
  });

  it('a wrong method on a known route → 405', async () => {
    const r = await api('PUT', `/zones/${cf.zoneId('example.com')}/dns_records`, {});
    expect(r.status).toBe(405);
  });

  it('malformed JSON → 400 code 6007', async () => {
    const r = await api('POST', `/zones/${cf.zoneId('example.com')}/dns_records`, '{nope');
    expect(r.status).toBe(400);
    expect(codes(r.env)).toEqual([6007]);
  });
});

describe('fake Cloudflare: auth', () => {
  it('rejects missing or wrong credentials with 403 code 10000 and records the attempt', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong' }, { 'x-auth-key': 'k', 'x-auth-email': 'e@x' }];
    for (const headers of attempts) {
      const r = await api('GET', '/zones', undefined, headers);
      expect(r.status).toBe(403);
      expect(codes(r.env)).toEqual([10000]);
    }
    expect(cf.count({ status: 403 })).toBe(3);
    expect(cf.calls.map((c) => c.auth)).toEqual(['none', 'token', 'key']);
  });

  it('accepts a configured key + email and refuses the default token then', async () => {
    const other = await startFakeCloudflare({ apiKey: 'global-key', apiEmail: 'ops@example.com' });
    try {
      const ok = await fetch(`${other.baseURL}/zones`, { headers: { 'x-auth-key': 'global-key', 'x-auth-email': 'ops@example.com' } });
      expect(ok.status).toBe(200);
      const wrongEmail = await fetch(`${other.baseURL}/zones`, { headers: { 'x-auth-key': 'global-key', 'x-auth-email': 'x@example.com' } });
      expect(wrongEmail.status).toBe(403);
      const token = await fetch(`${other.baseURL}/zones`, { headers: { authorization: 'Bearer test-token' } });
      expect(token.status).toBe(403);
    } finally {
      await other.close();
    }
  });

  it('accepts anything when no credential is configured', async () => {
    const open = await startFakeCloudflare({ token: null });
    try {
      expect((await fetch(`${open.baseURL}/zones`)).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('fake Cloudflare: records', () => {
  it('creates a record and returns it with an id; names are completed and lower-cased', async () => {
    const zid = cf.zoneId('example.com');
    const r = await api('POST', `/zones/${zid}/dns_records`, { type: 'A', name: 'WWW', content: '192.0.2.1', proxied: true, ttl: 120 });
    expect(r.status).toBe(200);
    expect(r.env.result).toMatchObject({
      type: 'A',
      name: 'www.example.com',
      content: '192.0.2.1',
      proxied: true,
      ttl: 120,
      zone_id: zid,
      zone_name: 'example.com',
    });
    expect(r.env.result.id).toMatch(/^[0-9a-f]{32}$/);
    expect(cf.records('example.com')).toHaveLength(1);
    expect(cf.records('other.org')).toHaveLength(0);
    const got = await api('GET', `/zones/${zid}/dns_records/${r.env.result.id}`);
    expect(got.env.result).toEqual(r.env.result);
  });

  it('rejects an identical record with 400 code 81057, also for a differently written IPv6 address', async () => {
    const zid = cf.zoneId('example.com');
    cf.addRecord('example.com', { type: 'A', name: 'www.example.com', content: '192.0.2.1' });
    cf.addRecord('example.com', { type: 'AAAA', name: 'www.example.com', content: '2001:db8::1' });
    const dup = await api('POST', `/zones/${zid}/dns_records`, { type: 'A', name: 'www.example.com', content: '192.0.2.1', ttl: 1 });
    expect(dup.status).toBe(400);
    expect(dup.env.success).toBe(false);
    expect(dup.env.errors).toEqual([{ code: 81057, message: 'An identical record already exists.' }]);
    const dup6 = await api('POST', `/zones/${zid}/dns_records`, { type: 'AAAA', name: 'www.example.com', content: '2001:DB8:0::1' });
    expect(codes(dup6.env)).toEqual([81057]);
    // Same content on another name is not a duplicate.
    const other = await api('POST', `/zones/${zid}/dns_records`, { type: 'A', name: 'api.example.com', content: '192.0.2.1' });
    expect(other.status).toBe(200);
    expect(cf.records()).toHaveLength(3);
  });

  it('validates content per type', async () => {
    const zid = cf.zoneId('example.com');
    expect((await api('POST', `/zones/${zid}/dns_records`, { type: 'A', name: 'www', content: '2001:db8::1' })).status).toBe(400);
    expect((await api('POST', `/zones/${zid}/dns_records`, { type: 'AAAA', name: 'www', content: '192.0.2.1' })).status).toBe(400);
    expect((await api('POST', `/zones/${zid}/dns_records`, { type: 'A', name: 'www', content: '192.0.2.1', ttl: 5 })).status).toBe(400);
    expect(cf.records()).toHaveLength(0);
  });

  it('deletes by id; a missing record → 404 code 81044', async () => {
    const zid = cf.zoneId('example.com');
    const rec = cf.addRecord('example.com', { type: 'A', name: 'www.example.com', content: '192.0.2.1' });
    const del = await api('DELETE', `/zones/${zid}/dns_records/${rec.id}`);
    expect(del.status).toBe(200);
    expect(del.env.result).toEqual({ id: rec.id });
    expect(cf.records()).toEqual([]);
    const again = await api('DELETE', `/zones/${zid}/dns_records/${rec.id}`);
    expect(again.status).toBe(404);
    expect(again.env.errors).toEqual([{ code: 81044, message: 'Record does not exist.' }]);
    const get = await api('GET', `/zones/${zid}/dns_records/${rec.id}`);
    expect(codes(get.env)).toEqual([81044]);
  });

  it('removeRecord / addRecord helpers work outside the API and outside the call log', async () => {
    const rec = cf.addRecord('example.com', { type: 'A', name: 'x', content: '192.0.2.9' });
    expect(rec.name).toBe('x.example.com');
    expect(cf.removeRecord(rec.id)).toBe(true);
    expect(cf.removeRecord(rec.id)).toBe(false);
    expect(cf.calls).toEqual([]);
  });

  it('addRecord seeds content the API would refuse (odd text an A record may hold)', () => {
    expect(cf.addRecord('example.com', { type: 'A', name: 'www', content: '127.000.0.9' }).content).toBe('127.000.0.9');
  });

  it('records() returns a snapshot, not the live objects', () => {
    cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    const snap = cf.records();
    snap[0]!.content = '203.0.113.1';
    expect(cf.records()[0]!.content).toBe('192.0.2.1');
  });
});

describe('fake Cloudflare: filters and pagination', () => {
  beforeEach(() => {
    cf.addRecord('example.com', { type: 'A', name: 'www.example.com', content: '192.0.2.1' });
    cf.addRecord('example.com', { type: 'A', name: 'www.example.com', content: '192.0.2.2' });
    cf.addRecord('example.com', { type: 'AAAA', name: 'www.example.com', content: '2001:db8::1' });
    cf.addRecord('example.com', { type: 'A', name: 'api.example.com', content: '192.0.2.1' });
    cf.addRecord('example.com', { type: 'TXT', name: 'www.example.com', content: 'hello' });
    cf.addRecord('other.org', { type: 'A', name: 'www.other.org', content: '192.0.2.1' });
  });

  const list = async (query: string): Promise<Env> => (await api('GET', `/zones/${cf.zoneId('example.com')}/dns_records?${query}`)).env;
  const contents = (env: Env): string[] => env.result.map((r: { type: string; name: string; content: string }) => `${r.type} ${r.name} ${r.content}`).sort();

  const cases: { query: string; want: string[] }[] = [
    {
      query: '',
      want: [
        'A api.example.com 192.0.2.1',
        'A www.example.com 192.0.2.1',
        'A www.example.com 192.0.2.2',
        'AAAA www.example.com 2001:db8::1',
        'TXT www.example.com hello',
      ],
    },
    { query: 'type=A', want: ['A api.example.com 192.0.2.1', 'A www.example.com 192.0.2.1', 'A www.example.com 192.0.2.2'] },
    { query: 'type=AAAA&name.exact=www.example.com', want: ['AAAA www.example.com 2001:db8::1'] },
    { query: 'name.exact=API.example.com.', want: ['A api.example.com 192.0.2.1'] },
    { query: 'name=api.example.com', want: ['A api.example.com 192.0.2.1'] },
    { query: 'name.exact=nope.example.com', want: [] },
    { query: 'content.exact=192.0.2.1', want: ['A api.example.com 192.0.2.1', 'A www.example.com 192.0.2.1'] },
    { query: 'content=2001:DB8:0:0::1', want: ['AAAA www.example.com 2001:db8::1'] },
    { query: 'type=A&name.exact=www.example.com&content.exact=192.0.2.2', want: ['A www.example.com 192.0.2.2'] },
    { query: 'name.startswith=api', want: ['A api.example.com 192.0.2.1'] },
  ];
  for (const c of cases) {
    it(`filters ?${c.query}`, async () => {
      expect(contents(await list(c.query))).toEqual(c.want);
    });
  }

  it('paginates honestly: 250 records at per_page 100 → 3 pages, then an empty page', async () => {
    for (let i = 0; i < 250; i++) cf.addRecord('example.com', { type: 'A', name: 'many.example.com', content: `198.51.100.${i}` });
    const seen = new Set<string>();
    const sizes: number[] = [];
    for (let page = 1; page <= 4; page++) {
      const env = await list(`name.exact=many.example.com&per_page=100&page=${page}`);
      sizes.push(env.result.length);
      for (const r of env.result) seen.add(r.content);
      expect(env.result_info).toEqual({ page, per_page: 100, count: env.result.length, total_count: 250, total_pages: 3 });
    }
    expect(sizes).toEqual([100, 100, 50, 0]);
    expect(seen.size).toBe(250);
  });

  it('caps per_page at maxPerPage', async () => {
    const small = await startFakeCloudflare({ maxPerPage: 2 });
    try {
      for (let i = 0; i < 3; i++) small.addRecord('example.com', { type: 'A', name: 'www', content: `192.0.2.${i}` });
      const res = await fetch(`${small.baseURL}/zones/${small.zoneId('example.com')}/dns_records?per_page=100`, {
        headers: { authorization: 'Bearer test-token' },
      });
      const env = (await res.json()) as Env;
      expect(env.result).toHaveLength(2);
      expect(env.result_info).toMatchObject({ per_page: 2, total_pages: 2, total_count: 3 });
    } finally {
      await small.close();
    }
  });

  it('rejects page 0 with 400', async () => {
    const r = await api('GET', `/zones/${cf.zoneId('example.com')}/dns_records?page=0`);
    expect(r.status).toBe(400);
  });
});

describe('fake Cloudflare: batch', () => {
  it('applies deletes then posts and returns the records', async () => {
    const zid = cf.zoneId('example.com');
    const a = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
    const r = await api('POST', `/zones/${zid}/dns_records/batch`, {
      deletes: [{ id: a.id }],
      // Re-creating the deleted record in the same batch is fine: deletes run first.
      posts: [
        { type: 'A', name: 'www.example.com', content: '192.0.2.1', proxied: false, ttl: 1 },
        { type: 'AAAA', name: 'www.example.com', content: '2001:db8::2', proxied: false, ttl: 1 },
      ],
    });
    expect(r.status).toBe(200);
    expect(r.env.result.deletes.map((x: { id: string }) => x.id)).toEqual([a.id]);
    expect(r.env.result.posts).toHaveLength(2);
    expect(r.env.result.patches).toEqual([]);
    expect(r.env.result.puts).toEqual([]);
    const now = cf
      .records()
      .map((x) => `${x.type} ${x.content}`)
      .sort();
    expect(now).toEqual(['A 192.0.2.1', 'AAAA 2001:db8::2']);
    expect(cf.records().find((x) => x.type === 'A')!.id).not.toBe(a.id);
    expect(cf.mutatingCalls()).toHaveLength(1);
  });

  it('patches and puts by id', async () => {
    const zid = cf.zoneId('example.com');
    const a = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1', ttl: 300, proxied: true });
    const b = cf.addRecord('example.com', { type: 'A', name: 'api', content: '192.0.2.2', ttl: 300, proxied: true });
    const r = await api('POST', `/zones/${zid}/dns_records/batch`, {
      patches: [{ id: a.id, content: '192.0.2.3' }],
      puts: [{ id: b.id, type: 'A', name: 'api', content: '192.0.2.4' }],
    });
    expect(r.status).toBe(200);
    const byId = new Map(cf.records().map((x) => [x.id, x]));
    expect(byId.get(a.id)).toMatchObject({ content: '192.0.2.3', ttl: 300, proxied: true });
    expect(byId.get(b.id)).toMatchObject({ content: '192.0.2.4', ttl: 1, proxied: false });
  });

  const rollbackCases: { name: string; body: (ids: string[]) => unknown; code: number }[] = [
    {
      name: 'a delete of a missing record',
      body: (ids) => ({ deletes: [{ id: ids[0] }, { id: 'f'.repeat(32) }], posts: [{ type: 'A', name: 'new', content: '192.0.2.50' }] }),
      code: 81044,
    },
    { name: 'the same record deleted twice', body: (ids) => ({ deletes: [{ id: ids[0] }, { id: ids[0] }] }), code: 81044 },
    {
      name: 'a post duplicating an existing record',
      body: (ids) => ({
        deletes: [{ id: ids[0] }],
        posts: [
          { type: 'A', name: 'new', content: '192.0.2.50' },
          { type: 'A', name: 'www', content: '192.0.2.2' },
        ],
      }),
      code: 81057,
    },
    {
      name: 'two identical posts',
      body: () => ({
        posts: [
          { type: 'A', name: 'new', content: '192.0.2.50' },
          { type: 'A', name: 'new.example.com', content: '192.0.2.50' },
        ],
      }),
      code: 81057,
    },
    {
      name: 'an invalid post after valid operations',
      body: (ids) => ({ deletes: [{ id: ids[1] }], posts: [{ type: 'A', name: 'new', content: 'not-an-ip' }] }),
      code: 9005,
    },
  ];
  for (const c of rollbackCases) {
    it(`is transactional: ${c.name} → error envelope, nothing applied`, async () => {
      const zid = cf.zoneId('example.com');
      const a = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.1' });
      const b = cf.addRecord('example.com', { type: 'A', name: 'www', content: '192.0.2.2' });
      const before = cf.records();
      const r = await api('POST', `/zones/${zid}/dns_records/batch`, c.body([a.id, b.id]));
      expect(r.status).toBe(400);
      expect(r.env.success).toBe(false);
      expect(codes(r.env)).toEqual([c.code]);
      expect(cf.records()).toEqual(before);
    });
  }
});

describe('fake Cloudflare: call log', () => {
  it('logs method, path relative to /client/v4, query, body, status; counts and resets', async () => {
    const zid = cf.zoneId('example.com');
    await api('GET', `/zones?name=example.com`);
    await api('POST', `/zones/${zid}/dns_records`, { type: 'A', name: 'www', content: '192.0.2.1' });
    await api('POST', `/zones/${zid}/dns_records/batch`, { posts: [{ type: 'A', name: 'www', content: '192.0.2.2' }] });
    await api('DELETE', `/zones/${zid}/dns_records/${'0'.repeat(32)}`);
    expect(cf.calls.map((c) => [c.method, c.path, c.status])).toEqual([
      ['GET', '/zones', 200],
      ['POST', `/zones/${zid}/dns_records`, 200],
      ['POST', `/zones/${zid}/dns_records/batch`, 200],
      ['DELETE', `/zones/${zid}/dns_records/${'0'.repeat(32)}`, 404],
    ]);
    expect(cf.calls[0]!.query).toEqual({ name: 'example.com' });
    expect(cf.calls[1]!.body).toEqual({ type: 'A', name: 'www', content: '192.0.2.1' });
    expect(cf.calls[1]!.auth).toBe('token');
    expect(typeof cf.calls[0]!.at).toBe('number');
    expect(cf.mutatingCalls()).toHaveLength(3);
    expect(cf.count({ method: 'post' })).toBe(2);
    expect(cf.count({ path: /\/batch$/ })).toBe(1);
    expect(cf.count({ path: '/zones' })).toBe(1);
    expect(cf.count((c) => c.status >= 400)).toBe(1);
    cf.resetCalls();
    expect(cf.calls).toEqual([]);
  });
});

describe('fake Cloudflare: faults', () => {
  it('answers the next N matching requests with the status and Retry-After, then recovers', async () => {
    cf.inject({ match: { method: 'GET', path: /^\/zones$/ }, status: 429, retryAfter: 7, times: 2 });
    const first = await api('GET', '/zones');
    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(first.env.success).toBe(false);
    expect((await api('GET', `/zones/${cf.zoneId('example.com')}/dns_records`)).status).toBe(200); // not matching
    expect((await api('GET', '/zones')).status).toBe(429);
    expect((await api('GET', '/zones')).status).toBe(200);
  });

  it('faulted requests are never processed and come before auth', async () => {
    const zid = cf.zoneId('example.com');
    cf.inject({ match: { method: 'POST' }, status: 500 });
    const r = await api('POST', `/zones/${zid}/dns_records`, { type: 'A', name: 'www', content: '192.0.2.1' }, {});
    expect(r.status).toBe(500);
    expect(cf.records()).toEqual([]);
  });

  it('a custom body is sent as is', async () => {
    cf.inject({ status: 200, body: { success: false, errors: [{ code: 1234, message: 'odd' }], messages: [], result: null } });
    const r = await api('GET', '/zones');
    expect(r.status).toBe(200);
    expect(r.env).toEqual({ success: false, errors: [{ code: 1234, message: 'odd' }], messages: [], result: null });
  });

  it('delays, then processes', async () => {
    cf.inject({ delayMs: 50 });
    const t0 = Date.now();
    const r = await api('GET', '/zones');
    expect(r.status).toBe(200);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(45);
  });

  it('hangs: the client times out, the call stays unanswered, close() still returns', async () => {
    cf.inject({ hang: true });
    await expect(fetch(`${cf.baseURL}/zones`, { headers: { authorization: 'Bearer test-token' }, signal: AbortSignal.timeout(100) })).rejects.toThrow();
    expect(cf.calls).toHaveLength(1);
    expect(cf.calls[0]!.status).toBe(0);
    // The next request is served normally.
    expect((await api('GET', '/zones')).status).toBe(200);
  });

  it('clearFaults() drops pending faults', async () => {
    cf.inject({ status: 500, times: 5 });
    cf.clearFaults();
    expect((await api('GET', '/zones')).status).toBe(200);
  });
});
