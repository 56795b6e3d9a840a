import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, GoavailProcess } from '../support/cli.js';
import { startFakeCloudflare, type FakeCloudflare } from '../support/fake-cloudflare.js';
import { scratch, waitFor, type Scratch } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { canUseNetns, createNsLab, type NsLab } from '../support/netns.js';

// IPv6 end to end: two namespace hosts with an IPv4 and an IPv6 address each
// (2001:db8::/32, blackholed first), A and AAAA records for one name. An
// outage of one host's IPv6 address removes its AAAA record only; the A
// records are never touched. Once with ICMP/ICMPv6, once with TCP connects.

const ZONE = 'example.com';
const WWW = 'www.example.com';
const TOKEN = 'ipv6-token';
const PORT = 8443;

describe.skipIf(!canUseNetns())('IPv6 end to end (namespace hosts, AAAA records)', () => {
  let lab: NsLab;
  let cf: FakeCloudflare;
  let dir: Scratch;
  const procs: GoavailProcess[] = [];

  beforeAll(async () => {
    assertBuilt();
    lab = await createNsLab({ ...LABS['e2e/ipv6'], count: 2, ipv6: true });
    dir = await scratch('ipv6');
  });

  afterAll(async () => {
    for (const p of procs) p.kill();
    await cf?.close();
    await lab?.cleanup();
    await dir?.cleanup();
  });

  const v4 = (k: number): string => lab.hosts[k]!.ip;
  const v6 = (k: number): string => lab.hosts[k]!.ip6!;
  /** "TYPE content" of every record of the name, sorted. */
  const records = (): string[] =>
    cf
      .records(ZONE)
      .filter((r) => r.name === WWW)
      .map((r) => `${r.type} ${r.content}`)
      .sort();
  /** The ids of the name's A records. */
  const aIds = (): string[] =>
    cf
      .records(ZONE)
      .filter((r) => r.name === WWW && r.type === 'A')
      .map((r) => r.id)
      .sort();
  const all = (): string[] => [`A ${v4(0)}`, `A ${v4(1)}`, `AAAA ${v6(0)}`, `AAAA ${v6(1)}`].sort();

  async function start(name: string, extra: string, type: 'ip' | 'tcp'): Promise<GoavailProcess> {
    cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
    for (const k of [0, 1]) {
      cf.addRecord(ZONE, { type: 'A', name: WWW, content: v4(k) });
      cf.addRecord(ZONE, { type: 'AAAA', name: WWW, content: v6(k) });
    }
    const file = await dir.write(
      `${name}.toml`,
      `
failure_threshold = 2
recovery_threshold = 2
interval = 0.3
timeout = 0.2
reconcile_interval = 2
status_addr = ""
${extra}
[Cloudflare]
dns_proxied = false
dns_domain = "${ZONE}"
hostnames = ["www"]
ip_addresses = ["${v4(0)}", "${v4(1)}", "${v6(0)}", "${v6(1)}"]
`,
    );
    const p = new GoavailProcess(['monitor', '-f', file, '--no-dry-run', '--type', type], {
      env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL },
    });
    procs.push(p);
    for (const ip of [v4(0), v4(1), v6(0), v6(1)]) await p.waitForLog((l) => l.msg === `local verdict: ${ip} is up`, 20_000);
    return p;
  }

  async function stop(p: GoavailProcess): Promise<void> {
    expect((await p.stop()).code).toBe(0);
    await cf.close();
  }

  it('ICMPv6: an IPv6 outage removes its AAAA record and recovery restores it; A records untouched', async () => {
    const p = await start('icmp', '', 'ip');
    expect(records()).toEqual(all());
    const before = aIds();

    await lab.hosts[1]!.ignoreEcho6(true);
    await waitFor('AAAA of host 1 removed', () => !records().includes(`AAAA ${v6(1)}`), { timeoutMs: 20_000 });
    expect(records()).toEqual([`A ${v4(0)}`, `A ${v4(1)}`, `AAAA ${v6(0)}`].sort());
    expect(p.logs.some((l) => l.msg === `local verdict: ${v4(1)} is down`)).toBe(false);

    await lab.hosts[1]!.ignoreEcho6(false);
    await waitFor('AAAA of host 1 restored', () => records().includes(`AAAA ${v6(1)}`), { timeoutMs: 20_000 });
    expect(records()).toEqual(all());
    // two writes (the delete, the create), and the A records are the very same ones
    expect(cf.mutatingCalls()).toHaveLength(2);
    expect(aIds()).toEqual(before);
    await stop(p);
  }, 90_000);

  it('TCP over IPv6: a closed listener removes its AAAA record, a new one restores it; A records untouched', async () => {
    const listeners = new Map<string, { close(): Promise<void> }>();
    for (const k of [0, 1]) {
      listeners.set(v4(k), await lab.hosts[k]!.listenTcp(PORT));
      listeners.set(v6(k), await lab.hosts[k]!.listenTcp(PORT, v6(k)));
    }
    const p = await start('tcp', `port = ${PORT}`, 'tcp');
    expect(records()).toEqual(all());
    const before = aIds();

    await listeners.get(v6(0))!.close();
    await waitFor('AAAA of host 0 removed', () => !records().includes(`AAAA ${v6(0)}`), { timeoutMs: 20_000 });
    expect(records()).toEqual([`A ${v4(0)}`, `A ${v4(1)}`, `AAAA ${v6(1)}`].sort());

    listeners.set(v6(0), await lab.hosts[0]!.listenTcp(PORT, v6(0)));
    await waitFor('AAAA of host 0 restored', () => records().includes(`AAAA ${v6(0)}`), { timeoutMs: 20_000 });
    expect(records()).toEqual(all());
    expect(cf.mutatingCalls()).toHaveLength(2);
    expect(aIds()).toEqual(before);
    await stop(p);
  }, 90_000);
});
