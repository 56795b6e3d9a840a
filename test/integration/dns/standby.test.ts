import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/schema.js';
import { Controller } from '../../../src/controller/controller.js';
import { CloudflareProvider } from '../../../src/dns/cloudflare.js';
import { createRoute53Client, Route53Provider, sdkRoute53Api } from '../../../src/dns/route53.js';
import type { DnsProvider } from '../../../src/dns/types.js';
import { silentLogger } from '../../../src/log.js';
import type { Scheduler, Verdict } from '../../../src/model.js';
import { awsEnv, useEnv } from '../../support/aws-env.js';
import { testConfig } from '../../support/config.js';
import { startFakeCloudflare, type FakeCloudflare } from '../../support/fake-cloudflare.js';
import { startFakeRoute53, type FakeRoute53 } from '../../support/fake-route53.js';
import type { Scratch } from '../../support/kit.js';

/**
 * Standby IPs through each provider's real client and its stand-in: a
 * standby value enters and leaves DNS, and in one apply the creates come
 * first so the name never goes empty (Cloudflare: one batch, or POSTs
 * before DELETEs one at a time; Route 53: one atomic change batch, the
 * standby's set created before the emptied one is deleted).
 */

const P1 = '198.18.0.1';
const P2 = '198.18.0.2';
const S = '198.18.0.9';
const WWW = 'www.example.com';

/** min_active 2 of 2 primaries, so one primary down brings the standby in while the other keeps the name. */
function standbyConfig(): Config {
  return testConfig({ ips: [P1, P2], standbyIps: [S], minActive: 2, failbackDelayMs: 10_000, hostnames: [WWW] });
}

function controllerFor(config: Config, provider: DnsProvider, verdicts: Record<string, Verdict>) {
  const clock = { t: 1_000_000 };
  const scheduler: Scheduler = { now: () => clock.t, setTimer: (fn, ms) => setTimeout(fn, ms), clearTimer: (h) => clearTimeout(h as NodeJS.Timeout) };
  const c = new Controller({ logger: silentLogger(), scheduler, events: {}, desired: { verdicts: () => new Map(Object.entries(verdicts)) } }, config, provider);
  return {
    clock,
    run: async () => {
      const out = await c.runOnce('test', new AbortController().signal);
      if (!out.ok) throw out.error;
      return out;
    },
  };
}

describe('standby with Cloudflare', () => {
  let cf: FakeCloudflare;
  beforeEach(async () => {
    cf = await startFakeCloudflare({ zones: ['example.com'] });
  });
  afterEach(async () => {
    await cf.close();
  });
  const provider = () =>
    new CloudflareProvider({
      zoneName: 'example.com',
      credentials: { apiToken: 'test-token' },
      baseURL: cf.baseURL,
      logger: silentLogger(),
      retry: { attempts: 1 },
    });
  const contents = () =>
    cf
      .records()
      .map((r) => r.content)
      .sort();
  const calls = () => cf.mutatingCalls().map((c) => `${c.method} ${c.path.replace(cf.zoneId('example.com'), 'Z').replace(/[0-9a-f]{32}$/, 'ID')}`);

  it('a primary down: the standby is added and the primary removed in one batch; back: the reverse after failback_delay', async () => {
    cf.addRecord('example.com', { type: 'A', name: 'www', content: P1 });
    cf.addRecord('example.com', { type: 'A', name: 'www', content: P2 });
    const v: Record<string, Verdict> = { [P1]: 'up', [P2]: 'up', [S]: 'up' };
    const h = controllerFor(standbyConfig(), provider(), v);
    await h.run();
    cf.resetCalls();
    v[P2] = 'down';
    await h.run();
    expect(contents()).toEqual([P1, S]);
    expect(calls()).toEqual(['POST /zones/Z/dns_records/batch']);
    const body = cf.mutatingCalls()[0]!.body as { posts: Array<{ content: string }>; deletes: unknown[] };
    expect(body.posts.map((p) => p.content)).toEqual([S]);
    expect(body.deletes).toHaveLength(1);

    cf.resetCalls();
    v[P2] = 'up';
    expect(await h.run()).toEqual({ ok: true, nextInMs: 10_000 });
    expect(contents()).toEqual([P1, P2, S]);
    h.clock.t += 10_000;
    await h.run();
    expect(contents()).toEqual([P1, P2]);
  });

  it('one call at a time (no batch endpoint): the standby is POSTed before the primary is DELETEd', async () => {
    cf.addRecord('example.com', { type: 'A', name: 'www', content: P1 });
    cf.addRecord('example.com', { type: 'A', name: 'www', content: P2 });
    const v: Record<string, Verdict> = { [P1]: 'up', [P2]: 'up', [S]: 'up' };
    const h = controllerFor(standbyConfig(), provider(), v);
    await h.run();
    cf.resetCalls();
    cf.inject({ match: { path: /\/dns_records\/batch$/ }, status: 404, times: 1 });
    v[P1] = 'down';
    await h.run();
    expect(calls()).toEqual(['POST /zones/Z/dns_records/batch', 'POST /zones/Z/dns_records', 'DELETE /zones/Z/dns_records/ID']);
    expect((cf.mutatingCalls()[1]!.body as { content: string }).content).toBe(S);
    expect(contents()).toEqual([P2, S]);
  });
});

describe('standby with Route 53', () => {
  let r53: FakeRoute53;
  let undo: () => void;
  let dir: Scratch;
  let zone: string;
  beforeAll(async () => {
    r53 = await startFakeRoute53({ zones: ['example.com'], insyncAfterMs: 10 });
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
    for (const s of r53.sets(zone)) r53.removeSet(zone, s);
  });
  const provider = () =>
    new Route53Provider({
      zoneName: 'example.com',
      api: sdkRoute53Api(createRoute53Client({ requestTimeoutMs: 2000 })),
      logger: silentLogger(),
      ttl: 60,
      retry: { attempts: 1 },
      pollIntervalMs: 10,
    });
  const route53Config = (): Config => {
    const c = standbyConfig();
    const cf = c.cloudflare!;
    return {
      ...c,
      dnsProvider: 'route53',
      cloudflare: undefined,
      aws: {
        domain: 'example.com',
        hostnames: cf.hostnames,
        ipAddresses: cf.ipAddresses,
        standbyIps: cf.standbyIps,
        minActive: 2,
        failbackDelayMs: 10_000,
        ttl: 60,
      },
    };
  };
  /** Each change request's changes, `DELETE|CREATE identifier [values]`. */
  const changes = () =>
    r53.changeCalls().map((call) => {
      const batch = (call.body as { ChangeResourceRecordSetsRequest: { ChangeBatch: { Changes: { Change: unknown } } } }).ChangeResourceRecordSetsRequest
        .ChangeBatch;
      const list = ([] as unknown[]).concat(batch.Changes.Change) as Array<{
        Action: string;
        ResourceRecordSet: { SetIdentifier?: string; ResourceRecords: { ResourceRecord: { Value: string } | { Value: string }[] } };
      }>;
      return list.map((c) => {
        const values = ([] as Array<{ Value: string }>).concat(c.ResourceRecordSet.ResourceRecords.ResourceRecord).map((r) => r.Value);
        return `${c.Action} ${c.ResourceRecordSet.SetIdentifier ?? '-'} [${values.join(' ')}]`;
      });
    });

  it('a weighted set: the standby value enters the set as the primary leaves (one rewrite), and leaves it after failback', async () => {
    r53.putSet(zone, { Name: WWW, Type: 'A', SetIdentifier: 'test', Weight: 0, TTL: 30, ResourceRecords: [{ Value: P1 }, { Value: P2 }] });
    const v: Record<string, Verdict> = { [P1]: 'up', [P2]: 'up', [S]: 'up' };
    const h = controllerFor(route53Config(), provider(), v);
    await h.run();
    expect(r53.changeCalls()).toHaveLength(0);
    v[P2] = 'down';
    await h.run();
    expect(changes()).toEqual([[`DELETE test [${P1} ${P2}]`, `CREATE test [${P1} ${S}]`]]);
    expect(r53.sets(zone)).toEqual([{ Name: `${WWW}.`, Type: 'A', SetIdentifier: 'test', Weight: 0, TTL: 30, ResourceRecords: [{ Value: P1 }, { Value: S }] }]);

    r53.resetCalls();
    v[P2] = 'up';
    await h.run();
    expect(r53.values(zone, WWW).sort()).toEqual([P1, P2, S]);
    h.clock.t += 10_000;
    await h.run();
    expect(r53.values(zone, WWW).sort()).toEqual([P1, P2]);
    expect(r53.sets(zone)).toHaveLength(1);
    expect(r53.sets(zone)[0]).toMatchObject({ SetIdentifier: 'test', Weight: 0, TTL: 30 });
  });

  it('multivalue sets: the standby set is created before the primary set is deleted, in one change batch', async () => {
    r53.putSet(zone, { Name: WWW, Type: 'A', SetIdentifier: P1, MultiValueAnswer: true, TTL: 30, ResourceRecords: [{ Value: P1 }] });
    r53.putSet(zone, { Name: WWW, Type: 'A', SetIdentifier: P2, MultiValueAnswer: true, TTL: 30, ResourceRecords: [{ Value: P2 }] });
    const v: Record<string, Verdict> = { [P1]: 'up', [P2]: 'up', [S]: 'up' };
    const h = controllerFor(route53Config(), provider(), v);
    await h.run();
    v[P2] = 'down';
    await h.run();
    expect(changes()).toEqual([[`CREATE ${S} [${S}]`, `DELETE ${P2} [${P2}]`]]);
    expect(r53.values(zone, WWW).sort()).toEqual([P1, S]);
  });
});
