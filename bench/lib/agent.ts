/**
 * The real `goavail` CLI as a child process, its JSON log lines collected
 * with pino's own `time` (ms since epoch, taken when the agent logged).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sleep } from '../../test/support/kit.js';

/** The package root: the first folder above this file whose package.json is goavail's (works from bench/ and from its build, bench/dist/bench/). */
function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'goavail') return dir;
      } catch {
        // keep looking
      }
    }
    const up = resolve(dir, '..');
    if (up === dir) throw new Error('cannot find the goavail package root');
    dir = up;
  }
}

export const ROOT = packageRoot();
export const CLI = join(ROOT, 'dist/src/cli/main.js');

export interface LogLine {
  readonly level: number;
  readonly time: number;
  readonly msg: string;
  readonly [k: string]: unknown;
}

export class AgentProcess {
  readonly child: ChildProcess;
  readonly logs: LogLine[] = [];
  /** Date.now() just before spawn(). */
  readonly spawnedAt: number;
  stderr = '';
  readonly exited: Promise<number | null>;

  constructor(
    readonly name: string,
    args: readonly string[],
    opts: { env?: NodeJS.ProcessEnv; cwd?: string; cli?: string } = {},
  ) {
    const env = { ...process.env, ...opts.env };
    // Dry-run scenarios must not pick up credentials from the caller's environment.
    for (const k of ['CLOUDFLARE_API_TOKEN', 'CF_API_KEY', 'CF_API_EMAIL', 'CLOUDFLARE_BASE_URL']) if (opts.env?.[k] === undefined) delete env[k];
    this.spawnedAt = Date.now();
    this.child = spawn(process.execPath, [opts.cli ?? CLI, ...args], { cwd: opts.cwd ?? ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let partial = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      partial += chunk;
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) {
        if (!line.trim()) continue;
        try {
          this.logs.push(JSON.parse(line) as LogLine);
        } catch {
          this.logs.push({ level: 0, time: Date.now(), msg: line });
        }
      }
    });
    this.child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      this.stderr += c;
    });
    this.exited = new Promise((res) => this.child.on('exit', (code) => res(code)));
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name}: not started`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  find(pred: (l: LogLine) => boolean, from = 0): LogLine | undefined {
    for (let i = from; i < this.logs.length; i++) if (pred(this.logs[i]!)) return this.logs[i];
    return undefined;
  }

  count(pred: (l: LogLine) => boolean, from = 0): number {
    let n = 0;
    for (let i = from; i < this.logs.length; i++) if (pred(this.logs[i]!)) n++;
    return n;
  }

  async waitForLog(pred: (l: LogLine) => boolean, timeoutMs: number, from = 0): Promise<LogLine> {
    let scanned = from;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (; scanned < this.logs.length; scanned++) if (pred(this.logs[scanned]!)) return this.logs[scanned]!;
      if (!this.running) throw new Error(`${this.name} exited (${this.child.exitCode}) before the expected log line\n${this.tail()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: timed out waiting for a log line\n${this.tail()}`);
      await sleep(20);
    }
  }

  tail(n = 15): string {
    return [this.stderr.trim(), ...this.logs.slice(-n).map((l) => JSON.stringify(l))].filter(Boolean).join('\n');
  }

  /** Writes the collected log lines (JSONL) to `dir/<prefix>-<name>.log`. */
  async saveLogs(dir: string, prefix: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, `${prefix}-${this.name}.log`), this.logs.map((l) => JSON.stringify(l)).join('\n') + '\n');
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 8000);
    await this.exited;
    clearTimeout(timer);
  }
}

/**
 * What the bench reads from an agent's log. Verdict changes are recognised
 * by the fields of the logger calls in src/agent.ts, never by parsing the
 * message text:
 *
 * | line            | fields                                              |
 * |-----------------|-----------------------------------------------------|
 * | local verdict   | `{ ip, from, to, misses, successes, lastError }`    |
 * | cluster verdict | `{ ip, from, to, agreed }`                          |
 * | canary          | `{ ip, from, to }` (neither of the above)           |
 *
 * Lines that carry no data in their text ('agent started', 'probe',
 * 'connected to peer') are matched whole with {@link isMsg}: the message is
 * the event's name, and some share their fields with another line.
 */
export const isMsg =
  (text: string) =>
  (l: LogLine): boolean =>
    l.msg === text;

export interface VerdictChange {
  readonly ip: string;
  readonly from: string;
  readonly to: string;
}

function verdictChange(l: LogLine): VerdictChange | undefined {
  const { ip, from, to } = l;
  return typeof ip === 'string' && typeof from === 'string' && typeof to === 'string' ? { ip, from, to } : undefined;
}

/** The change a `local verdict` line reports, or undefined for any other line. */
export function localVerdictOf(l: LogLine): VerdictChange | undefined {
  return typeof l.misses === 'number' && typeof l.successes === 'number' ? verdictChange(l) : undefined;
}

/** The change a `cluster verdict` line reports, or undefined for any other line. */
export function clusterVerdictOf(l: LogLine): VerdictChange | undefined {
  return Array.isArray(l.agreed) ? verdictChange(l) : undefined;
}

export const localVerdict =
  (ip: string, verdict: 'up' | 'down') =>
  (l: LogLine): boolean => {
    const c = localVerdictOf(l);
    return c?.ip === ip && c.to === verdict;
  };

export const clusterVerdict =
  (ip: string, verdict: 'up' | 'down') =>
  (l: LogLine): boolean => {
    const c = clusterVerdictOf(l);
    return c?.ip === ip && c.to === verdict;
  };

/** Any local verdict line turning an IP `verdict`. */
export const isLocalVerdict =
  (verdict: 'up' | 'down') =>
  (l: LogLine): boolean =>
    localVerdictOf(l)?.to === verdict;

export interface AgentConfig {
  readonly ips: readonly string[];
  readonly interval: number;
  readonly timeout?: number;
  readonly failureThreshold: number;
  readonly recoveryThreshold?: number;
  readonly reconcileInterval?: number;
  /** `recheck_interval` (0 = rechecks off); absent: the default. */
  readonly recheckInterval?: number;
  /** `status_addr`; absent: off (""). */
  readonly statusAddr?: string;
  /** Leave failure_threshold, interval and timeout to the file's defaults (the shipped timing). */
  readonly shippedTiming?: boolean;
  readonly members?: {
    readonly localAddr: string;
    readonly peers: readonly string[];
    readonly minPeersAgree: number;
    readonly cryptoKey: string;
    readonly keyFile: string;
  };
  readonly zone?: string;
  /** Route 53: a [Route53] table in the original's shape (and dns_provider = "route53") instead of [Cloudflare]. */
  readonly provider?: 'cloudflare' | 'route53';
}

/** A goavail.toml for a benchmark agent; the status listener is off so parallel agents never collide on its port. */
export function configToml(c: AgentConfig): string {
  const lines = [
    ...(c.provider === 'route53' ? ['dns_provider = "route53"'] : []),
    ...(c.shippedTiming
      ? []
      : [
          `failure_threshold = ${c.failureThreshold}`,
          `recovery_threshold = ${c.recoveryThreshold ?? c.failureThreshold}`,
          `interval = ${c.interval}`,
          ...(c.timeout !== undefined ? [`timeout = ${c.timeout}`] : []),
        ]),
    ...(c.recheckInterval !== undefined ? [`recheck_interval = ${c.recheckInterval}`] : []),
    `reconcile_interval = ${c.reconcileInterval ?? 60}`,
    `status_addr = ${JSON.stringify(c.statusAddr ?? '')}`,
  ];
  if (c.members) {
    const m = c.members;
    lines.push(
      '[Members]',
      `peers = [${m.peers.map((p) => JSON.stringify(p)).join(', ')}]`,
      `local_addr = ${JSON.stringify(m.localAddr)}`,
      `min_peers_agree = ${m.minPeersAgree}`,
      `crypto_key = ${JSON.stringify(m.cryptoKey)}`,
      `key_file = ${JSON.stringify(m.keyFile)}`,
    );
  }
  if (c.provider === 'route53') {
    lines.push(
      '[Route53]',
      `aws_domain = ${JSON.stringify(c.zone ?? 'example.com')}`,
      'hostnames = ["www"]',
      `ip_addresses = [${c.ips.map((ip) => JSON.stringify(ip)).join(', ')}]`,
      'ttl = 60',
    );
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    '[Cloudflare]',
    'dns_proxied = false',
    `dns_domain = ${JSON.stringify(c.zone ?? 'example.com')}`,
    'hostnames = ["www"]',
    `ip_addresses = [${c.ips.map((ip) => JSON.stringify(ip)).join(', ')}]`,
  );
  return `${lines.join('\n')}\n`;
}

/** `n` distinct loopback targets 127.B.x.y (x = 0.., y = 1..250), so none is a .0 or .255. */
export function loopbackTargets(n: number, b = 10): string[] {
  if (!Number.isInteger(n) || n < 0 || n > 250 * 256) throw new RangeError(`cannot make ${n} loopback targets`);
  return Array.from({ length: n }, (_, i) => `127.${b}.${Math.floor(i / 250)}.${(i % 250) + 1}`);
}
