/**
 * 0b. No false failovers: the headline cluster (shipped defaults, 3 agents,
 * min_peers_agree = 1) over 3 healthy namespace hosts whose namespaces
 * drop 10% of echo replies at random (nftables `numgen random mod 10`),
 * for `--loss-minutes` (default 2; the issue asks for 10). Then blips: a
 * host goes fully silent for less than the tolerance the code computes
 * (shortestFailingOutageMs), at random moments. Every DNS write in either
 * phase is a false failover; local verdict changes are counted too.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { shortestFailingOutageMs } from '../../src/detect/recheck.js';
import { createNsLab, labSubnet, type NsHost } from '../../test/support/netns.js';
import { sleep } from '../../test/support/kit.js';
import { LABS } from '../../test/support/labs.js';
import { isLocalVerdict } from '../lib/agent.js';
import { goal, type RunContext, type ScenarioResult } from '../lib/report.js';
import { summarize } from '../lib/stats.js';
import { isMutating, startShippedCluster } from './headline.js';

const run = promisify(execFile);
const TABLE = 'goavailloss';

/** 10% of echo replies dropped at random inside the host's namespace. */
async function addLoss(h: NsHost): Promise<void> {
  const nft = (...args: string[]) => run('ip', ['netns', 'exec', h.ns, 'nft', ...args]);
  await nft('add', 'table', 'inet', TABLE);
  await nft('add', 'chain', 'inet', TABLE, 'out', '{ type filter hook output priority 0; }');
  await nft('add', 'rule', 'inet', TABLE, 'out', 'icmp', 'type', 'echo-reply', 'numgen', 'random', 'mod', '10', '0', 'drop');
}

async function removeLoss(h: NsHost): Promise<void> {
  await run('ip', ['netns', 'exec', h.ns, 'nft', 'delete', 'table', 'inet', TABLE]).catch(() => undefined);
}

/** Sum of a counter over an agent's /metrics. */
async function counter(addr: string, name: string): Promise<number> {
  const text = await (await fetch(`http://${addr}/metrics`)).text();
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(name)) sum += Number(line.split(' ').at(-1));
  return sum;
}

export async function runLoss(ctx: RunContext): Promise<ScenarioResult> {
  const started = Date.now();
  const minutes = ctx.lossMinutes ?? (ctx.quick ? 0.5 : 2);
  const blips = ctx.quick ? 10 : 30;
  // The shipped timing: failure_threshold 3, interval 2 s, recheck_interval 0.2 s.
  const toleranceMs = shortestFailingOutageMs({ failureThreshold: 3, intervalMs: 2000, recheckIntervalMs: 200 });
  const blipMs = Math.floor(toleranceMs / 2);
  const lab = await createNsLab({ ...LABS['bench/loss'], count: 3 });
  const unregisterLab = ctx.onCleanup(async () => {
    for (const h of lab.hosts) await removeLoss(h);
    await lab.cleanup();
  });
  try {
    const c = await startShippedCluster(ctx, lab, 'loss', { status: true });
    const unregister = ctx.onCleanup(() => c.stop());
    try {
      const writesAt = () => c.cf.calls.filter(isMutating).length;
      const localChanges = () => c.agents.reduce((n, a) => n + a.logs.filter(isLocalVerdict('down')).length, 0);
      const rechecks = async () => (await Promise.all(c.statusAddrs.map((a) => counter(a, 'goavail_recheck_probes_total')))).reduce((x, y) => x + y, 0);
      const rounds = async () => (await Promise.all(c.statusAddrs.map((a) => counter(a, 'goavail_probe_rounds_total')))).reduce((x, y) => x + y, 0);

      // Phase 1: 10% loss.
      for (const h of lab.hosts) await addLoss(h);
      const w0 = writesAt();
      const d0 = localChanges();
      const r0 = await rechecks();
      const n0 = await rounds();
      const t0 = Date.now();
      ctx.log(`loss: 10% reply loss on ${lab.hosts.length} hosts for ${minutes} min`);
      const end = t0 + minutes * 60_000;
      while (Date.now() < end) {
        await sleep(Math.min(30_000, end - Date.now()));
        ctx.log(`loss: ${Math.round((Date.now() - t0) / 1000)} s, ${writesAt() - w0} DNS writes, ${localChanges() - d0} local down verdicts`);
      }
      const lossSeconds = (Date.now() - t0) / 1000;
      const lossWrites = writesAt() - w0;
      const lossLocalDowns = localChanges() - d0;
      const extra = (await rechecks()) - r0;
      const roundsDone = (await rounds()) - n0;
      for (const h of lab.hosts) await removeLoss(h);

      // Phase 2: blips shorter than the tolerance.
      await sleep(3000);
      const w1 = writesAt();
      const d1 = localChanges();
      const lengths: number[] = [];
      for (let k = 0; k < blips; k++) {
        const h = lab.hosts[k % lab.hosts.length]!;
        await sleep(500 + Math.random() * 2000);
        const b0 = Date.now();
        await h.down();
        const wait = blipMs - (Date.now() - b0);
        if (wait > 0) await sleep(wait);
        await h.up();
        lengths.push(Date.now() - b0);
      }
      await sleep(7000);
      const blipWrites = writesAt() - w1;
      const blipLocalDowns = localChanges() - d1;
      const len = summarize(lengths);
      return {
        id: 'loss',
        title: '0b. No false failovers: 10% loss and short blips',
        setup: [
          'The headline cluster: 3 agents on the shipped defaults (interval 2 s, timeout 1 s, threshold 3, suspect_after 0.1 s, recheck_interval 0.2 s), min_peers_agree = 1',
          `3 healthy namespace hosts (${labSubnet(LABS['bench/loss'].subnetIndex)}.0/24); each namespace drops 10% of its echo replies at random (nftables \`numgen random mod 10 0 drop\`) for ${minutes} min`,
          `Then ${blips} blips, one host at a time at random moments: \`icmp_echo_ignore_all=1\` for ${blipMs} ms (half the tolerance the code computes, shortestFailingOutageMs = ${toleranceMs} ms), then \`=0\``,
        ],
        rows: [
          { metric: `DNS writes under 10% loss (${lossSeconds.toFixed(0)} s)`, value: String(lossWrites), goal: '0', status: goal(lossWrites === 0) },
          { metric: 'local down verdicts under loss (all agents)', value: String(lossLocalDowns), status: 'info' },
          {
            metric: 'extra probes per second under loss (rechecks, all 3 agents)',
            value: `${(extra / lossSeconds).toFixed(2)}/s (${extra} rechecks beside ${roundsDone} rounds of 3 probes)`,
            status: 'info',
          },
          { metric: `DNS writes after ${blips} blips of ~${blipMs} ms`, value: String(blipWrites), goal: '0', status: goal(blipWrites === 0) },
          { metric: 'local down verdicts after the blips', value: String(blipLocalDowns), status: 'info' },
          { metric: 'blip length as run (down command → up command done)', value: `median ${len.median} ms, max ${len.max} ms`, status: 'info' },
        ],
        notes: [`Tolerance: ${toleranceMs} ms = (failure_threshold − 1) × recheck_interval, from src/detect/recheck.ts shortestFailingOutageMs.`],
        seconds: (Date.now() - started) / 1000,
      };
    } finally {
      unregister();
      await c.stop();
    }
  } finally {
    unregisterLab();
    for (const h of lab.hosts) await removeLoss(h);
    await lab.cleanup();
  }
}
