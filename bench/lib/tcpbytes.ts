/**
 * TCP payload bytes sent per process, from the kernel's per-connection
 * counters (`tcp_info.tcpi_bytes_sent`, shown by `ss -i`).
 *
 * Why this method: no nftables/iptables here to count per port, and
 * /proc/<pid>/io counts every write (logs included). `bytes_sent` is exact
 * per socket, covers everything libp2p puts on the connection (gossipsub
 * RPCs, noise and yamux framing, pnet, identify, pings), and excludes
 * TCP/IP headers; `segs_out` (every segment, pure ACKs too) lets the report
 * add those: on loopback an IPv4 + TCP header with timestamps is 52 bytes.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export const HEADER_BYTES_PER_SEGMENT = 52;

export interface SocketCounters {
  /** "local peer" address pair, unique per connection. */
  readonly key: string;
  readonly local: string;
  readonly peer: string;
  readonly pids: readonly number[];
  readonly bytesSent: number;
  readonly segsOut: number;
}

/** Parses `ss -tinpH state established` output (socket line, then its indented info line). */
export function parseSs(text: string): SocketCounters[] {
  const out: SocketCounters[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '' || /^\s/.test(line)) continue;
    const cols = line.trim().split(/\s+/);
    // Recv-Q Send-Q Local Peer [users:(...)]
    const local = cols[2];
    const peer = cols[3];
    if (local === undefined || peer === undefined) continue;
    const pids = [...line.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
    let info = '';
    while (i + 1 < lines.length && /^\s/.test(lines[i + 1]!)) info += ` ${lines[++i]!.trim()}`;
    const num = (name: string): number => {
      const m = new RegExp(`(?:^|\\s)${name}:(\\d+)`).exec(info);
      return m ? Number(m[1]) : 0;
    };
    out.push({ key: `${local} ${peer}`, local, peer, pids, bytesSent: num('bytes_sent'), segsOut: num('segs_out') });
  }
  return out;
}

export async function snapshotSockets(): Promise<SocketCounters[]> {
  const { stdout } = await run('ss', ['-tinpH', 'state', 'established'], { maxBuffer: 64 * 1024 * 1024 });
  return parseSs(stdout);
}

export interface SentTotals {
  readonly bytes: number;
  readonly segments: number;
  /** Connection keys owned by the process (to notice connections that came or went). */
  readonly keys: ReadonlySet<string>;
}

/** What `pid` sent on its established connections, optionally only those whose peer port is in `peerPorts` or local port in `localPorts`. */
export function sentBy(sockets: readonly SocketCounters[], pid: number, filter?: { ports: ReadonlySet<number> }): SentTotals {
  let bytes = 0;
  let segments = 0;
  const keys = new Set<string>();
  const port = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1));
  for (const s of sockets) {
    if (!s.pids.includes(pid)) continue;
    if (filter && !filter.ports.has(port(s.local)) && !filter.ports.has(port(s.peer))) continue;
    bytes += s.bytesSent;
    segments += s.segsOut;
    keys.add(s.key);
  }
  return { bytes, segments, keys };
}

/** Bytes and segments sent between two snapshots; throws when the process's connection set changed (counters of closed sockets are lost). */
export function sentBetween(a: SentTotals, b: SentTotals): { bytes: number; segments: number } {
  const same = a.keys.size === b.keys.size && [...a.keys].every((k) => b.keys.has(k));
  if (!same)
    throw new ConnectionsChanged(
      [...a.keys].filter((k) => !b.keys.has(k)),
      [...b.keys].filter((k) => !a.keys.has(k)),
    );
  return { bytes: b.bytes - a.bytes, segments: b.segments - a.segments };
}

export class ConnectionsChanged extends Error {
  constructor(
    readonly gone: string[],
    readonly added: string[],
  ) {
    super(`connections changed between snapshots (gone: ${gone.join(', ') || '-'}; new: ${added.join(', ') || '-'})`);
  }
}
