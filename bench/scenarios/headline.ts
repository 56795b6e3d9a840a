/**
 * 0. Headline: failover with the shipped defaults (issue 12).
 *
 * Three agent processes with the shipped goavail.toml timing (interval 2,
 * failure_threshold 3, timeout 1, and the rapid-recheck defaults) and
 * min_peers_agree = 1, gossiping over libp2p on 127.0.0.1, probing three
 * namespace hosts by ICMP and writing to the Cloudflare stand-in. One host
 * at a time goes silent at a random moment (icmp_echo_ignore_all) and comes
 * back; outage start → the delete reaching the API, and outage end → the
 * create. Then the same cluster with rechecks off (recheck_interval = 0),
 * in the same run, for the ratio.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { startFakeCloudflare, type FakeCall } from '../../test/support/fake-cloudflare.js';
import { createNsLab, labSubnet, type NsLab } from '../../test/support/netns.js';
import { scratch, sleep, waitFor } from '../../test/support/kit.js';
import { LABS } from '../../test/support/labs.js';
import { freePort } from '../../test/support/net.js';
import { AgentProcess, clusterVerdict, configToml } from '../lib/agent.js';
import { fmtSummary, goal, type RunContext, type ScenarioResult } from '../lib/report.js';
import { summarize } from '../lib/stats.js';

const ZONE = 'example.com';
const WWW = 'www.example.com';
const TOKEN = 'bench-token';
/** The shipped interval (s), for the random pauses. */
const SHIPPED_INTERVAL_S = 2;

export const isDeleteOf = (c: FakeCall, recordId: string): boolean => {
  if (c.method === 'DELETE') return c.path.endsWith(`/${recordId}`);
  if (c.method !== 'POST' || !c.path.endsWith('/dns_records/batch')) return false;
  const deletes = (c.body as { deletes?: Array<{ id?: string }> } | undefined)?.deletes ?? [];
  return deletes.some((d) => d.id === recordId);
};

export const isCreateOf = (c: FakeCall, ip: string): boolean => {
  if (c.method !== 'POST') return false;
  if (c.path.endsWith('/dns_records')) return (c.body as { content?: string } | undefined)?.content === ip;
  if (!c.path.endsWith('/dns_records/batch')) return false;
  const posts = (c.body as { posts?: Array<{ content?: string }> } | undefined)?.posts ?? [];
  return posts.some((p) => p.content === ip);
};

export const isMutating = (c: FakeCall): boolean => c.method !== 'GET';

export interface ShippedCluster {
  readonly agents: AgentProcess[];
  readonly cf: Awaited<ReturnType<typeof startFakeCloudflare>>;
  readonly ips: string[];
  /** Each agent's status listener (`host:port`), when asked for. */
  readonly statusAddrs: string[];
  stop(): Promise<void>;
}

/** Starts 3 agents on the shipped timing over `lab`'s hosts and waits until they agree every host is up. */
export async function startShippedCluster(
  ctx: RunContext,
  lab: NsLab,
  label: string,
  opts: { recheckInterval?: number; status?: boolean } = {},
): Promise<ShippedCluster> {
  const names = ['a', 'b', 'c'];
  const dir = await scratch(`bench-${label}`);
  const cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
  const agents: AgentProcess[] = [];
  const ips = lab.hosts.map((h) => h.ip);
  for (const ip of ips) cf.addRecord(ZONE, { type: 'A', name: WWW, content: ip });
  const ports = await Promise.all(names.map(() => freePort()));
  const statusAddrs = opts.status ? await Promise.all(names.map(async () => `127.0.0.1:${await freePort()}`)) : [];
  for (const [i, n] of names.entries()) {
    const home = join(dir.dir, n);
    await mkdir(home);
    const file = await dir.write(
      `${n}/goavail.toml`,
      configToml({
        ips,
        shippedTiming: true,
        interval: SHIPPED_INTERVAL_S,
        failureThreshold: 3,
        ...(opts.recheckInterval !== undefined ? { recheckInterval: opts.recheckInterval } : {}),
        ...(opts.status ? { statusAddr: statusAddrs[i]! } : {}),
        members: {
          localAddr: `127.0.0.1:${ports[i]}`,
          peers: ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`),
          minPeersAgree: 1,
          cryptoKey: 'bench-headline-shared-secret-0123456789',
          keyFile: join(home, 'goavail.key'),
        },
      }),
    );
    agents.push(
      new AgentProcess(n, ['monitor', '--config-file', file, '--no-dry-run'], {
        cli: ctx.cli,
        cwd: home,
        env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL, HOME: home },
      }),
    );
  }
  const stop = async (): Promise<void> => {
    await Promise.all(
      agents.splice(0).map(async (a) => {
        await a.stop();
        if (ctx.logsDir) await a.saveLogs(ctx.logsDir, label);
      }),
    );
    await cf.close();
    await dir.cleanup();
  };
  try {
    ctx.log(`${label}: 3 agents up, waiting for the cluster to agree on ${ips.length} hosts`);
    for (const a of agents) for (const ip of ips) await a.waitForLog(clusterVerdict(ip, 'up'), 60_000);
    await sleep(2500);
  } catch (err) {
    await stop();
    throw err;
  }
  return { agents, cf, ips, statusAddrs, stop };
}

interface OutageRun {
  readonly gone: number[];
  readonly back: number[];
  readonly writes: number;
  readonly transitions: number;
}

async function outages(ctx: RunContext, lab: NsLab, label: string, cycles: number, recheckInterval?: number): Promise<OutageRun> {
  const c = await startShippedCluster(ctx, lab, label, recheckInterval !== undefined ? { recheckInterval } : {});
  const unregister = ctx.onCleanup(() => c.stop());
  try {
    const mutationsBefore = c.cf.calls.filter(isMutating).length;
    const gone: number[] = [];
    const back: number[] = [];
    const transition = async (what: string, toggle: () => Promise<void>, isWrite: (x: FakeCall) => boolean): Promise<number> => {
      const mark = c.cf.calls.length;
      const t0 = Date.now();
      await toggle();
      const call = await waitFor(what, () => c.cf.calls.slice(mark).find(isWrite), { timeoutMs: 30_000, everyMs: 5 });
      return call.at - t0;
    };
    for (let k = 0; k < cycles; k++) {
      const host = lab.hosts[k % lab.hosts.length]!;
      const rec = c.cf.records(ZONE).find((r) => r.name === WWW && r.content === host.ip);
      if (!rec) throw new Error(`no record for ${host.ip} before cycle ${k}`);
      // A random pause puts the outage at a random moment of the agents' rounds.
      await sleep(Math.random() * SHIPPED_INTERVAL_S * 1000);
      gone.push(
        await transition(
          `delete of ${host.ip}`,
          () => host.down(),
          (x) => isDeleteOf(x, rec.id),
        ),
      );
      await sleep(500 + Math.random() * SHIPPED_INTERVAL_S * 1000);
      back.push(
        await transition(
          `create of ${host.ip}`,
          () => host.up(),
          (x) => isCreateOf(x, host.ip),
        ),
      );
      // Let every agent count the host up again before the next outage of any host.
      await sleep(1500);
      ctx.log(`${label}: outage ${k + 1}/${cycles}: gone after ${gone.at(-1)} ms, back after ${back.at(-1)} ms`);
    }
    // Past the writer grace period (max(3 × interval, 3 s)): a second writer would show up now.
    await sleep(7000);
    const writes = c.cf.calls.filter(isMutating).slice(mutationsBefore).length;
    return { gone, back, writes, transitions: 2 * cycles };
  } finally {
    unregister();
    await c.stop();
  }
}

export async function runHeadline(ctx: RunContext): Promise<ScenarioResult> {
  const started = Date.now();
  const cycles = ctx.quick ? 6 : 20;
  const lab = await createNsLab({ ...LABS['bench/failover'], count: 3 });
  const unregister = ctx.onCleanup(() => lab.cleanup());
  try {
    const on = await outages(ctx, lab, 'headline', cycles);
    const off = await outages(ctx, lab, 'headline-off', cycles, 0);
    const gone = summarize(on.gone);
    const back = summarize(on.back);
    const goneOff = summarize(off.gone);
    const backOff = summarize(off.back);
    return {
      id: 'headline',
      title: '0. Headline: failover with the shipped defaults',
      setup: [
        '3 agent processes (`monitor --no-dry-run`), libp2p on 127.0.0.1, min_peers_agree = 1, the shipped timing: interval 2 s, timeout 1 s, failure_threshold = recovery_threshold = 3, and the rapid-recheck defaults (suspect_after 0.1 s, recheck_interval 0.2 s, max_recheck_rate 200); crypto_key set',
        `3 namespace hosts (${labSubnet(LABS['bench/failover'].subnetIndex)}.0/24), ICMP probes; the Cloudflare stand-in on 127.0.0.1 holds one A record per host`,
        `${cycles} outages per cluster, one host at a time, each after a random pause of 0–2 s (a random phase of the rounds): \`icmp_echo_ignore_all=1\`, wait for the delete, random pause, \`=0\`, wait for the create`,
        'Then the same cluster with `recheck_interval = 0` (rechecks, suspicion and suspect gossip off; phases still spread), in the same run',
      ],
      rows: [
        {
          metric: 'outage start → delete reaches API',
          value: fmtSummary(gone),
          goal: 'median ≤ 2000 ms, max ≤ 3000 ms',
          status: goal(gone.median <= 2000 && gone.max <= 3000),
        },
        { metric: 'outage end → create reaches API', value: fmtSummary(back), goal: 'max ≤ 3500 ms', status: goal(back.max <= 3500) },
        {
          metric: 'DNS writes per transition',
          value: `${on.writes} write requests for ${on.transitions} transitions`,
          goal: 'exactly 1',
          status: goal(on.writes === on.transitions),
        },
        { metric: 'rechecks off: outage start → delete', value: fmtSummary(goneOff), status: 'info' },
        { metric: 'rechecks off: outage end → create', value: fmtSummary(backOff), status: 'info' },
        {
          metric: 'ratio rechecks off / on (median)',
          value: `delete ×${(goneOff.median / gone.median).toFixed(2)}, create ×${(backOff.median / back.median).toFixed(2)}`,
          status: 'info',
        },
        { metric: 'rechecks off: DNS writes', value: `${off.writes} write requests for ${off.transitions} transitions`, status: 'info' },
      ],
      notes: [
        "Outage start is taken just before the `ip netns exec … sysctl` command that silences the host, so the figures include it; the API time is the stand-in's receive time (same clock).",
      ],
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    unregister();
    await lab.cleanup();
  }
}
