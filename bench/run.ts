/**
 * `npm run bench`: measures how fast goavail fails over and what it costs,
 * on loopback and network-namespace hosts only, and prints one table.
 *
 *   npm run bench -- [--only headline,loss,latency,latency-route53,scale,dead,gossip,startup,http] [--quick] [--write] [--loss-minutes N]
 *
 * --loss-minutes N  how long the loss scenario keeps 10% reply loss on (default 2; the issue's figure is 10)
 * --quick   shorter windows and fewer cycles (a smoke run; figures are noisier)
 * --logs D  save the agents' JSON logs of the cluster scenarios in D
 * --cli P   run the agents from another build of main.js (to compare a fix)
 * --write   (re)writes the generated part of BENCHMARKS.md (between the
 *           bench markers; text outside them is kept)
 *
 * Needs root (network namespaces, raw ICMP sockets) and fping.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, ROOT } from './lib/agent.js';
import { hasFping } from './lib/fping.js';
import { loadavg, machine } from './lib/proc.js';
import { markdownTable, spliceGenerated, textTable, type RunContext, type ScenarioResult } from './lib/report.js';
import { runDead } from './scenarios/dead.js';
import { runGossip } from './scenarios/gossip.js';
import { runHeadline } from './scenarios/headline.js';
import { runHttp } from './scenarios/http.js';
import { runLoss } from './scenarios/loss.js';
import { runLatency, runLatencyRoute53 } from './scenarios/latency.js';
import { runScale } from './scenarios/scale.js';
import { runStartup } from './scenarios/startup.js';

const SCENARIOS: Record<string, (ctx: RunContext) => Promise<ScenarioResult>> = {
  headline: runHeadline,
  loss: runLoss,
  latency: runLatency,
  'latency-route53': runLatencyRoute53,
  scale: runScale,
  dead: runDead,
  gossip: runGossip,
  startup: runStartup,
  http: runHttp,
};

function usage(): string {
  return `usage: npm run bench -- [--only ${Object.keys(SCENARIOS).join(',')}] [--quick] [--write] [--cli path/to/main.js] [--logs dir] [--loss-minutes N]\n`;
}

interface RunInfo {
  readonly command: string;
  readonly date: string;
  readonly loadStart: string;
  readonly loadEnd: string;
  readonly quick: boolean;
  readonly seconds: number;
  readonly commit: string;
  /** The agents' CLI when it is not this checkout's build. */
  readonly cli: string | undefined;
}

/** `abc1234` or `abc1234 + uncommitted changes`, for the record. */
function commitOf(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src'], { cwd: ROOT, encoding: 'utf8' }).trim() !== '';
    return dirty ? `${head} with uncommitted changes in src/` : head;
  } catch {
    return 'unknown';
  }
}

function markdown(results: readonly ScenarioResult[], info: RunInfo): string {
  const m = machine();
  const out: string[] = [
    `Measured ${info.date} with \`${info.command}\`${info.quick ? ' (**--quick**: short windows, smoke figures only)' : ''} in ${(info.seconds / 60).toFixed(1)} min.`,
    '',
    `- Code: commit ${info.commit}${info.cli ? `; agents ran ${info.cli}` : ''}`,
    `- Machine: ${m.cpus}, ${m.memory} RAM; Node ${m.node}; ${m.kernel}`,
    `- Load average (1/5/15 min) at start: ${info.loadStart}; at end: ${info.loadEnd} (the machine is shared: other test runs may have been running)`,
    '- Every probe and packet stayed on 127.0.0.0/8 or in network namespaces in 198.18.0.0/15 (blackholed on the host).',
    '',
    markdownTable(results),
    '',
  ];
  for (const r of results) {
    out.push(`### ${r.title}`, '', ...r.setup.map((s) => `- ${s}`), ...r.notes.map((s) => `- ${s}`), `- Took ${r.seconds.toFixed(0)} s.`, '');
  }
  return out.join('\n');
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({
      options: {
        only: { type: 'string' },
        cli: { type: 'string' },
        logs: { type: 'string' },
        'loss-minutes': { type: 'string' },
        quick: { type: 'boolean', default: false },
        write: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage()}`);
    return 2;
  }
  if (args.values.help) {
    process.stdout.write(usage());
    return 0;
  }
  const only =
    args.values.only
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) ?? Object.keys(SCENARIOS);
  const unknown = only.filter((s) => !(s in SCENARIOS));
  if (unknown.length > 0) {
    process.stderr.write(`unknown scenario(s): ${unknown.join(', ')}\n${usage()}`);
    return 2;
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('the benchmark needs root: network namespaces and raw ICMP sockets\n');
    return 1;
  }
  const cli = resolve(args.values.cli ?? CLI);
  if (!existsSync(cli)) {
    process.stderr.write(`${cli} is missing: run \`npm run build\` (npm run bench does)\n`);
    return 1;
  }
  if (only.some((s) => s === 'scale' || s === 'dead') && !hasFping()) {
    process.stderr.write('fping is missing: the scale and dead scenarios compare with (and check the lab with) fping; apt-get install fping\n');
    return 1;
  }

  const cleanups = new Set<() => Promise<void> | void>();
  const runCleanups = async (): Promise<void> => {
    for (const fn of [...cleanups].reverse()) {
      cleanups.delete(fn);
      await Promise.resolve()
        .then(fn)
        .catch((err: unknown) => process.stderr.write(`cleanup failed: ${String(err)}\n`));
    }
  };
  let interrupted = false;
  const onSignal = (): void => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\ninterrupted: cleaning up (again to force)\n');
    void runCleanups().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const lossMinutes = args.values['loss-minutes'] !== undefined ? Number(args.values['loss-minutes']) : undefined;
  if (lossMinutes !== undefined && !(lossMinutes > 0)) {
    process.stderr.write(`--loss-minutes must be a positive number of minutes\n${usage()}`);
    return 2;
  }
  const ctx: RunContext = {
    quick: args.values.quick,
    ...(lossMinutes !== undefined ? { lossMinutes } : {}),
    cli,
    ...(args.values.logs ? { logsDir: resolve(args.values.logs) } : {}),
    log: (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`),
    onCleanup: (fn) => {
      cleanups.add(fn);
      return () => cleanups.delete(fn);
    },
  };

  const started = Date.now();
  const loadStart = loadavg();
  const m = machine();
  ctx.log(`${m.cpus}; Node ${m.node}; ${m.kernel}; loadavg ${loadStart}; agents run ${cli}`);
  const results: ScenarioResult[] = [];
  let failed = false;
  for (const id of Object.keys(SCENARIOS).filter((s) => only.includes(s))) {
    ctx.log(`--- ${id}`);
    try {
      results.push(await SCENARIOS[id]!(ctx));
    } catch (err) {
      failed = true;
      ctx.log(`${id} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      results.push({
        id,
        title: id,
        setup: [],
        rows: [{ metric: 'run', value: `failed: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`, status: 'MISSED' }],
        notes: [],
        seconds: 0,
      });
    }
    await runCleanups();
  }
  const loadEnd = loadavg();
  const command = ['npm run bench', ...(process.argv.length > 2 ? ['--', ...process.argv.slice(2)] : [])].join(' ');
  process.stdout.write(`\n${textTable(results)}\n\nloadavg at start ${loadStart}, at end ${loadEnd}; ${((Date.now() - started) / 60000).toFixed(1)} min\n`);
  if (args.values.write) {
    const file = join(ROOT, 'BENCHMARKS.md');
    const existing = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
    const info: RunInfo = {
      command,
      commit: commitOf(),
      cli: cli === resolve(CLI) ? undefined : cli,
      date: new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
      loadStart,
      loadEnd,
      quick: args.values.quick,
      seconds: (Date.now() - started) / 1000,
    };
    writeFileSync(file, spliceGenerated(existing, markdown(results, info)));
    ctx.log(`wrote ${file}`);
  }
  return failed ? 1 : 0;
}

process.exitCode = await main();
