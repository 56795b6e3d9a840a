import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createHttpProber } from '../../../src/probe/http.js';
import { startHttpTarget, type HttpTarget } from '../../support/http-target.js';
import { LABS } from '../../support/labs.js';
import { canUseNetns, createNsLab, type NsLab } from '../../support/netns.js';

/**
 * What loopback cannot show: a host that never answers a SYN (connect
 * timeout), an address that hits the blackhole route (unreachable), and a
 * server running inside the namespace that goes silent mid-life.
 */
describe.runIf(canUseNetns())('HTTP prober against a namespace host', () => {
  let lab: NsLab;
  let server: HttpTarget | undefined;
  beforeAll(async () => {
    lab = await createNsLab({ ...LABS['probe/http'], count: 1 });
  });
  afterAll(async () => {
    await server?.close();
    await lab?.cleanup();
  });

  const settings = {
    path: '/',
    method: 'GET' as const,
    host: 'www.example.com',
    expectStatus: [{ min: 200, max: 399 }],
    expectBody: undefined,
    headers: {},
    tlsVerify: true,
  };

  it('up while the server in the namespace answers; a silent link is a connect timeout; a blackholed address is unreachable', async () => {
    const host = lab.hosts[0]!;
    server = await startHttpTarget({ host: host.ip, port: 8080, scheme: 'http', netns: host.ns });
    const prober = createHttpProber({ logger: silentLogger(), scheme: 'http', port: 8080, settings });
    try {
      expect((await prober.probe([host.ip], 1_000))[0]).toMatchObject({ ok: true });
      await host.linkDown();
      const [silent] = await prober.probe([host.ip], 300);
      expect(silent).toMatchObject({ ok: false, reason: 'connect-timeout', error: 'connect-timeout: no connection within 300 ms' });
      await host.linkUp();
      const [blackholed] = await prober.probe([lab.unusedIp], 300);
      expect(blackholed).toMatchObject({ ok: false, reason: 'unreachable' });
    } finally {
      await host.linkUp();
      prober.close();
    }
  });
});
