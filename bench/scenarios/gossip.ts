/**
 * 4. Gossip cost: three agents (dry-run, min_peers_agree = 1, crypto_key
 * set) probing the same 1,000 targets (999 loopback, 1 namespace host), at a
 * 1 s interval. Bytes each agent process sends on its TCP connections, from
 * the kernel's per-socket `bytes_sent` (`ss -tinp`, see lib/tcpbytes.ts):
 *
 * - steady state: over a window with no verdict change;
 * - per verdict change: the namespace host is toggled down/up; for each
 *   transition the excess over the steady rate, between an `ss` sample
 *   taken before the first agent's verdict and one taken after the last
 *   agent's verdict plus the relay delay, summed over the 3 agents and
 *   divided by the 3 local verdict changes it carried.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createNsLab } from '../../test/support/netns.js';
import { scratch, sleep, waitFor } from '../../test/support/kit.js';
import { LABS } from '../../test/support/labs.js';
import { freePort } from '../../test/support/net.js';
import { AgentProcess, clusterVerdict, configToml, isLocalVerdict, localVerdict, loopbackTargets } from '../lib/agent.js';
import { bytes, fmtSummary, goal, type RunContext, type ScenarioResult } from '../lib/report.js';
import { median, summarize } from '../lib/stats.js';
import { HEADER_BYTES_PER_SEGMENT, sentBetween, sentBy, snapshotSockets, type SentTotals } from '../lib/tcpbytes.js';

const INTERVAL_S = 1;
const THRESHOLD = 3;
const GOAL_BPS = 1000;
/** The gossip layer relays 100 ms after delivery; IDONTWANTs follow within ms. */
const AFTER_MS = 400;
/**
 * Steady state starts once the start-up turns (every target unknown → up)
 * are older than the freshness window, 3 × 10 s + interval = 31 s: until
 * then whole-state messages also carry each vote's turn time (a few bytes
 * per target, see src/gossip/codec.ts), a cost of the turn, not of the
 * steady state.
 */
const SETTLE_S = (quick: boolean): number => (quick ? 11 : 35);

interface Sample {
  readonly before: number;
  readonly after: number;
  readonly totals: readonly SentTotals[];
}

export async function runGossip(ctx: RunContext): Promise<ScenarioResult> {
  const started = Date.now();
  const windowS = ctx.quick ? 15 : 60;
  const toggles = ctx.quick ? 2 : 8;
  const names = ['a', 'b', 'c'];
  const dir = await scratch('bench-gossip');
  const lab = await createNsLab({ ...LABS['bench/gossip'], count: 1 });
  const agents: AgentProcess[] = [];
  const cleanup = async (): Promise<void> => {
    await Promise.all(agents.map((a) => a.stop()));
    if (ctx.logsDir) for (const a of agents) await a.saveLogs(ctx.logsDir, 'gossip');
    await lab.cleanup();
    await dir.cleanup();
  };
  const unregister = ctx.onCleanup(cleanup);
  try {
    const host = lab.hosts[0]!;
    const ips = [...loopbackTargets(999, 12), host.ip];
    const ports = await Promise.all(names.map(() => freePort()));
    const portSet = new Set(ports);
    for (const [i, n] of names.entries()) {
      const home = join(dir.dir, n);
      await mkdir(home);
      const file = await dir.write(
        `${n}/goavail.toml`,
        configToml({
          ips,
          interval: INTERVAL_S,
          failureThreshold: THRESHOLD,
          members: {
            localAddr: `127.0.0.1:${ports[i]}`,
            peers: ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`),
            minPeersAgree: 1,
            cryptoKey: 'bench-gossip-shared-secret-0123456789',
            keyFile: join(home, 'goavail.key'),
          },
        }),
      );
      agents.push(new AgentProcess(n, ['monitor', '--config-file', file], { cli: ctx.cli, cwd: home, env: { HOME: home } }));
    }
    ctx.log('gossip: 3 agents on 1,000 targets, waiting for the cluster');
    for (const a of agents) {
      await waitFor(`${a.name}: all up`, () => a.count(isLocalVerdict('up')) >= ips.length || !a.running, { timeoutMs: 120_000, everyMs: 100 });
      await a.waitForLog(clusterVerdict(host.ip, 'up'), 60_000);
    }
    // Past the start-up turns' freshness window (and so a few full-state rounds: the mesh is settled).
    await sleep(SETTLE_S(ctx.quick) * 1000);

    const totals = async (): Promise<Sample> => {
      const before = Date.now();
      const sockets = await snapshotSockets();
      const after = Date.now();
      return { before, after, totals: agents.map((a) => sentBy(sockets, a.pid, { ports: portSet })) };
    };

    /** Samples `totals()` every ~100 ms until `stop()`; `ss` costs ~5 ms of CPU per call. */
    const sampleSeries = (): { samples: Sample[]; stop(): Promise<void> } => {
      const samples: Sample[] = [];
      let on = true;
      const loop = (async () => {
        while (on) {
          samples.push(await totals());
          await sleep(100);
        }
      })();
      return {
        samples,
        stop: async () => {
          on = false;
          await loop;
        },
      };
    };

    ctx.log(`gossip: steady state, ${windowS} s`);
    const steadySeries = sampleSeries();
    await sleep(windowS * 1000);
    await steadySeries.stop();
    const series = steadySeries.samples;
    const s0 = series[0]!;
    const s1 = series[series.length - 1]!;
    const steadyS = (s1.before - s0.before) / 1000;
    const steady = agents.map((_, i) => sentBetween(s0.totals[i]!, s1.totals[i]!));
    const rates = steady.map((s) => s.bytes / steadyS);
    const wireRates = steady.map((s) => (s.bytes + s.segments * HEADER_BYTES_PER_SEGMENT) / steadyS);
    const connections = s1.totals.map((t) => t.keys.size);

    /** Median bytes agent `i` sends in a quiet window of `ms` (sliding over the steady series). */
    const quiet = (i: number, ms: number): number => {
      const values: number[] = [];
      let j = 0;
      for (let a = 0; a < series.length; a++) {
        if (j < a) j = a;
        while (j < series.length && series[j]!.before - series[a]!.before < ms) j++;
        if (j >= series.length) break;
        values.push(series[j]!.totals[i]!.bytes - series[a]!.totals[i]!.bytes);
      }
      return median(values);
    };

    // Verdict changes.
    const excess: number[][] = agents.map(() => []);
    const windows: number[] = [];
    let skipped = 0;
    const skipReasons = new Set<string>();
    for (let k = 0; k < 2 * toggles; k++) {
      const verdict = k % 2 === 0 ? 'down' : 'up';
      const marks = agents.map((a) => a.logs.length);
      const sampler = sampleSeries();
      await (verdict === 'down' ? host.down() : host.up());
      const lines = await Promise.all(agents.map((a, i) => a.waitForLog(localVerdict(host.ip, verdict), 30_000, marks[i])));
      const first = Math.min(...lines.map((l) => l.time));
      const last = Math.max(...lines.map((l) => l.time));
      await sleep(AFTER_MS + 500);
      await sampler.stop();
      const samples = sampler.samples;
      const from = [...samples].reverse().find((s) => s.after < first);
      const to = samples.find((s) => s.before >= last + AFTER_MS);
      if (!from || !to) {
        skipped++;
        skipReasons.add('no ss sample before the first or after the last verdict');
        continue;
      }
      try {
        const dtMs = to.before - from.before;
        const sent = agents.map((_, i) => sentBetween(from.totals[i]!, to.totals[i]!).bytes);
        sent.forEach((b, i) => excess[i]!.push(b - quiet(i, dtMs)));
        windows.push(dtMs);
      } catch (err) {
        skipped++; // a connection came or went: its counters are lost
        skipReasons.add(err instanceof Error ? err.message : String(err));
      }
      ctx.log(`gossip: transition ${k + 1}/${2 * toggles} (${verdict})`);
      await sleep(300 + Math.random() * 700);
    }
    // Each transition is one verdict change in each of the 3 agents; each
    // agent's median excess is robust to a full-state publish landing in a
    // window now and then, the sum of the medians is the cost of 3 changes.
    const perAgent = excess.map((e) => median(e));
    const perChange = perAgent.reduce((x, y) => x + y, 0) / agents.length;
    const fmtRate = (v: number): string => `${v.toFixed(0)} B/s`;
    return {
      id: 'gossip',
      title: '4. Gossip cost',
      setup: [
        `3 agent processes (\`monitor\`, dry-run), libp2p on 127.0.0.1, min_peers_agree = 1, crypto_key set, interval = ${INTERVAL_S} s, failure_threshold = ${THRESHOLD}; 1,000 targets each (999 loopback 127.12.x.y + 1 namespace host)`,
        `steady window ${windowS} s after the cluster agreed and ${SETTLE_S(ctx.quick)} s more; then the namespace host toggled down/up ${toggles} times (${2 * toggles} transitions)`,
      ],
      rows: [
        {
          metric: 'steady state, bytes/s sent per agent (TCP payload)',
          value: `${rates.map(fmtRate).join(', ')} (a, b, c)`,
          goal: '< 1 KB/s (1,000 B/s)',
          status: goal(Math.max(...rates) < GOAL_BPS),
        },
        { metric: 'steady state, incl. TCP/IP headers (52 B/segment)', value: `${wireRates.map(fmtRate).join(', ')}`, status: 'info' },
        {
          metric: 'bytes per verdict change (one agent, one IP)',
          value: `${bytes(perChange)} (median excess per agent over ${windows.length} transitions: ${perAgent.map((v) => bytes(v)).join(', ')}; windows ${fmtSummary(summarize(windows))}${skipped ? `; ${skipped} skipped` : ''})`,
          status: 'info',
        },
      ],
      notes: [
        "Method: `ss -tinp state established`, the kernel's per-connection `bytes_sent` (tcp_info), summed over each agent process's sockets whose local or remote port is an agent port; counters of a connection that closes are lost, so a window in which the set of connections changed is refused. No nftables/iptables on this machine to count per port; /proc/<pid>/io `wchar` would count log writes too.",
        `Established agent-to-agent connections per agent: ${connections.join(', ')}.${skipped ? ` Skipped transitions: ${[...skipReasons].join('; ')}.` : ''}`,
        "Per verdict change: each transition makes each of the 3 agents change its own verdict once (one delta publish each) and react to the 2 others (IDONTWANT, relays). `ss` is sampled every 100 ms; per agent, the bytes between the last sample before the first agent's verdict and the first sample ≥ 400 ms after the last one, minus the median of the same agent's quiet windows of the same length (sliding over the steady-state samples), is its excess; the sum of the agents' median excesses / 3 is the cost of one verdict change. Medians keep a periodic full-state publish that lands in a window from counting.",
      ],
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    unregister();
    await cleanup();
  }
}
