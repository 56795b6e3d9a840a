import { describe, expect, it } from 'vitest';
import { Agent } from '../../../src/agent.js';
import { makeProviderFactory, makeRoute53ProviderFactory, type Route53Start } from '../../../src/cli/commands.js';
import type { Config } from '../../../src/config/schema.js';
import type { CloudflareProvider } from '../../../src/dns/cloudflare.js';
import { DryRunProvider } from '../../../src/dns/dryrun.js';
import { silentLogger } from '../../../src/log.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';
import { FakeProber } from '../../support/fake-prober.js';

const ZONE_ID = '0123456789abcdef0123456789abcdef';

/** Stands in for the Cloudflare provider class: remembers what it was built with. */
function recordingProvider() {
  const built: Array<Record<string, unknown>> = [];
  class Recording extends FakeDns {
    constructor(opts: Record<string, unknown>) {
      super();
      built.push(opts);
    }
  }
  return { built, Provider: Recording as unknown as typeof CloudflareProvider };
}

describe('the DNS provider the CLI builds', () => {
  it.each([
    ['zone_id set: the provider is pinned to it', ZONE_ID],
    ['no zone_id: the provider looks the zone up by name', undefined],
  ])('%s', (_name, zoneId) => {
    const { built, Provider } = recordingProvider();
    const base = testConfig();
    const config = { ...base, cloudflare: { ...base.cloudflare!, zoneId } };
    makeProviderFactory(silentLogger(), false, { apiToken: 't' } as never, Provider)(config);
    expect(built).toHaveLength(1);
    expect(built[0]).toMatchObject({ zoneName: 'example.com', zoneId });
  });

  it('dry-run wraps it, so nothing is ever written', () => {
    const { Provider } = recordingProvider();
    expect(makeProviderFactory(silentLogger(), true, { apiToken: 't' } as never, Provider)(testConfig())).toBeInstanceOf(DryRunProvider);
  });

  it('a reload that changes zone_id builds a new provider; one that changes nothing else DNS-wise keeps it', async () => {
    const base = testConfig();
    let builds = 0;
    const agent = new Agent({
      config: base,
      logger: silentLogger(),
      dryRun: false,
      createProber: () => new FakeProber(),
      createProvider: () => {
        builds++;
        return new FakeDns();
      },
    });
    agent.reload({ ...base, failureThreshold: 5 });
    expect(builds).toBe(1);
    agent.reload({ ...base, cloudflare: { ...base.cloudflare!, zoneId: ZONE_ID } });
    expect(builds).toBe(2);
    await agent.stop();
  });

  describe('route53', () => {
    const r53Config = (zoneId?: string): Config => ({
      ...testConfig(),
      dnsProvider: 'route53',
      cloudflare: undefined,
      aws: {
        domain: 'example.com',
        hostnames: ['www.example.com'],
        ipAddresses: ['198.18.0.1'],
        standbyIps: [],
        minActive: 1,
        failbackDelayMs: 60_000,
        ttl: 60,
        zoneId,
      },
    });
    /** Stands in for the Route 53 module: remembers what the provider was built with. */
    function route53Start(credentials: boolean, found?: Route53Start['found']) {
      const built: Array<Record<string, unknown>> = [];
      class Recording extends FakeDns {
        constructor(opts: Record<string, unknown>) {
          super();
          built.push(opts);
        }
      }
      const module = { Route53Provider: Recording, sdkRoute53Api: () => ({}), createRoute53Client: () => ({}) } as unknown as Route53Start['module'];
      return { built, start: { module, credentials, found } satisfies Route53Start };
    }

    it('with credentials and --no-dry-run: the real provider, on the zone found at start-up (no second lookup)', () => {
      const { built, start } = route53Start(true, { domain: 'example.com', zoneId: 'ZFOUND' });
      const p = makeRoute53ProviderFactory(silentLogger(), false, start)(r53Config());
      expect(p).not.toBeInstanceOf(DryRunProvider);
      expect(built[0]).toMatchObject({ zoneName: 'example.com', zoneId: 'ZFOUND', ttl: 60 });
    });

    it('aws_zoneid wins over the zone found', () => {
      const { built, start } = route53Start(true, { domain: 'example.com', zoneId: 'ZFOUND' });
      makeRoute53ProviderFactory(silentLogger(), false, start)(r53Config('ZGIVEN'));
      expect(built[0]).toMatchObject({ zoneId: 'ZGIVEN' });
    });

    it('dry-run wraps it; without credentials no SDK provider is built and a simulated zone is planned on', () => {
      const { built, start } = route53Start(true);
      expect(makeRoute53ProviderFactory(silentLogger(), true, start)(r53Config())).toBeInstanceOf(DryRunProvider);
      expect(built).toHaveLength(1);
      const none = route53Start(false);
      const dry = makeRoute53ProviderFactory(silentLogger(), true, none.start)(r53Config()) as DryRunProvider;
      expect(none.built).toHaveLength(0);
      expect(dry.simulatedRecords()?.map((r) => `${r.name} ${r.content} ${r.ttl}`)).toEqual(['www.example.com 198.18.0.1 60']);
    });
  });
});
