import type { Server } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { scratch, waitFor } from '../support/kit.js';
import { closeServer, listenTcp } from '../support/net.js';

/** --type tcp against loopback listeners: close one, its records go; reopen, they come back. */
const ZONE = 'example.com';
const WWW = 'www.example.com';
const TOKEN = 'tcp-token';

describe('TCP probes end to end (loopback listeners)', () => {
  let cf: FakeCloudflare | undefined;
  let agent: GoavailProcess | undefined;
  const servers: Server[] = [];
  let dir: Awaited<ReturnType<typeof scratch>> | undefined;
  afterAll(async () => {
    agent?.kill();
    await Promise.all(servers.map(closeServer));
    await cf?.close();
    await dir?.cleanup();
  });

  it('follows the listeners', async () => {
    assertBuilt();
    const first = await listenTcp('127.0.0.1', 0);
    servers.push(first);
    const port = (first.address() as { port: number }).port;
    let second = await listenTcp('127.0.0.2', port);
    servers.push(second);
    cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    for (const ip of ['127.0.0.1', '127.0.0.2']) cf.addRecord(ZONE, { type: 'A', name: WWW, content: ip });
    dir = await scratch('tcp');
    const file = await dir.write(
      'goavail.toml',
      `
failure_threshold = 2
interval = 0.3
timeout = 0.15
status_addr = "127.0.0.1:0"
port = ${port}
[Cloudflare]
dns_proxied = false
dns_domain = "${ZONE}"
hostnames = ["www"]
ip_addresses = ["127.0.0.1", "127.0.0.2"]
`,
    );
    agent = new GoavailProcess(['monitor', '-f', file, '--no-dry-run', '--type', 'tcp'], {
      env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL },
    });
    await agent.waitForLog((l) => l.msg === 'local verdict: 127.0.0.2 is up');
    const contents = () =>
      cf!
        .records(ZONE)
        .filter((r) => r.name === WWW)
        .map((r) => r.content)
        .sort();

    await closeServer(second);
    servers.splice(servers.indexOf(second), 1);
    await waitFor('127.0.0.2 removed', () => contents().join() === '127.0.0.1');

    second = await listenTcp('127.0.0.2', port);
    servers.push(second);
    await waitFor('127.0.0.2 restored', () => contents().join() === '127.0.0.1,127.0.0.2');
    expect((await agent.stop()).code).toBe(0);
  }, 60_000);
});
