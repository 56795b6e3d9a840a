import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from './kit.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
/** The built CLI (`npm test` builds first). */
const CLI = join(ROOT, 'dist/src/cli/main.js');

export function assertBuilt(): void {
  if (!existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm test does)`);
}

export interface LogLine {
  level: number;
  msg: string;
  [k: string]: unknown;
}

/** A running `goavail` child process whose JSON log lines are collected. */
export class GoavailProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  /**
   * `onLog` sees every log line as soon as it is read (no polling delay), so
   * a test can signal the process at an exact point of its startup.
   */
  constructor(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; command?: string[]; onLog?: (l: LogLine, p: GoavailProcess) => void } = {}) {
    const [cmd, ...pre] = opts.command ?? [process.execPath];
    this.child = spawn(cmd!, [...pre, CLI, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, ...opts.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let partial = '';
    // GOAVAIL_TEST_LOG_DIR=<dir>: every agent's stdout also goes to <dir>/<pid>.log, to read after a failure.
    const keep = process.env.GOAVAIL_TEST_LOG_DIR ? join(process.env.GOAVAIL_TEST_LOG_DIR, `${this.child.pid ?? 'x'}.log`) : undefined;
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      if (keep !== undefined) appendFileSync(keep, chunk);
      this.stdout += chunk;
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        let parsed: LogLine;
        try {
          parsed = JSON.parse(line) as LogLine;
        } catch {
          parsed = { level: 0, msg: line };
        }
        this.logs.push(parsed);
        opts.onLog?.(parsed, this);
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
    });
    this.exited = new Promise((res) => this.child.on('exit', (code, signal) => res({ code, signal })));
  }

  /** Resolves with the first log line (already seen or future) matching `pred`. */
  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs = 20_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.slice(from).find(pred);
      if (hit) return hit;
      if (this.child.exitCode !== null)
        throw new Error(`goavail exited (${this.child.exitCode}) before the expected log line\nstderr: ${this.stderr}\nlogs:\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`timed out waiting for a log line\nstderr: ${this.stderr}\nlogs:\n${this.tail()}`);
      await sleep(50);
    }
  }

  tail(n = 40): string {
    return this.logs
      .slice(-n)
      .map((l) => JSON.stringify(l))
      .join('\n');
  }

  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  kill(): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
  }
}

/** Runs the CLI to completion. */
export async function runCli(
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {},
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const p = new GoavailProcess(args, opts);
  const timer = setTimeout(() => p.kill(), opts.timeoutMs ?? 20_000);
  const { code } = await p.exited;
  clearTimeout(timer);
  return { code, stdout: p.stdout, stderr: p.stderr };
}
