/**
 * fping as the reference prober: the same targets, period and timeout, CPU
 * taken from the shell's `times` (the children's rusage user + system, ms
 * resolution; /usr/bin/time only gives 10 ms).
 */
import { spawn } from 'node:child_process';
import { spawnSync } from 'node:child_process';

export function hasFping(): boolean {
  return spawnSync('fping', ['-v'], { stdio: 'ignore' }).status === 0;
}

/** Seconds of "1m2.345s". */
function seconds(text: string): number {
  const m = /^(\d+)m([\d.]+)s$/.exec(text.trim());
  if (!m) throw new Error(`unparsable time ${JSON.stringify(text)}`);
  return Number(m[1]) * 60 + Number(m[2]);
}

/** The children's user + system seconds from bash's `times` output (second line). */
export function parseTimes(out: string): number {
  const lines = out.trim().split('\n');
  const children = lines[lines.length - 1]!.trim().split(/\s+/);
  if (children.length !== 2) throw new Error(`unparsable times output ${JSON.stringify(out)}`);
  return seconds(children[0]!) + seconds(children[1]!);
}

/** Per-target results of `fping -q -C n` (stderr lines "ip : 0.05 0.04 -"): replies and losses. */
export function parseCountOutput(text: string): { replies: number; lost: number; targets: number } {
  let replies = 0;
  let lost = 0;
  let targets = 0;
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+:\s+(.*)$/.exec(line.trim());
    if (!m) continue;
    targets++;
    for (const tok of m[2]!.trim().split(/\s+/)) {
      if (tok === '-') lost++;
      else if (/^[\d.]+$/.test(tok)) replies++;
    }
  }
  return { replies, lost, targets };
}

export interface FpingRun {
  readonly cpuSeconds: number;
  readonly wallSeconds: number;
  readonly replies: number;
  readonly lost: number;
  readonly command: string;
}

/**
 * fping numbers each probe from one 16-bit sequence space that is not
 * reused for 10 s, so one run can send at most ~65,000 probes: with 10,000
 * targets that is 6 rounds. Runs of at most this many probes are chained.
 */
const MAX_PROBES_PER_RUN = 50_000;

/**
 * `fping -q -C rounds -p periodMs -i 0 -t timeoutMs -f file` (chained runs
 * when rounds × targets exceeds {@link MAX_PROBES_PER_RUN}): CPU time summed,
 * replies and losses counted. Throws when fping fails (exit status ≥ 2).
 */
export async function runFping(file: string, targets: number, rounds: number, periodMs: number, timeoutMs: number): Promise<FpingRun> {
  const perRun = Math.max(1, Math.min(rounds, Math.floor(MAX_PROBES_PER_RUN / Math.max(1, targets))));
  let left = rounds;
  let cpuSeconds = 0;
  let replies = 0;
  let lost = 0;
  const commands: string[] = [];
  const started = Date.now();
  while (left > 0) {
    const n = Math.min(perRun, left);
    left -= n;
    const command = `fping -q -C ${n} -p ${periodMs} -i 0 -t ${timeoutMs} -f ${file}`;
    commands.push(command);
    const child = spawn('bash', ['-c', `${command}; rc=$?; times; exit $rc`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    const code = await new Promise<number | null>((res) => child.on('exit', res));
    // 0: all answered, 1: some did not; anything else is fping failing.
    if (code !== 0 && code !== 1)
      throw new Error(`${command} exited ${code}: ${stderr.split('\n').find((l) => /error|fping:/i.test(l)) ?? stderr.slice(0, 300)}`);
    const counts = parseCountOutput(stderr);
    cpuSeconds += parseTimes(stdout);
    replies += counts.replies;
    lost += counts.lost;
  }
  const unique = [...new Set(commands)];
  const command = unique.length === 1 && commands.length > 1 ? `${commands.length} × ${unique[0]}` : commands.join('; ');
  return { cpuSeconds, wallSeconds: (Date.now() - started) / 1000, replies, lost, command };
}
