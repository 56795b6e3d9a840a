/**
 * 1. Failover latency: three agent processes (min_peers_agree = 1) gossip
 * over libp2p on 127.0.0.1, probe three network-namespace hosts by ICMP and
 * write to the local Cloudflare stand-in (or, `latency-route53`, the Route 53
 * stand-in through the real AWS SDK). One host at a time stops
 * answering pings (icmp_echo_ignore_all) and comes back, `cycles` times.
 *
 * After the threshold: from the moment the quorum becomes possible (the
 * (min_peers_agree+1)-th agent logs `local verdict: X is down`, pino `time`)
 * to the moment the delete reaches the API (the stand-in's call log `at`);
 * the same for the restore. The clocks are one: same machine.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { awsEnv } from '../../test/support/aws-env.js';
import { startFakeCloudflare, type FakeCall } from '../../test/support/fake-cloudflare.js';
import { startFakeRoute53, type FakeRoute53Call } from '../../test/support/fake-route53.js';
import { createNsLab, labSubnet } from '../../test/support/netns.js';
import { scratch, sleep, waitFor } from '../../test/support/kit.js';
import { LABS } from '../../test/support/labs.js';
import { freePort } from '../../test/support/net.js';
import { AgentProcess, clusterVerdict, configToml, localVerdict } from '../lib/agent.js';
import { fmtSummary, goal, ms, type RunContext, type ScenarioResult } from '../lib/report.js';
import { summarize } from '../lib/stats.js';

const ZONE = 'example.com';
const WWW = 'www.example.com';
const TOKEN = 'bench-token';
const INTERVAL_S = 0.5;
const TIMEOUT_S = 0.25;
const THRESHOLD = 3;
const MIN_PEERS_AGREE = 1;
const GOAL_MS = 100;

function isDeleteOf(c: FakeCall, recordId: string): boolean {
  if (c.method === 'DELETE') return c.path.endsWith(`/${recordId}`);
  if (c.method !== 'POST' || !c.path.endsWith('/dns_records/batch')) return false;
  const deletes = (c.body as { deletes?: Array<{ id?: string }> } | undefined)?.deletes ?? [];
  return deletes.some((d) => d.id === recordId);
}

function isCreateOf(c: FakeCall, ip: string): boolean {
  if (c.method !== 'POST') return false;
  if (c.path.endsWith('/dns_records')) return (c.body as { content?: string } | undefined)?.content === ip;
  if (!c.path.endsWith('/dns_records/batch')) return false;
  const posts = (c.body as { posts?: Array<{ content?: string }> } | undefined)?.posts ?? [];
  return posts.some((p) => p.content === ip);
}

/** A call the stand-in logged: when it arrived, how it was answered, whether it writes. */
interface ApiCall {
  readonly at: number;
  readonly status: number;
  readonly method: string;
}

/**
 * The DNS API the agents write to: a stand-in on 127.0.0.1, seeded with one
 * value per host, and how to spot the write that removes or restores one.
 */
interface DnsBackend<C extends ApiCall> {
  readonly calls: C[];
  readonly env: Record<string, string>;
  readonly provider: 'cloudflare' | 'route53';
  /** The write that takes `ip` out (after the value was seen in DNS). */
  deleteMatcher(ip: string): (c: C) => boolean;
  isCreateOf(c: C, ip: string): boolean;
  isMutating(c: C): boolean;
  close(): Promise<void>;
}

async function cloudflareBackend(ips: readonly string[]): Promise<DnsBackend<FakeCall>> {
  const cf = await startFakeCloudflare({ zones: [ZONE], token: TOKEN });
  for (const ip of ips) cf.addRecord(ZONE, { type: 'A', name: WWW, content: ip });
  return {
    calls: cf.calls,
    env: { CLOUDFLARE_API_TOKEN: TOKEN, CLOUDFLARE_BASE_URL: cf.baseURL },
    provider: 'cloudflare',
    deleteMatcher: (ip) => {
      const rec = cf.records(ZONE).find((r) => r.name === WWW && r.content === ip);
      if (!rec) throw new Error(`no record for ${ip}`);
      return (c) => isDeleteOf(c, rec.id);
    },
    isCreateOf,
    isMutating: (c) => c.method !== 'GET',
    close: () => cf.close(),
  };
}

/** The values of the DELETE and CREATE of one ChangeResourceRecordSets body (one set per change here). */
function setValues(c: FakeRoute53Call, action: 'DELETE' | 'CREATE'): string[] {
  type Body = {
    ChangeResourceRecordSetsRequest?: {
      ChangeBatch?: { Changes?: { Change?: { Action?: string; ResourceRecordSet?: { ResourceRecords?: { ResourceRecord?: { Value?: string }[] } } }[] } };
    };
  };
  const changes = (c.body as Body | undefined)?.ChangeResourceRecordSetsRequest?.ChangeBatch?.Changes?.Change ?? [];
  return changes.filter((x) => x.Action === action).flatMap((x) => (x.ResourceRecordSet?.ResourceRecords?.ResourceRecord ?? []).map((r) => String(r.Value)));
}

async function route53Backend(ips: readonly string[]): Promise<DnsBackend<FakeRoute53Call>> {
  const r53 = await startFakeRoute53({ zones: [ZONE] });
  // The original goavail's shape: one weighted set named after the short hostname.
  r53.putSet(r53.zoneId(ZONE), { Name: WWW, Type: 'A', SetIdentifier: 'www', Weight: 0, TTL: 60, ResourceRecords: ips.map((Value) => ({ Value })) });
  const aws = await awsEnv(r53.url);
  const isChange = (c: FakeRoute53Call): boolean => c.method === 'POST' && c.path.endsWith('/rrset');
  return {
    calls: r53.calls,
    env: aws.env,
    provider: 'route53',
    deleteMatcher: (ip) => (c) => isChange(c) && setValues(c, 'DELETE').includes(ip) && !setValues(c, 'CREATE').includes(ip),
    isCreateOf: (c, ip) => isChange(c) && setValues(c, 'CREATE').includes(ip) && !setValues(c, 'DELETE').includes(ip),
    isMutating: isChange,
    close: async () => {
      await r53.close();
      await aws.dir.cleanup();
    },
  };
}

export function runLatency(ctx: RunContext): Promise<ScenarioResult> {
  return runLatencyWith(ctx, 'bench/latency', cloudflareBackend);
}

/** The same scenario with the Route 53 provider and its stand-in (threshold → ChangeResourceRecordSets). */
export function runLatencyRoute53(ctx: RunContext): Promise<ScenarioResult> {
  return runLatencyWith(ctx, 'bench/latency-route53', route53Backend);
}

async function runLatencyWith<C extends ApiCall>(
  ctx: RunContext,
  slot: 'bench/latency' | 'bench/latency-route53',
  backend: (ips: readonly string[]) => Promise<DnsBackend<C>>,
): Promise<ScenarioResult> {
  const started = Date.now();
  const cycles = ctx.quick ? 4 : 20;
  const names = ['a', 'b', 'c'];
  const id = slot === 'bench/latency' ? 'latency' : 'latency-route53';
  const dir = await scratch(`bench-${id}`);
  const lab = await createNsLab({ ...LABS[slot], count: 3 });
  const ips = lab.hosts.map((h) => h.ip);
  let api: DnsBackend<C> | undefined;
  const agents: AgentProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.stop()));
    if (ctx.logsDir) for (const a of agents) await a.saveLogs(ctx.logsDir, id);
    await api?.close();
    await lab.cleanup();
    await dir.cleanup();
  };
  const unregister = ctx.onCleanup(cleanup);
  try {
    api = await backend(ips);
    const cf = api;
    const ports = await Promise.all(names.map(() => freePort()));
    for (const [i, n] of names.entries()) {
      const home = join(dir.dir, n);
      await mkdir(home);
      const file = await dir.write(
        `${n}/goavail.toml`,
        configToml({
          ips,
          interval: INTERVAL_S,
          timeout: TIMEOUT_S,
          failureThreshold: THRESHOLD,
          provider: cf.provider,
          members: {
            localAddr: `127.0.0.1:${ports[i]}`,
            peers: ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`),
            minPeersAgree: MIN_PEERS_AGREE,
            cryptoKey: 'bench-latency-shared-secret-0123456789',
            keyFile: join(home, 'goavail.key'),
          },
        }),
      );
      agents.push(
        new AgentProcess(n, ['monitor', '--config-file', file, '--no-dry-run'], {
          cli: ctx.cli,
          cwd: home,
          env: { ...cf.env, HOME: home },
        }),
      );
    }
    ctx.log(`${id}: 3 agents up, waiting for the cluster to agree on ${ips.length} hosts`);
    for (const a of agents) for (const ip of ips) await a.waitForLog(clusterVerdict(ip, 'up'), 60_000);
    await sleep(1000);
    const mutationsBefore = cf.calls.filter((c) => cf.isMutating(c)).length;

    const afterDown: number[] = [];
    const afterDownFirst: number[] = [];
    const outageToGone: number[] = [];
    const afterUp: number[] = [];
    const afterUpFirst: number[] = [];
    const outageEndToBack: number[] = [];
    const toggleMs: number[] = [];
    const slow: string[] = [];

    const transition = async (ip: string, verdict: 'down' | 'up', toggle: () => Promise<void>, isWrite: (c: C) => boolean) => {
      const marks = agents.map((a) => a.logs.length);
      const callMark = cf.calls.length;
      const t0 = Date.now();
      await toggle();
      toggleMs.push(Date.now() - t0);
      const call = await waitFor(`${verdict === 'down' ? 'delete' : 'create'} of ${ip}`, () => cf.calls.slice(callMark).find(isWrite), {
        timeoutMs: 30_000,
        everyMs: 5,
      });
      const times = (await Promise.all(agents.map((a, i) => a.waitForLog(localVerdict(ip, verdict), 30_000, marks[i]))))
        .map((l) => l.time)
        .sort((x, y) => x - y);
      const afterThreshold = call.at - times[MIN_PEERS_AGREE]!;
      if (afterThreshold > GOAL_MS) {
        slow.push(`${verdict} of ${ip}: ${afterThreshold} ms after the threshold; local verdicts at +${times.map((t) => t - times[0]!).join('/+')} ms`);
      }
      return { afterThreshold, afterFirst: call.at - times[0]!, fromToggle: call.at - t0 };
    };

    for (let k = 0; k < cycles; k++) {
      const host = lab.hosts[k % lab.hosts.length]!;
      const isDelete = cf.deleteMatcher(host.ip);
      const d = await transition(
        host.ip,
        'down',
        () => host.down(),
        (c) => isDelete(c),
      );
      afterDown.push(d.afterThreshold);
      afterDownFirst.push(d.afterFirst);
      outageToGone.push(d.fromToggle);
      // A random pause de-phases the next toggle from the agents' probe rounds.
      await sleep(200 + Math.random() * INTERVAL_S * 1000);
      const u = await transition(
        host.ip,
        'up',
        () => host.up(),
        (c) => cf.isCreateOf(c, host.ip),
      );
      afterUp.push(u.afterThreshold);
      afterUpFirst.push(u.afterFirst);
      outageEndToBack.push(u.fromToggle);
      await sleep(200 + Math.random() * INTERVAL_S * 1000);
      ctx.log(`${id}: cycle ${k + 1}/${cycles}: delete ${d.afterThreshold} ms, restore ${u.afterThreshold} ms after the threshold`);
    }
    // Past the writer grace period: a second writer would show up now.
    await sleep(Math.max(3 * INTERVAL_S * 1000, 3000) + 1000);
    const writeCalls = cf.calls.filter((c) => cf.isMutating(c)).slice(mutationsBefore);
    const writes = writeCalls.length;
    const failedWrites = writeCalls.filter((c) => c.status >= 400).length;

    const down = summarize(afterDown);
    const up = summarize(afterUp);
    const gone = summarize(outageToGone);
    const back = summarize(outageEndToBack);
    const intervalMs = INTERVAL_S * 1000;
    const floorDown = THRESHOLD * intervalMs + TIMEOUT_S * 1000;
    const floorUp = THRESHOLD * intervalMs;
    return {
      id,
      title: cf.provider === 'route53' ? '1b. Failover latency, Route 53' : '1. Failover latency',
      setup: [
        `3 agent processes (\`monitor --no-dry-run\`), libp2p on 127.0.0.1, min_peers_agree = ${MIN_PEERS_AGREE}, failure_threshold = recovery_threshold = ${THRESHOLD}, interval = ${INTERVAL_S} s, timeout = ${TIMEOUT_S} s, crypto_key set`,
        cf.provider === 'route53'
          ? `3 namespace hosts (${labSubnet(LABS[slot].subnetIndex)}.0/24 veth pairs), ICMP probes; the Route 53 stand-in (test/support/fake-route53.ts) on 127.0.0.1, the real AWS SDK, holds one weighted set (the original's shape) with one value per host; a write is one ChangeResourceRecordSets (DELETE + CREATE of the set)`
          : `3 namespace hosts (${labSubnet(LABS[slot].subnetIndex)}.0/24 veth pairs), ICMP probes; the Cloudflare stand-in (test/support/fake-cloudflare.ts) on 127.0.0.1 holds one A record per host`,
        `${cycles} cycles, one host at a time: \`icmp_echo_ignore_all=1\` (down), wait for the delete and all 3 local verdicts, random pause, \`=0\` (up), wait for the create`,
      ],
      rows: [
        { metric: 'threshold → delete reaches API', value: fmtSummary(down), goal: `p99 < ${GOAL_MS} ms`, status: goal(down.p99 < GOAL_MS) },
        { metric: 'threshold → create reaches API (restore)', value: fmtSummary(up), goal: `p99 < ${GOAL_MS} ms`, status: goal(up.p99 < GOAL_MS) },
        {
          metric: "first agent's threshold → delete (includes waiting for the peer's own probes)",
          value: fmtSummary(summarize(afterDownFirst)),
          status: 'info',
        },
        { metric: "first agent's threshold → create", value: fmtSummary(summarize(afterUpFirst)), status: 'info' },
        {
          metric: 'outage start → record gone',
          value: fmtSummary(gone),
          goal: `≤ floor ${floorDown} ms + ${GOAL_MS} ms`,
          status: goal(gone.p99 <= floorDown + GOAL_MS),
        },
        {
          metric: 'outage end → record back',
          value: fmtSummary(back),
          goal: `≤ floor ${floorUp} ms + ${GOAL_MS} ms`,
          status: goal(back.p99 <= floorUp + GOAL_MS),
        },
        {
          metric: 'DNS writes per transition',
          value: `${writes} write requests for ${2 * cycles} transitions (${failedWrites} refused by the API)`,
          goal: 'exactly 1',
          status: goal(writes === 2 * cycles),
        },
      ],
      notes: [
        ...(slow.length > 0 ? [`Transitions over ${GOAL_MS} ms after the threshold: ${slow.join('; ')}.`] : []),
        `"threshold" is the moment the quorum became possible: the ${MIN_PEERS_AGREE + 1}nd of the 3 agents to log \`local verdict: X is down\` (its failure_threshold-th miss; pino \`time\`). It includes gossip to the writer, its quorum step, the reconcile's record read (GET) and the batch request. "First agent's threshold" adds the wait for a peer's own probes to reach the threshold (up to one interval: the agents' rounds are not in phase).`,
        `Floor = failure_threshold × interval + timeout = ${floorDown} ms (restore: recovery_threshold × interval = ${floorUp} ms): the slowest a single agent can detect the change, when the toggle lands just after a round's probes went out; the fastest is one interval less. Outage start is taken before the \`ip netns exec … sysctl\` command (median ${ms(summarize(toggleMs).median)}), so these figures include it.`,
      ],
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    unregister();
    await cleanup();
  }
}
