import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createRoute53Client, hasCredentials, Route53Provider, sdkRoute53Api, type Route53ProviderOptions } from '../../../src/dns/route53.js';
import { silentLogger } from '../../../src/log.js';
import { DnsError, type Change, type DnsRecord } from '../../../src/dns/types.js';
import { awsEnv, useEnv } from '../../support/aws-env.js';
import type { Scratch } from '../../support/kit.js';
import { startFakeRoute53, type FakeRoute53 } from '../../support/fake-route53.js';

/**
 * The real SDK (@aws-sdk/client-route-53) against the Route 53 stand-in:
 * signing, XML shapes, paging, error classes. Every SDK call here has the
 * metadata service off and empty shared files (test/support/aws-env.ts).
 */
let r53: FakeRoute53;
let undo: () => void;
let dir: Scratch;
let zone: string;
let waits: number[];

beforeAll(async () => {
  r53 = await startFakeRoute53({ zones: ['example.com'], insyncAfterMs: 50 });
  zone = r53.zoneId('example.com');
  const a = await awsEnv(r53.url);
  dir = a.dir;
  undo = useEnv(a.env);
});
afterAll(async () => {
  undo();
  await r53.close();
  await dir.cleanup();
});
beforeEach(() => {
  r53.resetCalls();
  r53.clearFaults();
  for (const s of r53.sets(zone)) r53.removeSet(zone, s);
});

function provider(extra: Partial<Route53ProviderOptions> = {}): Route53Provider {
  waits = [];
  return new Route53Provider({
    zoneName: 'example.com',
    api: sdkRoute53Api(createRoute53Client({ requestTimeoutMs: 2000 })),
    logger: silentLogger(),
    ttl: 60,
    retry: { attempts: 4, random: () => 0.5, sleep: async (ms) => void waits.push(ms) },
    pollIntervalMs: 20,
    ...extra,
  });
}

const del = (record: DnsRecord): Change => ({ op: 'delete', record });
const add = (name: string, ip: string): Change => ({
  op: 'create',
  record: { type: ip.includes(':') ? 'AAAA' : 'A', name, content: ip, proxied: false, ttl: 60 },
});

async function caught(p: Promise<unknown>): Promise<DnsError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(DnsError);
    return err as DnsError;
  }
  throw new Error('expected a rejection');
}

describe('Route 53 provider through the SDK', () => {
  it('finds the zone by name and reads a weighted set of the original shape as one record per value', async () => {
    r53.putSet(zone, {
      Name: 'test.example.com',
      Type: 'A',
      SetIdentifier: 'test',
      Weight: 0,
      TTL: 30,
      ResourceRecords: [{ Value: '198.18.0.1' }, { Value: '198.18.0.2' }],
    });
    r53.putSet(zone, { Name: 'test.example.com', Type: 'TXT', TTL: 30, ResourceRecords: [{ Value: '"x"' }] });
    const p = provider();
    const records = await p.listRecords(['test.example.com']);
    expect(records.map((r) => `${r.type} ${r.name} ${r.content} ${r.ttl} (${r.note})`)).toEqual([
      'A test.example.com 198.18.0.1 30 (set test, weighted)',
      'A test.example.com 198.18.0.2 30 (set test, weighted)',
    ]);
    expect(r53.calls.map((c) => `${c.method} ${c.path}`)).toEqual(['GET /hostedzonesbyname', `GET /hostedzone/${zone}/rrset`]);
    expect(r53.calls[0]?.accessKeyId).toBe('AKIDGOAVAILTEST');
  });

  it('pages through more than one page (MaxItems 2) with StartRecordName/Type/Identifier', async () => {
    for (let i = 1; i <= 5; i++)
      r53.putSet(zone, { Name: 'www.example.com', Type: 'A', SetIdentifier: `s${i}`, Weight: 1, TTL: 60, ResourceRecords: [{ Value: `198.18.0.${i}` }] });
    r53.putSet(zone, { Name: 'zzz.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '198.18.1.1' }] });
    const records = await provider({ pageSize: 2 }).listRecords(['www.example.com']);
    expect(records.map((r) => r.content)).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.3', '198.18.0.4', '198.18.0.5']);
    const lists = r53.calls.filter((c) => c.path.endsWith('/rrset'));
    expect(lists.length).toBeGreaterThanOrEqual(3);
    expect(lists[1]?.query).toMatchObject({ name: 'www.example.com.', type: 'A', identifier: 's3', maxitems: '2' });
  });

  it('removing a value from a weighted set: DELETE as read + CREATE without it, one batch; other fields kept', async () => {
    r53.putSet(zone, {
      Name: 'test.example.com',
      Type: 'A',
      SetIdentifier: 'test',
      Weight: 0,
      TTL: 30,
      HealthCheckId: 'hc-1',
      ResourceRecords: [{ Value: '198.18.0.1' }, { Value: '198.18.0.2' }, { Value: '198.51.100.9' }],
    });
    const p = provider();
    const records = await p.listRecords(['test.example.com']);
    await p.apply([del(records.find((r) => r.content === '198.18.0.2')!)]);
    expect(r53.changeCalls()).toHaveLength(1);
    const [set] = r53.sets(zone);
    expect(set).toEqual({
      Name: 'test.example.com.',
      Type: 'A',
      SetIdentifier: 'test',
      Weight: 0,
      TTL: 30,
      HealthCheckId: 'hc-1',
      ResourceRecords: [{ Value: '198.18.0.1' }, { Value: '198.51.100.9' }],
    });
    // Back: into the same set.
    await p.listRecords(['test.example.com']);
    await p.apply([add('test.example.com', '198.18.0.2')]);
    expect(r53.values(zone, 'test.example.com')).toEqual(['198.18.0.1', '198.18.0.2', '198.51.100.9']);
    expect(r53.sets(zone)).toHaveLength(1);
  });

  it('a simple set: value removed and restored; a name with no set gets a simple set with ttl', async () => {
    r53.putSet(zone, { Name: 'a.example.com', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '198.18.0.1' }, { Value: '198.18.0.2' }] });
    const p = provider();
    const records = await p.listRecords(['a.example.com', 'b.example.com']);
    await p.apply([del(records[0]!), add('b.example.com', '198.18.0.7'), add('b.example.com', '2001:db8::7')]);
    expect(r53.changeCalls()).toHaveLength(1);
    expect(r53.sets(zone)).toEqual([
      { Name: 'a.example.com.', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '198.18.0.2' }] },
      { Name: 'b.example.com.', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '198.18.0.7' }] },
      { Name: 'b.example.com.', Type: 'AAAA', TTL: 60, ResourceRecords: [{ Value: '2001:db8::7' }] },
    ]);
  });

  it('a multivalue set is deleted whole and re-created as it was (identifier, health check)', async () => {
    r53.putSet(zone, {
      Name: 'm.example.com',
      Type: 'A',
      SetIdentifier: 'one',
      MultiValueAnswer: true,
      TTL: 60,
      HealthCheckId: 'hc-1',
      ResourceRecords: [{ Value: '198.18.0.1' }],
    });
    r53.putSet(zone, {
      Name: 'm.example.com',
      Type: 'A',
      SetIdentifier: 'two',
      MultiValueAnswer: true,
      TTL: 60,
      HealthCheckId: 'hc-2',
      ResourceRecords: [{ Value: '198.18.0.2' }],
    });
    const before = r53.sets(zone);
    const p = provider();
    const records = await p.listRecords(['m.example.com']);
    await p.apply([del(records.find((r) => r.content === '198.18.0.1')!)]);
    expect(r53.sets(zone).map((s) => s.SetIdentifier)).toEqual(['two']);
    await p.listRecords(['m.example.com']);
    await p.apply([add('m.example.com', '198.18.0.1')]);
    expect(r53.sets(zone)).toEqual(before);
  });

  it('a set changed between read and write: InvalidChangeBatch, nothing applied, the next read-and-plan converges', async () => {
    r53.putSet(zone, { Name: 'test.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '198.18.0.1' }, { Value: '198.18.0.2' }] });
    const p = provider();
    const records = await p.listRecords(['test.example.com']);
    // Someone else edits the set.
    r53.putSet(zone, {
      Name: 'test.example.com',
      Type: 'A',
      TTL: 60,
      ResourceRecords: [{ Value: '198.18.0.1' }, { Value: '198.18.0.2' }, { Value: '198.18.0.3' }],
    });
    const err = await caught(p.apply([del(records.find((r) => r.content === '198.18.0.2')!)]));
    expect(err.kind).toBe('conflict');
    expect(err.message).toMatch(/InvalidChangeBatch|refused/);
    expect(r53.changeCalls()).toHaveLength(1); // not resent blindly
    expect(r53.values(zone, 'test.example.com')).toEqual(['198.18.0.1', '198.18.0.2', '198.18.0.3']);
    const again = await p.listRecords(['test.example.com']);
    await p.apply([del(again.find((r) => r.content === '198.18.0.2')!)]);
    expect(r53.values(zone, 'test.example.com')).toEqual(['198.18.0.1', '198.18.0.3']);
  });

  it('Throttling then success: retried with backoff, one change applied', async () => {
    r53.putSet(zone, { Name: 'test.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '198.18.0.1' }, { Value: '198.18.0.2' }] });
    const p = provider();
    const records = await p.listRecords(['test.example.com']);
    r53.inject({ match: { method: 'POST' }, status: 400, code: 'Throttling', times: 2 });
    r53.inject({ match: { method: 'GET', path: /rrset/ }, status: 400, code: 'PriorRequestNotComplete' });
    await p.apply([del(records[0]!)]);
    expect(waits).toHaveLength(2);
    expect(r53.changeCalls().map((c) => c.status)).toEqual([400, 400, 200]);
    expect(r53.values(zone, 'test.example.com')).toEqual(['198.18.0.2']);
    await p.listRecords(['test.example.com']);
    expect(waits).toHaveLength(3);
  });

  it('5xx is retried; AccessDenied and a bad key are auth errors, not retried', async () => {
    // Faults match paths: GetChange polls of earlier tests may still be running.
    r53.inject({ match: { path: /hostedzonesbyname/ }, status: 503, code: 'ServiceUnavailable' });
    expect(await provider().listRecords(['test.example.com'])).toEqual([]);
    expect(waits).toEqual([375]); // ½ + ½ × random(0.5) of the 500 ms base
    r53.inject({ match: { path: /hostedzonesbyname/ }, status: 403, code: 'AccessDenied', times: 5 });
    const denied = await caught(provider().listRecords(['test.example.com']));
    expect(denied.kind).toBe('auth');
    expect(denied.message).toContain('AccessDenied');
    expect(waits).toEqual([]);
    r53.clearFaults();
    const restore = useEnv({ AWS_ACCESS_KEY_ID: 'AKIDWRONG', AWS_SECRET_ACCESS_KEY: 'x' });
    try {
      const bad = await caught(provider().listRecords(['test.example.com']));
      expect(bad.kind).toBe('auth');
      expect(bad.message).toContain('InvalidClientTokenId');
    } finally {
      restore();
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'AKIDGOAVAILTEST', AWS_SECRET_ACCESS_KEY: 'stand-in-secret-not-a-real-key' });
    }
  });

  it('a slow answer times out (timeout error) and is retried', async () => {
    r53.inject({ match: { path: /hostedzonesbyname/ }, delayMs: 2500 });
    const started = Date.now();
    expect(await provider().listRecords(['test.example.com'])).toEqual([]);
    expect(waits).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
  });

  it('GetChange is polled until INSYNC in the background; the time is reported', async () => {
    const settled: { status: string; ms: number }[] = [];
    const p = provider({ onChangeSettled: (e) => settled.push(e) });
    await p.listRecords(['n.example.com']);
    await p.apply([add('n.example.com', '198.18.0.1')]);
    expect(settled).toEqual([]); // apply did not wait
    for (let i = 0; i < 100 && settled.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    expect(settled).toHaveLength(1);
    expect(settled[0]?.status).toBe('INSYNC');
    expect(settled[0]?.ms).toBeGreaterThanOrEqual(40);
    expect(r53.count((c) => c.path.startsWith('/change/'))).toBeGreaterThanOrEqual(1);
  });

  it('two zones of one name: AmbiguousZoneError naming both ids; aws_zoneid picks one and is checked', async () => {
    const other = r53.addZone('example.com', { private: true });
    try {
      const err = await caught(provider().listRecords(['www.example.com']));
      expect(err.name).toBe('AmbiguousZoneError');
      expect(err.message).toContain(zone);
      expect(err.message).toContain(other);
      expect(err.message).toContain('aws_zoneid');
      expect(await provider({ zoneId: zone }).listRecords(['www.example.com'])).toEqual([]);
      const wrong = await caught(provider({ zoneId: zone, zoneName: 'example.org' }).listRecords(['www.example.org']));
      expect(wrong.message).toContain('is example.com, not example.org');
    } finally {
      // The stand-in has no DeleteHostedZone: the extra zone stays but is private and empty; later tests pin zoneId.
    }
  });

  it('hasCredentials: true with env keys, false with none (metadata service off)', async () => {
    expect(await hasCredentials(createRoute53Client({}))).toBe(true);
    const restore = useEnv({});
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    try {
      expect(await hasCredentials(createRoute53Client({}))).toBe(false);
    } finally {
      restore();
    }
  });
});
