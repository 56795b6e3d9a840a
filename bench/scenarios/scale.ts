/**
 * 2. Probing at scale: the real CLI (`monitor`, dry-run, no --debug) on
 * 100, 1,000 and 10,000 loopback targets at a 1 s interval. CPU from
 * /proc/<pid>/stat over a steady window after every target is up, peak RSS
 * (VmHWM), and every local verdict of down over the whole run
 * (each is a false down: loopback always answers). Then fping on the same
 * list, same period and timeout, for the CPU-per-probe ratio.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { scratch, sleep, waitFor } from '../../test/support/kit.js';
import { AgentProcess, clusterVerdictOf, configToml, isLocalVerdict, localVerdictOf, loopbackTargets } from '../lib/agent.js';
import { runFping, type FpingRun } from '../lib/fping.js';
import { cpuSeconds, memory } from '../lib/proc.js';
import { goal, type Row, type RunContext, type ScenarioResult } from '../lib/report.js';

const INTERVAL_S = 1;
const TIMEOUT_MS = 500; // the default: min(1 s, interval / 2)
const THRESHOLD = 3;
const RSS_GOAL = 200e6;
const RATIO_GOAL = 2;

export const mb = (b: number): string => `${(b / 1e6).toFixed(0)} MB`;
export const us = (s: number): string => `${(s * 1e6).toFixed(1)} µs`;
export const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

export interface ProbeLoad {
  readonly targets: number;
  readonly windowS: number;
  readonly cpuS: number;
  readonly peakRss: number;
  readonly rss: number;
  /** Targets with a first verdict (up or down) when the window started. */
  readonly settled: number;
  /** Spawn → every target had its first verdict (or the wait gave up). */
  readonly settledAfterMs: number;
  readonly errors: number;
}

/**
 * Runs the CLI on `ips` until every target has its first verdict (or
 * `maxWaitS` passed: the window is then measured anyway, and the caller
 * reports how many had one), then measures a steady window. Returns the
 * agent's log for the caller's counts.
 */
export async function measureAgent(
  ctx: RunContext,
  name: string,
  dir: { write(name: string, text: string): Promise<string>; dir: string },
  ips: readonly string[],
  opts: { windowS: number; maxWaitS: number; settleMs?: number },
): Promise<{ load: ProbeLoad; agent: AgentProcess }> {
  const file = await dir.write(`${name}.toml`, configToml({ ips, interval: INTERVAL_S, failureThreshold: THRESHOLD }));
  const agent = new AgentProcess(name, ['monitor', '--config-file', file], { cli: ctx.cli, cwd: dir.dir, env: { HOME: dir.dir } });
  const unregister = ctx.onCleanup(() => agent.stop());
  try {
    // Settled: every target has a local verdict and the cluster verdict that
    // follows it (single node: at once); the work they trigger (quorum steps,
    // the reconcile) comes right after, so the window starts a few seconds later.
    const local = new Set<string>();
    const cluster = new Set<string>();
    let scanned = 0;
    const settled = (): number => {
      for (; scanned < agent.logs.length; scanned++) {
        const line = agent.logs[scanned]!;
        const l = localVerdictOf(line);
        if (l && (l.to === 'up' || l.to === 'down')) local.add(l.ip);
        const c = clusterVerdictOf(line);
        if (c && (c.to === 'up' || c.to === 'down')) cluster.add(c.ip);
      }
      return Math.min(local.size, cluster.size);
    };
    await waitFor(`${name}: first verdicts`, () => settled() >= ips.length || !agent.running, { timeoutMs: opts.maxWaitS * 1000, everyMs: 100 }).catch(
      () => undefined,
    );
    if (!agent.running) throw new Error(`${name} exited early:\n${agent.tail()}`);
    const settledAfterMs = Date.now() - agent.spawnedAt;
    const settledCount = settled();
    if (settledCount < ips.length) ctx.log(`${name}: only ${settledCount} of ${ips.length} targets had a verdict after ${opts.maxWaitS} s; measuring anyway`);
    await sleep(opts.settleMs ?? 5000);
    const c0 = cpuSeconds(agent.pid);
    const w0 = Date.now();
    await sleep(opts.windowS * 1000);
    const c1 = cpuSeconds(agent.pid);
    const w1 = Date.now();
    const mem = memory(agent.pid);
    if (!agent.running) throw new Error(`${name} exited during the window:\n${agent.tail()}`);
    const load: ProbeLoad = {
      targets: ips.length,
      windowS: (w1 - w0) / 1000,
      cpuS: c1 - c0,
      peakRss: mem.peak,
      rss: mem.rss,
      settled: settledCount,
      settledAfterMs,
      errors: agent.count((l) => l.level >= 50),
    };
    return { load, agent };
  } finally {
    await agent.stop();
    unregister();
  }
}

export async function runScale(ctx: RunContext): Promise<ScenarioResult> {
  const started = Date.now();
  const sizes = [100, 1_000, 10_000];
  const windowS = ctx.quick ? 10 : 60;
  const fpingRounds = ctx.quick ? 3 : 15;
  const maxWaitS = ctx.quick ? 90 : 150;
  const dir = await scratch('bench-scale');
  const unregister = ctx.onCleanup(() => dir.cleanup());
  const rows: Row[] = [];
  const notes: string[] = [];
  try {
    for (const n of sizes) {
      const ips = loopbackTargets(n, 10);
      ctx.log(`scale: ${n} targets, ${windowS} s window`);
      const { load, agent } = await measureAgent(ctx, `scale-${n}`, dir, ips, { windowS, maxWaitS });
      const downs = agent.count(isLocalVerdict('down'));
      const ups = agent.count(isLocalVerdict('up'));
      const rounds = load.windowS / INTERVAL_S;
      const agentPerProbe = load.cpuS / (n * rounds);
      const list = join(dir.dir, `targets-${n}.txt`);
      await writeFile(list, `${ips.join('\n')}\n`);
      ctx.log(`scale: fping on ${n} targets, ${fpingRounds} rounds`);
      let fp: FpingRun | undefined;
      let fpError: string | undefined;
      try {
        fp = await runFping(list, n, fpingRounds, INTERVAL_S * 1000, TIMEOUT_MS);
        if (fp.replies < 0.99 * n * fpingRounds) fpError = `fping got only ${fp.replies} of ${n * fpingRounds} replies on loopback`;
      } catch (err) {
        fpError = err instanceof Error ? err.message : String(err);
      }
      const fpingPerProbe = fp && !fpError ? fp.cpuSeconds / (n * fpingRounds) : Number.NaN;
      const ratio = agentPerProbe / fpingPerProbe;
      const label = n.toLocaleString('en-US');
      rows.push(
        {
          metric: `${label} targets: CPU share of one core`,
          value: `${pct(load.cpuS / load.windowS)} (${load.cpuS.toFixed(2)} s CPU in ${load.windowS.toFixed(0)} s)`,
          status: 'info',
        },
        {
          metric: `${label} targets: CPU per probe, goavail vs fping`,
          value: fpError ? `${us(agentPerProbe)}; fping failed: ${fpError}` : `${us(agentPerProbe)} vs ${us(fpingPerProbe)}: ratio ${ratio.toFixed(2)}`,
          goal: `≤ ${RATIO_GOAL}×`,
          status: goal(!fpError && ratio <= RATIO_GOAL),
        },
        {
          metric: `${label} targets: every target judged before the window`,
          value: `${load.settled} of ${n} had a local and a cluster verdict ${(load.settledAfterMs / 1000).toFixed(1)} s after spawn`,
          goal: `all, within ${maxWaitS} s`,
          status: goal(load.settled === n),
        },
        { metric: `${label} targets: RSS peak (now)`, value: `${mb(load.peakRss)} (${mb(load.rss)})`, goal: '< 200 MB', status: goal(load.peakRss < RSS_GOAL) },
        {
          metric: `${label} targets: false "down" verdicts`,
          value: `${downs} (over ${((Date.now() - agent.spawnedAt) / 1000).toFixed(0)} s; ${ups} up verdicts for ${n} targets; ${load.errors} error lines)`,
          goal: '0',
          status: goal(downs === 0),
        },
      );
      if (fp)
        notes.push(
          `${label} targets: fping \`${fp.command.replaceAll(`${dir.dir}/`, '')}\`: ${fp.replies} replies, ${fp.lost} lost, ${fp.cpuSeconds.toFixed(3)} s CPU in ${fp.wallSeconds.toFixed(1)} s.`,
        );
    }
  } finally {
    unregister();
    await dir.cleanup();
  }
  return {
    id: 'scale',
    title: '2. Probing at scale',
    setup: [
      `one agent (\`monitor\`, dry-run, no --debug, no peers), ICMP, interval = ${INTERVAL_S} s, timeout = ${TIMEOUT_MS} ms (default), failure_threshold = ${THRESHOLD}; targets 127.10.x.y (loopback)`,
      `CPU window: ${windowS} s, starting 5 s after every target had its first local and cluster verdict (at most ${maxWaitS} s after spawn); fping: ${fpingRounds} rounds on the same list right after`,
    ],
    rows,
    notes: [
      "CPU per probe = (utime + stime over the window) / (targets × window / interval); it includes everything the agent does besides probing (detector, self-check, timers). fping: children user + system from bash `times` over its whole run (start-up included) / (targets × rounds). Both run one after the other, never at once: every raw ICMP socket sees every echo reply, so running them together would make each pay for the other's replies.",
      'False downs are counted from spawn to stop, start-up included. CPU per probe counts the probes the interval schedules; an agent that falls behind sends fewer, so its real cost per probe sent is higher still.',
      ...notes,
    ],
    seconds: (Date.now() - started) / 1000,
  };
}
