import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { scratch, type Scratch } from '../support/kit.js';

/**
 * A [[maintenance]] window through the built CLI: a dry-run agent (simulated
 * zone) probing two loopback IPs that both answer. The window open now on
 * one of them drains it: the agent would remove its record although it is
 * up, and leaves the other alone.
 */
const NO_CREDENTIALS = { CLOUDFLARE_API_TOKEN: '', CF_API_KEY: '', CF_API_EMAIL: '', CLOUDFLARE_API_KEY: '', CLOUDFLARE_EMAIL: '' };

describe('maintenance windows end to end', () => {
  let dir: Scratch;
  let agent: GoavailProcess | undefined;
  beforeAll(async () => {
    assertBuilt();
    dir = await scratch('maintenance-e2e');
  });
  afterAll(async () => {
    agent?.kill();
    await dir?.cleanup();
  });

  it('a window open now drains its IP: its record goes although it answers', async () => {
    const start = new Date(Date.now() - 60_000).toISOString();
    const file = await dir.write(
      'goavail.toml',
      `
failure_threshold = 2
recovery_threshold = 2
interval = 0.3
timeout = 0.15
status_addr = ""
[Cloudflare]
dns_proxied = false
dns_domain = "example.com"
hostnames = ["www"]
ip_addresses = ["127.0.0.1", "127.0.0.2"]

[[maintenance]]
ips = ["127.0.0.2"]
start = "${start}"
duration = "1h"
reason = "kernel upgrade"
`,
    );
    agent = new GoavailProcess(['monitor', '-f', file], { env: NO_CREDENTIALS });
    const drained = await agent.waitForLog((l) => l.msg === 'maintenance window drains 127.0.0.2', 20_000);
    expect(drained).toMatchObject({ ip: '127.0.0.2', reason: 'kernel upgrade' });
    await agent.waitForLog((l) => l.msg === 'would remove A www.example.com 127.0.0.2', 20_000);
    expect(agent.logs.some((l) => typeof l.msg === 'string' && l.msg.includes('remove A www.example.com 127.0.0.1'))).toBe(false);
    expect(agent.logs.some((l) => l.msg === 'local verdict: 127.0.0.2 is up')).toBe(true); // still probed, really up
    expect((await agent.stop()).code).toBe(0);
  }, 60_000);
});
