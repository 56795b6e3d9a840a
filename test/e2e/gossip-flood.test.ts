import { join } from 'node:path';
import { connect, type Server, type Socket } from 'node:net';
import { mkdir } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { assertBuilt, GoavailProcess, runCli } from '../support/cli.js';
import { scratch, sleep, waitFor } from '../support/kit.js';
import { closeServer, freePort, listenTcp } from '../support/net.js';

/**
 * Two agent processes on 127.0.0.1 while outsiders without the key hold
 * idle TCP connections to both gossip ports from 127.0.0.50–59, refilled as
 * they close. TCP probes to loopback listeners; closing one is the outage.
 * Before the admission fixes, 10 idle connections per agent kept the agents
 * apart for the whole attack and an outage went unacted for over 60 s.
 */
const ZONE = 'example.com';
const WWW = 'www.example.com';
const TOKEN = 'flood-token';
const SECRET = 'e2e-flood-shared-secret-0123456789';
const UP = '127.0.0.2';
const FLAKY = '127.0.0.3';

/** Idle connectors (no key, no bytes) from 127.0.0.50–59 to each port, `perHost` each, refilled on close. */
function startOutsiders(ports: number[], perHost: number): { stop: () => void; opened: () => number } {
  let running = true;
  let opened = 0;
  const sockets = new Set<Socket>();
  const one = (port: number, host: string): void => {
    if (!running) return;
    opened++;
    const s = connect({ host: '127.0.0.1', port, localAddress: host });
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => {
      sockets.delete(s);
      // refill at once, with a 10 ms pause so a refused connector does not spin a core
      setTimeout(() => one(port, host), 10);
    });
  };
  for (const port of ports) for (let i = 0; i < 10; i++) for (let j = 0; j < perHost; j++) one(port, `127.0.0.${50 + i}`);
  return {
    stop: () => {
      running = false;
      for (const s of sockets) s.destroy();
    },
    opened: () => opened,
  };
}

describe('gossip under a connection flood from outsiders without the key (2 processes)', () => {
  let cf: FakeCloudflare;
  let dir: Awaited<ReturnType<typeof scratch>>;
  let probePort = 0;
  const servers = new Map<string, Server>();
  const ports: Record<string, number> = {};
  const procs: Record<string, GoavailProcess> = {};
  const names = ['a', 'b'] as const;
  let outsiders: ReturnType<typeof startOutsiders> | undefined;

  const contents = (): string[] =>
    cf
      .records(ZONE)
      .filter((r) => r.name === WWW)
      .map((r) => r.content)
      .sort();

  function config(self: string): string {
    const peers = names.filter((n) => n !== self).map((n) => `"127.0.0.1:${ports[n]}"`);
    return `
failure_threshold = 2
recovery_threshold = 2
interval = 0.5
timeout = 0.25
reconcile_interval = 2
status_addr = "127.0.0.1:0"
port = ${probePort}
[Members]
peers = [${peers.join(', ')}]
local_addr = "127.0.0.1:${ports[self]}"
min_peers_agree = 1
crypto_key = "${SECRET}"
[Cloudflare]
dns_proxied = false
dns_domain = "${ZONE}"
hostnames = ["www"]
ip_addresses = ["${UP}", "${FLAKY}"]
`;
  }

  function startAgent(n: string): GoavailProcess {
    const d = join(dir.dir, n);
    const p = new GoavailProcess(['monitor', '--config-file', join(d, 'goavail.toml'), '--no-dry-run', '--type', 'tcp'], {
      env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL, HOME: d },
      cwd: d,
    });
    procs[n] = p;
    return p;
  }

  beforeAll(async () => {
    assertBuilt();
    dir = await scratch('flood');
    const first = await listenTcp(UP, 0);
    probePort = (first.address() as { port: number }).port;
    servers.set(UP, first);
    servers.set(FLAKY, await listenTcp(FLAKY, probePort));
    for (const n of names) ports[n] = await freePort();
    for (const n of names) {
      await mkdir(join(dir.dir, n));
      await dir.write(`${n}/goavail.toml`, config(n));
    }
    cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    for (const ip of [UP, FLAKY]) cf.addRecord(ZONE, { type: 'A', name: WWW, content: ip });
  });

  afterAll(async () => {
    outsiders?.stop();
    for (const p of Object.values(procs)) p.kill();
    await Promise.all([...servers.values()].map(closeServer));
    await cf?.close();
    await dir?.cleanup();
  });

  it('acts on an outage within seconds, also after an agent restarts during the attack', async () => {
    // the attack starts before the agents and never stops
    outsiders = startOutsiders([ports.a!, ports.b!], 2);
    await sleep(300);
    for (const n of names) startAgent(n);
    for (const n of names) await procs[n]!.waitForLog((l) => l.msg === `cluster verdict: ${FLAKY} is up`, 30_000);
    await sleep(2000);
    expect(contents()).toEqual([UP, FLAKY]);

    // outage: both agents see it, agree over gossip, the record goes
    let t0 = Date.now();
    await closeServer(servers.get(FLAKY)!);
    servers.delete(FLAKY);
    await waitFor(`${FLAKY} removed under the flood`, () => !contents().includes(FLAKY), { timeoutMs: 20_000 });
    const firstMs = Date.now() - t0;

    // recovery, then restart b during the attack
    servers.set(FLAKY, await listenTcp(FLAKY, probePort));
    await waitFor(`${FLAKY} restored`, () => contents().includes(FLAKY), { timeoutMs: 20_000 });
    procs.b!.kill();
    await procs.b!.exited;
    const b2 = startAgent('b');
    await b2.waitForLog((l) => l.msg === 'connected to peer', 15_000);
    await b2.waitForLog((l) => l.msg === `cluster verdict: ${FLAKY} is up`, 20_000);

    // a second outage needs the restarted agent's agreement: b2 must accept a's messages
    t0 = Date.now();
    await closeServer(servers.get(FLAKY)!);
    servers.delete(FLAKY);
    await waitFor(`${FLAKY} removed after b restarted`, () => !contents().includes(FLAKY), { timeoutMs: 20_000 });
    const secondMs = Date.now() - t0;
    await b2.waitForLog((l) => l.msg === `cluster verdict: ${FLAKY} is down`, 5_000);
    console.info(`flood e2e: ${outsiders.opened()} outsider connections; outage acted on in ${firstMs} ms, after b's restart in ${secondMs} ms`);
    expect(firstMs).toBeLessThan(15_000);
    expect(secondMs).toBeLessThan(15_000);
    outsiders.stop();
    for (const n of ['a'] as const) expect((await procs[n]!.stop('SIGTERM')).code).toBe(0);
    expect((await b2.stop('SIGTERM')).code).toBe(0);
  }, 150_000);
});

describe('gossip local_addr in use', () => {
  let holder: Server | undefined;
  let dir: Awaited<ReturnType<typeof scratch>> | undefined;
  afterAll(async () => {
    if (holder) await closeServer(holder);
    await dir?.cleanup();
  });

  it('exits 1 with one line naming the address', async () => {
    assertBuilt();
    const port = await freePort();
    holder = await listenTcp('127.0.0.1', port);
    dir = await scratch('gossip-in-use');
    const file = await dir.write(
      'goavail.toml',
      `
status_addr = "127.0.0.1:0"
[Members]
peers = ["127.0.0.1:${await freePort()}"]
local_addr = "127.0.0.1:${port}"
crypto_key = "${SECRET}"
key_file = "${join(dir.dir, 'node.key')}"
[Cloudflare]
dns_domain = "${ZONE}"
hostnames = ["www"]
ip_addresses = ["${UP}"]
`,
    );
    const res = await runCli(['monitor', '--config-file', file], { cwd: dir.dir, env: { HOME: dir.dir } });
    expect(res.stderr).toBe(`goavail: cannot listen on 127.0.0.1:${port} for gossip: address in use\n`);
    expect(res.code).toBe(1);
  }, 30_000);
});
