import { describe, expect, it } from 'vitest';
import { Agent } from '../../../src/agent.js';
import { makeProviderFactory } from '../../../src/cli/commands.js';
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
});
