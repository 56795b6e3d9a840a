import { connect, isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { runRound } from './round.js';
import type { ProbeResult, Prober } from './types.js';

export interface TcpProberOptions {
  readonly logger: Logger;
  /** Port every target is dialled on (config `port`). */
  readonly port: number;
}

/**
 * TCP connect prober: a target is up when a connection to `ip:port` is
 * established within the timeout (the socket is closed at once, nothing is
 * sent); refused, unreachable, reset or silent is a miss. Needs no privilege,
 * works for IPv4 and IPv6. Holds no state between rounds: to change the port
 * on reload, create a new one (it is free).
 */
export function createTcpProber(opts: TcpProberOptions): Prober {
  const { logger, port } = opts;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`TCP probe port must be an integer in 1..65535, got ${port}`);
  }
  let closed = false;

  function probe(ips: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult[]> {
    if (closed) return Promise.reject(new Error('TCP prober is closed'));
    return runRound(ips, timeoutMs, signal, (ip, report) => {
      // Only literal addresses: a name would mean a DNS lookup per probe.
      if (isIP(ip) === 0) {
        report({ ok: false, error: 'not an IP address' });
        return;
      }
      const startedAt = performance.now();
      const socket = connect({ host: ip, port, noDelay: true });
      socket.once('connect', () => {
        report({ ok: true, rttMs: performance.now() - startedAt });
        socket.destroy();
      });
      socket.once('error', (error: NodeJS.ErrnoException) => {
        report({ ok: false, error: error.code ? `${error.code}: ${error.message}` : error.message });
        socket.destroy();
      });
      return () => socket.destroy();
    });
  }

  function close(): void {
    closed = true;
    logger.debug({ port }, 'TCP prober closed');
  }

  return { kind: 'tcp', probe, close };
}
