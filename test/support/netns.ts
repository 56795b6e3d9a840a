/**
 * Test hosts in Linux network namespaces: each host is a namespace joined to
 * the root namespace by a veth pair, with its own /30 inside 198.18.0.0/15
 * (the benchmarking range, blackholed first so nothing in it ever leaves the
 * machine). Tests make a host "go down" without touching routes.
 *
 * Layout for `subnetIndex` S (0..511) and host k (0..62), /24 = 198.18.0.0/15's S-th:
 *
 * | what            | address                | where                |
 * |-----------------|------------------------|----------------------|
 * | host side veth  | 198.(18+S/256).(S%256).(4k+1)/30 | root namespace |
 * | test host (ip)  | 198.(18+S/256).(S%256).(4k+2)/30 | namespace k    |
 * | lab.unusedIp    | ….254, held by nobody: blackhole, sends fail at once |
 *
 * Names: namespace `<prefix>-<k>`, links `<prefix>h<k>` (root side) and
 * `<prefix>n<k>` (namespace side), see {@link labNames}; a short unique
 * prefix per test file keeps parallel files apart. Each file takes its
 * prefix and subnet index from the allocation table in ./labs.ts. Needs
 * root (see {@link canUseNetns}).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The range every lab lives in; blackholed on the host before anything else. */
export const LAB_RANGE = '198.18.0.0/15';
/** The IPv6 lab range (RFC 3849 documentation prefix), blackholed like LAB_RANGE. */
const LAB_RANGE6 = '2001:db8::/32';
/** Hosts per lab: the last /30 of the /24 stays free for unusedIp. */
export const MAX_HOSTS = 63;
/** Linux's limit on interface names (IFNAMSIZ - 1); namespace names are kept within it too. */
export const MAX_NAME = 15;

export interface NsHost {
  /** Namespace name. */
  readonly ns: string;
  /** The host's address, inside the namespace. */
  readonly ip: string;
  /** Its IPv6 address in 2001:db8::/32 (a lab made with `ipv6: true`), else undefined. */
  readonly ip6: string | undefined;
  /** Root-namespace end of the veth pair (its address is `ip` - 1). */
  readonly hostVeth: string;
  /** Stop answering pings (net.ipv4.icmp_echo_ignore_all=1, and ICMPv6 with `ipv6`); TCP still answers. */
  down(): Promise<void>;
  /** Answer pings again. */
  up(): Promise<void>;
  /** Stop (true) or resume answering IPv6 pings only: the IPv4 address keeps answering. */
  ignoreEcho6(ignore: boolean): Promise<void>;
  /** Take the namespace's end of the link down: pings and TCP connects go unanswered (they hang). */
  linkDown(): Promise<void>;
  linkUp(): Promise<void>;
  /**
   * Starts a TCP listener on `ip:port` (or `address:port`, e.g. `ip6`)
   * inside the namespace (a child node process that accepts and closes).
   * Stopped by `close()` or lab cleanup.
   */
  listenTcp(port: number, address?: string): Promise<{ close(): Promise<void> }>;
}

export interface NsLab {
  readonly hosts: NsHost[];
  /** An address of the lab's /24 that no namespace holds: it hits the blackhole route. */
  readonly unusedIp: string;
  /** Deletes every namespace and link the lab made and stops its listeners. Idempotent. */
  cleanup(): Promise<void>;
}

export interface NsLabOptions {
  /** Unique per test file (./labs.ts), 1..8 of [a-z0-9]: names must fit Linux's 15 characters. */
  readonly prefix: string;
  /** Hosts to create, 1..63. */
  readonly count: number;
  /** Picks this file's /24 inside 198.18.0.0/15 (0..511); distinct per test file. */
  readonly subnetIndex: number;
  /** Also give each host an IPv6 address: 2001:db8:<subnetIndex hex>:<k + 1>::2/64 (canonical form) (root side ::1), after the 2001:db8::/32 blackhole. */
  readonly ipv6?: boolean;
}

/** True when this process may create namespaces: root, and `ip netns` works. */
export function canUseNetns(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  const probe = spawnSync('ip', ['netns', 'list'], { stdio: 'ignore' });
  return probe.status === 0;
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run('ip', args);
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr?.trim();
    throw new Error(`ip ${args.join(' ')} failed: ${stderr || (error as Error).message}`, { cause: error });
  }
}

/** Runs `ip …` and ignores failure (removing what may not exist). */
async function ipQuiet(...args: string[]): Promise<void> {
  await run('ip', args).catch(() => undefined);
}

/** Makes sure 198.18.0.0/15 can never leave the machine. Never removed: parallel files rely on it. */
export async function ensureBlackhole(): Promise<void> {
  await ip('route', 'replace', 'blackhole', LAB_RANGE);
}

/** The same for 2001:db8::/32, the IPv6 lab range. */
async function ensureBlackhole6(): Promise<void> {
  await ip('-6', 'route', 'replace', 'blackhole', LAB_RANGE6);
}

/** The /24 base ("198.18.7") of a subnet index. */
export function labSubnet(subnetIndex: number): string {
  if (!Number.isInteger(subnetIndex) || subnetIndex < 0 || subnetIndex > 511) {
    throw new RangeError(`subnetIndex must be 0..511, got ${subnetIndex}`);
  }
  return `198.${18 + (subnetIndex >> 8)}.${subnetIndex & 255}`;
}

/** The names of host `k` of the lab with `prefix`: its namespace and the two ends of its veth pair. */
export function labNames(prefix: string, k: number): { ns: string; hostVeth: string; nsVeth: string } {
  return { ns: `${prefix}-${k}`, hostVeth: `${prefix}h${k}`, nsVeth: `${prefix}n${k}` };
}

const LISTENER = `
const net = require('node:net');
const [host, port] = process.argv.slice(1);
const server = net.createServer((s) => { s.on('error', () => {}); s.end(); });
server.listen({ host, port: Number(port) }, () => process.stdout.write('listening\\n'));
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;

export async function createNsLab(opts: NsLabOptions): Promise<NsLab> {
  const { prefix, count } = opts;
  if (!/^[a-z0-9]{1,8}$/.test(prefix)) throw new RangeError(`prefix must be 1..8 of [a-z0-9], got "${prefix}"`);
  if (!Number.isInteger(count) || count < 1 || count > MAX_HOSTS) throw new RangeError(`count must be 1..${MAX_HOSTS}`);
  const subnet = labSubnet(opts.subnetIndex);

  await ensureBlackhole();
  if (opts.ipv6) await ensureBlackhole6();
  const v6net = `2001:db8:${opts.subnetIndex.toString(16)}`;

  const names = Array.from({ length: count }, (_, k) => ({
    ...labNames(prefix, k),
    hostIp: `${subnet}.${4 * k + 1}`,
    ip: `${subnet}.${4 * k + 2}`,
    hostIp6: opts.ipv6 ? `${v6net}:${(k + 1).toString(16)}::1` : undefined,
    ip6: opts.ipv6 ? `${v6net}:${(k + 1).toString(16)}::2` : undefined,
  }));
  const listeners = new Set<ChildProcess>();
  let cleaned = false;

  async function stopListener(child: ChildProcess): Promise<void> {
    if (!listeners.delete(child)) return;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.stdin?.end();
    const timer = setTimeout(() => child.kill('SIGKILL'), 2000);
    await exited;
    clearTimeout(timer);
  }

  async function removeAll(): Promise<void> {
    await Promise.all([...listeners].map(stopListener));
    // Deleting a namespace destroys the veth end inside it and so the pair;
    // the link delete covers a crash that left the pair in the root namespace.
    await Promise.all(
      names.map(async (n) => {
        await ipQuiet('netns', 'del', n.ns);
        await ipQuiet('link', 'del', n.hostVeth);
      }),
    );
  }

  async function make(n: (typeof names)[number]): Promise<void> {
    await ip('netns', 'add', n.ns);
    await ip('link', 'add', n.hostVeth, 'type', 'veth', 'peer', 'name', n.nsVeth);
    await ip('link', 'set', n.nsVeth, 'netns', n.ns);
    await ip('addr', 'add', `${n.hostIp}/30`, 'dev', n.hostVeth);
    await ip('link', 'set', n.hostVeth, 'up');
    await ip('-n', n.ns, 'addr', 'add', `${n.ip}/30`, 'dev', n.nsVeth);
    await ip('-n', n.ns, 'link', 'set', n.nsVeth, 'up');
    await ip('-n', n.ns, 'link', 'set', 'lo', 'up');
    if (n.ip6 !== undefined && n.hostIp6 !== undefined) {
      // nodad: without it the address is "tentative" for about a second and pings fail
      await ip('-6', 'addr', 'add', `${n.hostIp6}/64`, 'dev', n.hostVeth, 'nodad');
      await ip('-n', n.ns, '-6', 'addr', 'add', `${n.ip6}/64`, 'dev', n.nsVeth, 'nodad');
    }
  }

  function host(n: (typeof names)[number]): NsHost {
    const echoIgnore6 = (value: '0' | '1') => ip('netns', 'exec', n.ns, 'sysctl', '-qw', `net.ipv6.icmp.echo_ignore_all=${value}`);
    const echoIgnore = async (value: '0' | '1') => {
      await ip('netns', 'exec', n.ns, 'sysctl', '-qw', `net.ipv4.icmp_echo_ignore_all=${value}`);
      if (n.ip6 !== undefined) await echoIgnore6(value);
    };
    return {
      ns: n.ns,
      ip: n.ip,
      ip6: n.ip6,
      hostVeth: n.hostVeth,
      down: () => echoIgnore('1'),
      up: () => echoIgnore('0'),
      ignoreEcho6: (ignore: boolean) => echoIgnore6(ignore ? '1' : '0'),
      linkDown: () => ip('-n', n.ns, 'link', 'set', n.nsVeth, 'down'),
      linkUp: () => ip('-n', n.ns, 'link', 'set', n.nsVeth, 'up'),
      async listenTcp(port: number, address = n.ip) {
        if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`bad port ${port}`);
        const child = spawn('ip', ['netns', 'exec', n.ns, process.execPath, '-e', LISTENER, address, String(port)], {
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        listeners.add(child);
        let stderr = '';
        child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`listener in ${n.ns} did not start: ${stderr}`)), 10_000);
          child.stdout?.on('data', (chunk: Buffer) => {
            if (chunk.toString().includes('listening')) {
              clearTimeout(timer);
              resolve();
            }
          });
          child.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`listener in ${n.ns} exited (${code}): ${stderr}`));
          });
        }).catch(async (error: unknown) => {
          await stopListener(child);
          throw error;
        });
        return { close: () => stopListener(child) };
      },
    };
  }

  await removeAll(); // leftovers of a crashed earlier run
  try {
    for (const n of names) await make(n);
  } catch (error) {
    await removeAll();
    throw error;
  }

  return {
    hosts: names.map(host),
    unusedIp: `${subnet}.254`,
    async cleanup() {
      if (cleaned) return;
      cleaned = true;
      await removeAll();
    },
  };
}
