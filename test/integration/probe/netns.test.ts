/** The namespace test-host helper other e2e tests build on: setup, leftovers, cleanup. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/log.js';
import { createIcmpProber } from '../../../src/probe/icmp.js';
import { canUseNetns, createNsLab, labSubnet, type NsLab } from '../../support/netns.js';
import { LABS } from '../../support/labs.js';

const run = promisify(execFile);
const namespaces = async () => (await run('ip', ['netns', 'list'])).stdout;
const links = async () => (await run('ip', ['-o', 'link', 'show'])).stdout;

describe('labSubnet', () => {
  it.each([
    [0, '198.18.0'],
    [7, '198.18.7'],
    [255, '198.18.255'],
    [256, '198.19.0'],
    [511, '198.19.255'],
  ])('%i → %s', (index, subnet) => expect(labSubnet(index)).toBe(subnet));

  it.each([-1, 512, 1.5])('rejects %s', (index) => expect(() => labSubnet(index)).toThrow(RangeError));
});

describe('createNsLab arguments', () => {
  it.each([
    [{ prefix: 'Bad', count: 1, subnetIndex: 1 }],
    [{ prefix: 'muchtoolong', count: 1, subnetIndex: 1 }],
    [{ prefix: 'ok', count: 0, subnetIndex: 1 }],
    [{ prefix: 'ok', count: 64, subnetIndex: 1 }],
    [{ prefix: 'ok', count: 1, subnetIndex: 512 }],
  ])('rejects %j before touching the system', async (opts) => {
    await expect(createNsLab(opts)).rejects.toThrow(RangeError);
  });
});

describe.skipIf(!canUseNetns() && !process.env.CI)('createNsLab (root)', () => {
  const labs: NsLab[] = [];
  afterAll(async () => {
    await Promise.all(labs.map((l) => l.cleanup()));
  });

  it('builds hosts with the documented addresses, blackholes the range, and cleans up (twice is fine)', async () => {
    const lab = await createNsLab({ ...LABS['probe/netns'], count: 2 });
    labs.push(lab);
    expect(lab.hosts.map((h) => [h.ns, h.ip, h.hostVeth])).toEqual([
      ['upns-0', '198.19.247.2', 'upnsh0'],
      ['upns-1', '198.19.247.6', 'upnsh1'],
    ]);
    expect(lab.unusedIp).toBe('198.19.247.254');
    expect((await run('ip', ['route', 'show', 'type', 'blackhole'])).stdout).toContain('198.18.0.0/15');
    const hostAddr = (await run('ip', ['-o', '-4', 'addr', 'show', 'dev', 'upnsh1'])).stdout;
    expect(hostAddr).toContain('198.19.247.5/30');

    const prober = createIcmpProber({ logger: silentLogger(), sessionIdBase: process.pid + 3000 });
    try {
      const both = () =>
        prober
          .probe(
            lab.hosts.map((h) => h.ip),
            500,
          )
          .then((r) => r.map((x) => x.ok));
      expect(await both()).toEqual([true, true]);
      await lab.hosts[0]!.linkDown();
      expect(await both()).toEqual([false, true]);
      await lab.hosts[0]!.linkUp();
      await expect.poll(both, { timeout: 5000 }).toEqual([true, true]);
    } finally {
      prober.close();
    }

    await lab.cleanup();
    await lab.cleanup();
    expect(await namespaces()).not.toMatch(/\bupns-[01]\b/);
    expect(await links()).not.toMatch(/upns[hn][01]/);
    // The blackhole stays: other files may rely on it.
    expect((await run('ip', ['route', 'show', 'type', 'blackhole'])).stdout).toContain('198.18.0.0/15');
  });

  it('replaces the leftovers of a run that crashed before cleanup', async () => {
    const crashed = await createNsLab({ ...LABS['probe/netns leftovers'], count: 1 });
    // A stray pair as a crash half-way through setup would leave it.
    await run('ip', ['link', 'add', 'upnlh1', 'type', 'veth', 'peer', 'name', 'upnln1']);
    const lab = await createNsLab({ ...LABS['probe/netns leftovers'], count: 2 });
    labs.push(lab, crashed);
    expect(lab.hosts.map((h) => h.ns)).toEqual(['upnl-0', 'upnl-1']);
    await lab.cleanup();
    expect(await namespaces()).not.toMatch(/\bupnl-[01]\b/);
    expect(await links()).not.toMatch(/upnl[hn][01]/);
  });

  it('starts and stops a TCP listener inside a namespace', async () => {
    const lab = await createNsLab({ ...LABS['probe/netns listener'], count: 1 });
    labs.push(lab);
    const host = lab.hosts[0]!;
    const { createTcpProber } = await import('../../../src/probe/tcp.js');
    const prober = createTcpProber({ logger: silentLogger(), port: 7070 });
    const listener = await host.listenTcp(7070);
    expect((await prober.probe([host.ip], 2000))[0]?.ok).toBe(true);
    await listener.close();
    expect((await prober.probe([host.ip], 2000))[0]?.error).toMatch(/ECONNREFUSED/);
    await host.listenTcp(7070); // left running: cleanup must stop it
    await lab.cleanup();
    expect(await namespaces()).not.toMatch(/\bupnt-0\b/);
  });
});
