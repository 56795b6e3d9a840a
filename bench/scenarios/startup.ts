/**
 * 5. Start-up: three agent processes spawned at once (dry-run, --debug for
 * the per-probe lines, 3 loopback targets, min_peers_agree = 1). From the
 * moment of spawn() to each agent's 'agent started', its first probe round
 * (first `probe` debug line: the round's results), all its peers connected
 * (its last 'connected to peer' line; the gossip layer logs one per
 * configured peer when its own dial succeeds) and its first `cluster
 * verdict` line (by its fields, see lib/agent.ts).
 */
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { scratch, sleep } from '../../test/support/kit.js';
import { freePort } from '../../test/support/net.js';
import { AgentProcess, clusterVerdictOf, configToml, isMsg, loopbackTargets } from '../lib/agent.js';
import { fmtRuns, ms, type RunContext, type ScenarioResult } from '../lib/report.js';
import { summarize } from '../lib/stats.js';

const INTERVAL_S = 0.5;
const TIMEOUT_S = 0.25;
const THRESHOLD = 3;

export async function runStartup(ctx: RunContext): Promise<ScenarioResult> {
  const started = Date.now();
  const runs = ctx.quick ? 2 : 7;
  const names = ['a', 'b', 'c'];
  const ips = loopbackTargets(3, 13);
  const dir = await scratch('bench-startup');
  let agents: AgentProcess[] = [];
  const unregister = ctx.onCleanup(async () => {
    await Promise.all(agents.map((a) => a.stop()));
    await dir.cleanup();
  });
  const toStarted: number[] = [];
  const toFirstRound: number[] = [];
  const toConnected: number[] = [];
  const toCluster: number[] = [];
  const bareNode: number[] = [];
  try {
    for (let r = 0; r < runs; r++) {
      const ports = await Promise.all(names.map(() => freePort()));
      const files: string[] = [];
      for (const [i, n] of names.entries()) {
        const home = join(dir.dir, `${r}-${n}`);
        await mkdir(home);
        files.push(
          await dir.write(
            `${r}-${n}/goavail.toml`,
            configToml({
              ips,
              interval: INTERVAL_S,
              timeout: TIMEOUT_S,
              failureThreshold: THRESHOLD,
              members: {
                localAddr: `127.0.0.1:${ports[i]}`,
                peers: ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`),
                minPeersAgree: 1,
                cryptoKey: 'bench-startup-shared-secret-0123456789',
                keyFile: join(home, 'goavail.key'),
              },
            }),
          ),
        );
      }
      agents = names.map(
        (n, i) => new AgentProcess(n, ['monitor', '--config-file', files[i]!, '--debug'], { cli: ctx.cli, cwd: dir.dir, env: { HOME: dir.dir } }),
      );
      for (const a of agents) {
        const t = a.spawnedAt;
        toStarted.push((await a.waitForLog(isMsg('agent started'), 30_000)).time - t);
        toFirstRound.push((await a.waitForLog(isMsg('probe'), 30_000)).time - t);
        toCluster.push((await a.waitForLog((l) => clusterVerdictOf(l) !== undefined, 60_000)).time - t);
        let last = 0;
        let seen = 0;
        await a.waitForLog((l) => {
          if (l.msg === 'connected to peer') {
            seen++;
            last = l.time;
          }
          return seen >= names.length - 1;
        }, 30_000);
        toConnected.push(last - t);
      }
      await Promise.all(agents.map((a) => a.stop()));
      agents = [];
      // The floor this machine puts under any Node process: spawn → exit of an empty script.
      const t = Date.now();
      await new Promise<void>((res, rej) =>
        spawn(process.execPath, ['-e', ''], { stdio: 'ignore' })
          .on('exit', () => res())
          .on('error', rej),
      );
      bareNode.push(Date.now() - t);
      ctx.log(`startup: run ${r + 1}/${runs}`);
      await sleep(300);
    }
  } finally {
    unregister();
    await Promise.all(agents.map((a) => a.stop()));
    await dir.cleanup();
  }
  const floor = (THRESHOLD - 1) * INTERVAL_S * 1000;
  return {
    id: 'startup',
    title: '5. Start-up',
    setup: [
      `${runs} runs × 3 agent processes spawned together (\`monitor --debug\`, dry-run), libp2p on 127.0.0.1, min_peers_agree = 1, 3 loopback targets, interval = ${INTERVAL_S} s, timeout = ${TIMEOUT_S} s, recovery_threshold = ${THRESHOLD}`,
    ],
    rows: [
      { metric: 'spawn → exit of `node -e ""` (machine floor)', value: fmtRuns(summarize(bareNode)), status: 'info' },
      { metric: "spawn → 'agent started'", value: fmtRuns(summarize(toStarted)), status: 'info' },
      { metric: 'spawn → first probe round done', value: fmtRuns(summarize(toFirstRound)), status: 'info' },
      { metric: 'spawn → connected to both peers', value: fmtRuns(summarize(toConnected)), status: 'info' },
      { metric: 'spawn → first cluster verdict', value: fmtRuns(summarize(toCluster)), status: 'info' },
    ],
    notes: [
      `Per agent and run (n = runs × 3). The first cluster verdict cannot come before recovery_threshold rounds: ${ms(floor)} after the first round at this interval; the rest is Node start-up, module loading (libp2p) and the dials.`,
      "Peers dial each other at start; a dial to a peer that is not listening yet is retried after 1 s (doubling), so 'connected' is sensitive to which agent opens its port first.",
    ],
    seconds: (Date.now() - started) / 1000,
  };
}
