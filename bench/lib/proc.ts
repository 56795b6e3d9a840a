/**
 * Per-process figures from /proc (Linux): CPU time, resident memory, and the
 * machine the benchmark ran on.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Clock ticks per second of /proc/<pid>/stat times (`getconf CLK_TCK`, 100 on Linux). */
function clockTicks(): number {
  try {
    const n = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
    if (Number.isInteger(n) && n > 0) return n;
  } catch {
    // fall through
  }
  return 100;
}

/**
 * utime + stime (in ticks) from the text of /proc/<pid>/stat. The command
 * name (field 2) may hold spaces and parentheses, so fields are counted
 * after its last ')': utime and stime are fields 14 and 15.
 */
export function parseStatTicks(stat: string): number {
  const close = stat.lastIndexOf(')');
  if (close < 0) throw new Error('not a /proc/<pid>/stat line');
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  // fields[0] is field 3 (state); field k is fields[k - 3].
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) throw new Error('unparsable /proc/<pid>/stat');
  return utime + stime;
}

/** CPU seconds (user + system) the process has used so far. */
export function cpuSeconds(pid: number, ticks = clockTicks()): number {
  return parseStatTicks(readFileSync(`/proc/${pid}/stat`, 'utf8')) / ticks;
}

/** VmRSS and VmHWM (peak RSS) in bytes from the text of /proc/<pid>/status. */
export function parseStatusMemory(status: string): { rss: number; peak: number } {
  const kib = (key: string): number => {
    const m = new RegExp(`^${key}:\\s+(\\d+)\\s+kB`, 'm').exec(status);
    if (!m) throw new Error(`no ${key} in /proc/<pid>/status`);
    return Number(m[1]) * 1024;
  };
  return { rss: kib('VmRSS'), peak: kib('VmHWM') };
}

export function memory(pid: number): { rss: number; peak: number } {
  return parseStatusMemory(readFileSync(`/proc/${pid}/status`, 'utf8'));
}

export function loadavg(): string {
  return os
    .loadavg()
    .map((x) => x.toFixed(2))
    .join(' ');
}

export interface Machine {
  readonly cpus: string;
  readonly node: string;
  readonly kernel: string;
  readonly memory: string;
}

export function machine(): Machine {
  const cpus = os.cpus();
  const models = new Map<string, number>();
  for (const c of cpus) models.set(c.model, (models.get(c.model) ?? 0) + 1);
  return {
    cpus: [...models].map(([model, n]) => `${n} × ${model}${cpus[0]?.speed ? ` (${cpus[0].speed} MHz)` : ''}`).join(', '),
    node: process.version,
    kernel: `${os.type()} ${os.release()} ${os.arch()}`,
    memory: `${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
  };
}
