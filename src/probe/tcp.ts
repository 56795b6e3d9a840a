import { connect, isIP, type Socket, type TcpNetConnectOpts } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../log.js';
import { failure, runRound } from './round.js';
import type { ProbeResult, Prober } from './types.js';

export interface TcpProberOptions {
  readonly logger: Logger;
  /** Port every target is dialled on (config `port`). */
  readonly port: number;
  /** Opens the connection; default `net.connect`. A seam for tests (a connect that fails with EMFILE). */
  readonly connect?: (options: TcpNetConnectOpts) => Socket;
}

/**
 * TCP connect prober: a target is up when a connection to `ip:port` is
 * established within the timeout (the socket is closed at once, nothing is
 * sent); refused, unreachable, reset or silent is a miss. A connect that
 * fails for a reason of this host (EMFILE, ENFILE, ENOBUFS, ENOMEM,
 * EADDRNOTAVAIL: see ./local.ts) is no observation. Needs no privilege,
 * works for IPv4 and IPv6. Holds no state between rounds: to change the port
 * on reload, create a new one (it is free).
 */
export function createTcpProber(opts: TcpProberOptions): Prober {
  const { logger, port } = opts;
  const connectTo = opts.connect ?? connect;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`TCP probe port must be an integer in 1..65535, got ${port}`);
  }
  let closed = false;

  function probe(ips: readonly string[], timeoutMs: number, signal?: AbortSignal, onResult?: (result: ProbeResult) => void): Promise<ProbeResult[]> {
    if (closed) return Promise.reject(new Error('TCP prober is closed'));
    return runRound(
      ips,
      timeoutMs,
      signal,
      (ip, report) => {
        // Only literal addresses: a name would mean a DNS lookup per probe.
        if (isIP(ip) === 0) {
          report({ ok: false, error: 'not an IP address' });
          return;
        }
        const startedAt = performance.now();
        // May throw (runRound turns that into this target's failure); EMFILE and
        // other local errors usually come back as an 'error' event instead.
        const socket = connectTo({ host: ip, port, noDelay: true });
        socket.once('connect', () => {
          report({ ok: true, rttMs: performance.now() - startedAt });
          socket.destroy();
        });
        socket.once('error', (error: NodeJS.ErrnoException) => {
          // EMFILE, EADDRNOTAVAIL...: no probe left this host, no observation (not a miss).
          report(failure(error, error.code ? `${error.code}: ${error.message}` : error.message));
          socket.destroy();
        });
        return () => socket.destroy();
      },
      { onResult },
    );
  }

  function close(): void {
    closed = true;
    logger.debug({ port }, 'TCP prober closed');
  }

  return { kind: 'tcp', probe, close };
}
