import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import netPing, { type PingCallback, type Session, type SessionOptions } from 'net-ping';
import type { Logger } from '../log.js';
import { runRound } from './round.js';
import { ProberSetupError, type ProbeResult, type Prober } from './types.js';

export interface IcmpProberOptions {
  readonly logger: Logger;
  /**
   * Base for the ICMP identifiers of this prober's sessions (IPv4 uses it,
   * IPv6 the next one); default: the process id. Every raw ICMP socket on the
   * host sees every echo reply, and net-ping matches replies on
   * (identifier, sequence) only, so two sessions must never share one.
   */
  readonly sessionIdBase?: number;
  /** Opens a net-ping session; default `createSession`. A seam for tests (failing sockets). */
  readonly openSession?: (options: SessionOptions) => Session;
}

/**
 * Socket buffer asked for (bytes; the kernel doubles it). Echo requests to
 * dead on-link hosts wait in the neighbour queue for ~3 s of ARP/ND and stay
 * charged to the socket's send buffer: with the 208 KiB default, ~128 of them
 * fill it and every later request, to live hosts too, waits seconds (measured:
 * a live host answered after 3.07 s behind 250 dead on-link ones; with the
 * buffer raised to 416 KiB or more it answered in 11 ms). Pacing alone cannot
 * help, the queue drains only when ARP gives up. A bigger receive buffer
 * keeps bursts of replies from being dropped.
 */
const SOCKET_BUFFER_BYTES = 4 * 1024 * 1024;
/** Linux socket option numbers (raw-socket does not export the *FORCE ones). */
const SOL_SOCKET = 1;
const SO_SNDBUF = 7;
const SO_RCVBUF = 8;
const SO_SNDBUFFORCE = 32;
const SO_RCVBUFFORCE = 33;

type Family = 4 | 6;

/** Maps a base to the identifier net-ping will really use: 1..65534 (0 would mean "pid"). */
export function icmpSessionId(base: number, offset: number): number {
  const n = Math.trunc(base) + offset - 1;
  return (((n % 65534) + 65534) % 65534) + 1;
}

/**
 * Turns the error net-ping throws when it cannot open a raw socket into the
 * start-up error the operator reads. Permission problems get the remedies.
 */
export function icmpSetupError(error: unknown): ProberSetupError {
  const reason = error instanceof Error ? error.message : String(error);
  const permission = /not permitted|permission denied|EPERM|EACCES/i.test(reason);
  const message = permission
    ? `cannot open a raw ICMP socket (${reason}): ICMP probing needs root or CAP_NET_RAW: run as root, ` +
      'grant CAP_NET_RAW (setcap cap_net_raw+ep $(command -v node) or AmbientCapabilities=CAP_NET_RAW), ' +
      'or probe with --type tcp'
    : `cannot open a raw ICMP socket (${reason}); probe with --type tcp if ICMP cannot work on this host`;
  return new ProberSetupError(message, { cause: error });
}

function errorText(error: unknown): string {
  if (error instanceof Error) {
    if (error instanceof netPing.RequestTimedOutError) return 'timeout';
    return error.message || error.name;
  }
  return String(error);
}

/**
 * ICMP echo prober over net-ping: one session (raw socket) per address
 * family, each with its own identifier, every target routed by its family
 * (an IPv6 session given an IPv4 address pings the local host and reports a
 * dead target alive). One echo per target and probe (no retries); the round
 * resolves at `timeoutMs` at the latest, whatever net-ping does (see
 * {@link runRound}: starts are paced, results come in input order). The IPv4
 * socket opens here so a missing CAP_NET_RAW fails at start-up with a
 * {@link ProberSetupError}; IPv6 opens on the first IPv6 target, and if it
 * cannot, IPv6 targets are misses that say why.
 *
 * `probe` rejects only when `signal` aborts (with its reason): an aborted
 * round is no observation.
 */
export function createIcmpProber(opts: IcmpProberOptions): Prober {
  const { logger } = opts;
  const openSession = opts.openSession ?? ((options: SessionOptions) => netPing.createSession(options));
  const base = opts.sessionIdBase ?? process.pid;
  const ids: Record<Family, number> = { 4: icmpSessionId(base, 0), 6: icmpSessionId(base, 1) };
  const sessions: Partial<Record<Family, Session>> = {};
  /** Sequence to continue from when a session is re-opened, so a late reply cannot match a new request. */
  const nextSeq: Record<Family, number> = { 4: 1, 6: 1 };
  let lastOpenError: Partial<Record<Family, string>> = {};
  let closed = false;
  /** When each request's packet was handed to the kernel, keyed by its callback. */
  const sentAt = new WeakMap<PingCallback, number>();

  function tuneBuffers(session: Session, family: Family): void {
    const socket = session.getSocket();
    const tune = (force: number, plain: number, name: string): void => {
      try {
        socket.setOption(SOL_SOCKET, force, SOCKET_BUFFER_BYTES); // needs CAP_NET_ADMIN (root)
      } catch {
        try {
          socket.setOption(SOL_SOCKET, plain, SOCKET_BUFFER_BYTES); // capped by net.core.*mem_max
        } catch (error) {
          logger.debug({ family, option: name, err: errorText(error) }, 'could not raise ICMP socket buffer');
        }
      }
    };
    if (process.platform !== 'linux') return;
    tune(SO_SNDBUFFORCE, SO_SNDBUF, 'SO_SNDBUF');
    tune(SO_RCVBUFFORCE, SO_RCVBUF, 'SO_RCVBUF');
  }

  /** Opens a session; throws what net-ping throws. */
  function open(family: Family): Session {
    const session = openSession({
      networkProtocol: family === 4 ? netPing.NetworkProtocol.IPv4 : netPing.NetworkProtocol.IPv6,
      retries: 0,
      sessionId: ids[family],
    });
    session.nextId = nextSeq[family];
    // Stamp the moment a request really leaves: raw-socket sends one packet
    // per event-loop turn, so with 10,000 targets the last one waits ~0.3 s
    // in its queue, which is no part of the round-trip time.
    const beforeSend = session.onBeforeSocketSend;
    session.onBeforeSocketSend = function (this: Session, req) {
      sentAt.set(req.callback, performance.now());
      beforeSend.call(this, req);
    };
    const forget = (): void => {
      if (sessions[family] !== session) return;
      nextSeq[family] = session.nextId;
      delete sessions[family];
    };
    session.on('error', (error) => {
      logger.warn({ family, err: errorText(error) }, 'ICMP socket error; it will be re-opened on the next probe');
      forget();
      try {
        session.close(); // fails its outstanding requests: misses
      } catch {
        // already closed by raw-socket
      }
    });
    session.on('close', () => {
      if (sessions[family] === session) logger.warn({ family }, 'ICMP socket closed; it will be re-opened on the next probe');
      forget();
    });
    tuneBuffers(session, family);
    sessions[family] = session;
    delete lastOpenError[family];
    logger.debug({ family, sessionId: ids[family] }, 'ICMP session open');
    return session;
  }

  /** The session of a family, opened if needed, or the reason it cannot be. */
  function sessionFor(family: Family): Session | string {
    const existing = sessions[family];
    if (existing) return existing;
    try {
      return open(family);
    } catch (error) {
      const reason = `cannot open a raw ICMPv${family === 4 ? 4 : 6} socket: ${errorText(error)}`;
      if (lastOpenError[family] !== reason) logger.error({ family, err: reason }, 'ICMP probes of this family will miss');
      else logger.debug({ family, err: reason }, 'ICMP session still cannot open');
      lastOpenError[family] = reason;
      return reason;
    }
  }

  try {
    open(4);
  } catch (error) {
    throw icmpSetupError(error);
  }

  function probe(ips: readonly string[], timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult[]> {
    if (closed) return Promise.reject(new Error('ICMP prober is closed'));
    const timeout = Math.max(1, Math.round(timeoutMs));
    /** Why a family cannot be probed this round: tried once per round, not per target. */
    const unavailable: Partial<Record<Family, string>> = {};
    return runRound(ips, timeout, signal, (ip, report) => {
      const family = isIP(ip);
      if (family !== 4 && family !== 6) {
        report({ ok: false, error: 'not an IP address' });
        return;
      }
      // Looked up per target: a socket that fails mid-round is replaced at once.
      const session = unavailable[family] ?? sessionFor(family);
      if (typeof session === 'string') {
        unavailable[family] = session;
        report({ ok: false, error: session });
        return;
      }
      // net-ping copies the timeout into each request; the round ends at the
      // same moment anyway.
      session.timeout = timeout;
      const queuedAt = performance.now();
      const callback: PingCallback = (error) => {
        if (error) {
          report({ ok: false, error: errorText(error) });
        } else {
          report({ ok: true, rttMs: performance.now() - (sentAt.get(callback) ?? queuedAt) });
        }
      };
      session.pingHost(ip, callback);
    });
  }

  function close(): void {
    closed = true;
    for (const family of [4, 6] as const) {
      const session = sessions[family];
      if (!session) continue;
      delete sessions[family];
      try {
        session.close();
      } catch (error) {
        logger.debug({ family, err: errorText(error) }, 'closing ICMP session failed');
      }
    }
    lastOpenError = {};
  }

  return { kind: 'ip', probe, close };
}
