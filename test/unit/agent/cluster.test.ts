import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../../src/agent.js';
import type { Config } from '../../../src/config/schema.js';
import { Keyring } from '../../../src/gossip/keyring.js';
import { createMemoryNetwork, type MemoryNetwork } from '../../../src/gossip/memory.js';
import type { Gossip } from '../../../src/gossip/types.js';
import { silentLogger } from '../../../src/log.js';
import { advance, stopInFakeTime, until } from './fake-time.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';
import { FakeProber } from '../../support/fake-prober.js';

/** Several agents in one process over the in-memory gossip network, sharing one fake DNS. */
const A = '203.0.113.1';
const B = '203.0.113.2';
const WWW = 'www.example.com';
const rec = (content: string) => ({ type: 'A' as const, name: WWW, content, proxied: false, ttl: 1 });
const IDS = ['agent-a', 'agent-b', 'agent-c'];

interface Member {
  id: string;
  agent: Agent;
  prober: FakeProber;
  gossip: Gossip;
}

/* Fake timers throughout: grace periods, settles and probe rounds are advanced, never slept. */
const running: Member[] = [];
beforeEach(() => {
  vi.useFakeTimers({ now: 1_760_000_000_000 });
});
afterEach(async () => {
  await stopInFakeTime(
    Promise.all(
      running.splice(0).map(async (m) => {
        await m.agent.stop();
        await m.gossip.stop();
      }),
    ),
  );
  vi.useRealTimers();
});

function cluster(minPeersAgree: number, ids = IDS, seed = [A, B], canaries: Record<string, string[]> = {}) {
  const net: MemoryNetwork = createMemoryNetwork();
  const dns = new FakeDns(seed.map(rec));
  const keyring = Keyring.fromSecrets(['cluster-test-secret-0123456789']);
  const config: Config = testConfig({ ips: [A, B], minPeersAgree, peers: ids.slice(1).map((_, i) => `127.0.0.1:${7000 + i}`) });
  const members = ids.map((id) => {
    const gossip = net.join(id, { keyring, isKnownIp: (ip) => ip === A || ip === B });
    const prober = new FakeProber();
    const own = canaries[id] ? { ...config, canaries: canaries[id]! } : config;
    const agent = new Agent({ config: own, logger: silentLogger(), dryRun: false, createProber: () => prober, createProvider: () => dns, gossip, selfId: id });
    const m = { id, agent, prober, gossip };
    running.push(m);
    return m;
  });
  return { net, dns, members, config, keyring };
}

async function startAll(members: Member[]): Promise<void> {
  for (const m of members) await m.gossip.start();
  for (const m of members) m.agent.start();
  for (const m of members) await until(() => m.agent.verdicts().get(A) === 'up' && m.agent.verdicts().get(B) === 'up', `${m.id} agrees A and B are up`);
}

const deletes = (dns: FakeDns) => dns.applied.flat().filter((c) => c.op === 'delete').length;
const creates = (dns: FakeDns) => dns.applied.flat().filter((c) => c.op === 'create').length;

describe('cluster over the in-memory network', () => {
  it('an IP down for every agent is removed once, and restored once', async () => {
    const { dns, members } = cluster(1);
    await startAll(members);
    for (const m of members) m.prober.down.add(A);
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    await advance(3500); // past the writer grace period: the others re-read and find nothing to do
    expect(deletes(dns)).toBe(1);
    for (const m of members) m.prober.down.delete(A);
    await until(() => dns.contents(WWW).join() === [A, B].join(), 'A restored');
    await advance(3500);
    expect(creates(dns)).toBe(1);
    expect(dns.contents(WWW)).toEqual([A, B]);
  }, 30_000);

  it('an IP that only one agent cannot reach stays in DNS', async () => {
    const { dns, members } = cluster(1);
    await startAll(members);
    members[0]!.prober.down.add(A);
    await until(() => members[0]!.agent.status().targets.find((t) => t.ip === A)?.local.verdict === 'down', 'agent-a sees A down');
    await advance(1000);
    expect(dns.applied).toEqual([]);
    // the two that see A up act on up; the one that sees it down holds
    expect(members.map((m) => m.agent.verdicts().get(A))).toEqual(['unknown', 'up', 'up']);
    for (const m of members) expect(m.agent.status().targets.find((t) => t.ip === A)?.cluster.verdict).toBe('up');
  }, 30_000);

  it('min_peers_agree = 2 with one peer away: no change', async () => {
    const { dns, members } = cluster(2);
    const [a, b, c] = members as [Member, Member, Member];
    await startAll(members);
    await c.agent.stop();
    await c.gossip.stop();
    running.splice(running.indexOf(c), 1);
    a.prober.down.add(A);
    b.prober.down.add(A);
    await until(() => b.agent.status().targets.find((t) => t.ip === A)?.local.verdict === 'down', 'b sees A down');
    await advance(1000);
    expect(dns.applied).toEqual([]);
  }, 30_000);

  it('min_peers_agree = 0 in a cluster: each agent acts on its own verdict, still one delete', async () => {
    const { dns, members } = cluster(0);
    await startAll(members);
    for (const m of members) m.prober.down.add(A);
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    await advance(3500);
    expect(deletes(dns)).toBe(1);
  }, 30_000);

  it('a restarted agent (fresh state) during an outage changes nothing', async () => {
    const { dns, members, config } = cluster(1);
    await startAll(members);
    for (const m of members) m.prober.down.add(A);
    await until(() => dns.contents(WWW).join() === B, 'A removed');
    const c = members[2]!;
    await c.agent.stop();
    const fresh = new Agent({
      config,
      logger: silentLogger(),
      dryRun: false,
      createProber: () => c.prober,
      createProvider: () => dns,
      gossip: c.gossip,
      selfId: c.id,
    });
    running.push({ ...c, agent: fresh });
    fresh.start();
    await until(() => fresh.status().targets.find((t) => t.ip === A)?.cluster.verdict === 'down', 'restarted agent agrees A is down');
    await advance(500);
    expect(dns.contents(WWW)).toEqual([B]);
    expect(creates(dns)).toBe(0);
    expect(deletes(dns)).toBe(1);
  }, 30_000);

  it('observations from a member with another key are dropped', async () => {
    const { net, dns, members } = cluster(1, IDS.slice(0, 2));
    const outsider = net.join('agent-x', { keyring: Keyring.fromSecrets(['some-other-secret-0123456789']), isKnownIp: () => true });
    await outsider.start();
    await startAll(members);
    members[0]!.prober.down.add(A);
    await outsider.publish([{ ip: A, verdict: 'down' }], true);
    await until(() => members[0]!.gossip.drops()['bad-tag'] >= 1, 'outsider message dropped');
    await advance(500);
    expect(dns.applied).toEqual([]);
    await outsider.stop();
  }, 30_000);

  it('a sick observer abstains, and a real outage seen by the healthy agents still fails over', async () => {
    const CANARY = '198.51.100.53';
    const { dns, members } = cluster(1, IDS, [A, B], { 'agent-a': [CANARY] });
    const [a] = members as [Member, Member, Member];
    a.prober.down.add(CANARY);
    await startAll(members);
    await until(() => a.agent.status().selfCheck.state === 'canaries-failing', 'agent-a is sick');
    for (const m of members) m.prober.down.add(A);
    await until(() => dns.contents(WWW).join() === B, 'A removed by the healthy agents');
    expect(a.agent.status().targets.find((t) => t.ip === A)?.vote).toBe('unknown');
    await advance(3500);
    expect(deletes(dns)).toBe(1);
  }, 30_000);

  it('a sick observer alone cannot take an IP out', async () => {
    const CANARY = '198.51.100.53';
    const { dns, members } = cluster(1, IDS, [A, B], { 'agent-a': [CANARY], 'agent-b': [CANARY] });
    const [a, b] = members as [Member, Member, Member];
    a.prober.down.add(CANARY);
    b.prober.down.add(CANARY);
    await startAll(members);
    a.prober.down.add(A);
    b.prober.down.add(A);
    await until(() => b.agent.status().targets.find((t) => t.ip === A)?.local.verdict === 'down', 'b sees A down');
    await advance(1000);
    expect(dns.applied).toEqual([]);
  }, 30_000);
});
