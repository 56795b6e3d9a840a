/**
 * 3. Dead targets at scale: 1,000 targets, 750 loopback (live) and 250
 * addresses held by one network namespace whose end of the veth pair is
 * down. They sit on the root side's connected /24, so every echo request
 * to them waits in the neighbour queue for ARP to give up (~3 s): the case
 * that once filled the ICMP socket's send buffer and delayed live probes.
 * Live ones must never be marked down.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LABS } from '../../test/support/labs.js';
import { ensureBlackhole, labNames, labSubnet } from '../../test/support/netns.js';
import { scratch } from '../../test/support/kit.js';
import { localVerdictOf, loopbackTargets } from '../lib/agent.js';
import { runFping } from '../lib/fping.js';
import { goal, type RunContext, type ScenarioResult } from '../lib/report.js';
import { measureAgent, pct } from './scale.js';

const run = promisify(execFile);
const LAB = LABS['bench/dead'];
const { ns: NS, hostVeth: HOST_VETH, nsVeth: NS_VETH } = labNames(LAB.prefix, 0);
const SUBNET = labSubnet(LAB.subnetIndex); // 198.19.60
const DEAD = 250;
const LIVE = 750;

async function ipQuiet(...args: string[]): Promise<void> {
  await run('ip', args).catch(() => undefined);
}

async function removeLab(): Promise<void> {
  await ipQuiet('netns', 'del', NS);
  await ipQuiet('link', 'del', HOST_VETH);
}

/** One namespace holding `DEAD` addresses of SUBNET.0/24 on a veth whose namespace end is then taken down. */
async function createDeadLab(): Promise<string[]> {
  await ensureBlackhole();
  await removeLab();
  const dead = Array.from({ length: DEAD }, (_, i) => `${SUBNET}.${i + 2}`);
  await run('ip', ['netns', 'add', NS]);
  await run('ip', ['link', 'add', HOST_VETH, 'type', 'veth', 'peer', 'name', NS_VETH]);
  await run('ip', ['link', 'set', NS_VETH, 'netns', NS]);
  await run('ip', ['addr', 'add', `${SUBNET}.1/24`, 'dev', HOST_VETH]);
  await run('ip', ['link', 'set', HOST_VETH, 'up']);
  execFileSync('ip', ['-n', NS, '-batch', '-'], { input: dead.map((a) => `addr add ${a}/24 dev ${NS_VETH}`).join('\n') + '\n' });
  await run('ip', ['-n', NS, 'link', 'set', NS_VETH, 'up']);
  await run('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
  return dead;
}

export async function runDead(ctx: RunContext): Promise<ScenarioResult> {
  const started = Date.now();
  const windowS = ctx.quick ? 15 : 60;
  const dir = await scratch('bench-dead');
  const unregister = ctx.onCleanup(async () => {
    await removeLab();
    await dir.cleanup();
  });
  try {
    const dead = await createDeadLab();
    const list = join(dir.dir, 'dead.txt');
    await writeFile(list, `${dead.join('\n')}\n`);
    // The lab must really work: every address answers with the link up and none with it down.
    const before = await runFping(list, DEAD, 1, 1000, 1000);
    if (before.replies !== DEAD) throw new Error(`dead-target lab: only ${before.replies} of ${DEAD} addresses answered with the link up`);
    await run('ip', ['-n', NS, 'link', 'set', NS_VETH, 'down']);
    const after = await runFping(list, DEAD, 1, 1000, 1000);
    if (after.replies !== 0) throw new Error(`dead-target lab: ${after.replies} addresses still answer with the link down`);

    const live = loopbackTargets(LIVE, 11);
    // Interleaved, one dead after every three live ones, as a real config mixes them.
    const ips: string[] = [];
    for (let i = 0; i < LIVE; i++) {
      ips.push(live[i]!);
      if (i % 3 === 2) ips.push(dead[(i - 2) / 3]!);
    }
    const deadSet = new Set(dead);
    ctx.log(`dead: ${LIVE} live + ${DEAD} dead targets, ${windowS} s window`);
    const { load, agent } = await measureAgent(ctx, 'dead', dir, ips, { windowS, maxWaitS: 90 });
    const turned = (to: 'up' | 'down'): string[] =>
      agent.logs.flatMap((l) => {
        const c = localVerdictOf(l);
        return c?.to === to ? [c.ip] : [];
      });
    const downs = turned('down');
    const ups = turned('up');
    const liveDowns = downs.filter((ip) => !deadSet.has(ip)).length;
    const deadDowns = downs.filter((ip) => deadSet.has(ip));
    const deadUps = ups.filter((ip) => deadSet.has(ip)).length;
    const runS = (Date.now() - agent.spawnedAt) / 1000;
    return {
      id: 'dead',
      title: '3. Dead targets at scale',
      setup: [
        `one agent (\`monitor\`, dry-run), interval = 1 s, timeout = 500 ms, failure_threshold = 3; ${LIVE} loopback targets (127.11.x.y) and ${DEAD} dead ones (${SUBNET}.2–${DEAD + 1}), interleaved 3:1`,
        `dead ones: addresses of one namespace (\`${NS}\`) on a veth pair whose namespace end is down; the root end holds ${SUBNET}.1/24, so requests wait for ARP (checked with fping before the run: ${before.replies}/${DEAD} answer with the link up, ${after.replies} with it down)`,
        `${windowS} s steady window after every target's first verdict`,
      ],
      rows: [
        { metric: 'live targets marked down', value: `${liveDowns} (over ${runS.toFixed(0)} s, ${LIVE} live)`, goal: '0', status: goal(liveDowns === 0) },
        {
          metric: 'dead targets marked down / flapping up',
          value: `${new Set(deadDowns).size} of ${DEAD} down (${deadDowns.length} down verdicts), ${deadUps} up verdicts`,
          goal: `${DEAD}, 0 up`,
          status: goal(new Set(deadDowns).size === DEAD && deadUps === 0 && deadDowns.length === DEAD),
        },
        { metric: 'CPU share of one core', value: pct(load.cpuS / load.windowS), status: 'info' },
      ],
      notes: [`${load.settled} of ${ips.length} targets had their first verdict ${(load.settledAfterMs / 1000).toFixed(1)} s after spawn.`],
      seconds: (Date.now() - started) / 1000,
    };
  } finally {
    unregister();
    await removeLab();
    await dir.cleanup();
  }
}
