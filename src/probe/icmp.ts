import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { performance } from 'node:perf_hooks';
import raw, { type Socket } from 'raw-socket';
import type { Logger } from '../log.js';
import { canonicalIp, type Family } from '../net/ip.js';
import { ECHO_BYTES, parsePacket, writeEchoRequest, type Received } from './icmp-packet.js';
import { failure, runRound, type Outcome } from './round.js';
import { ProberSetupError, type ProbeResult, type Prober } from './types.js';

export interface IcmpProberOptions {
  readonly logger: Logger;
  /**
   * Base for the ICMP identifiers of this prober's sockets (IPv4 uses it,
   * IPv6 the next one); default: the process id. Every raw ICMP socket on the
   * host sees every echo reply: replies are sorted by identifier first.
   */
  readonly sessionIdBase?: number;
  /** Opens a raw ICMP socket of a family; default raw-socket's `createSocket`. A seam for tests (failing sockets). */
  readonly openSocket?: (family: Family) => Socket;
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
/** Each buffer's option: the capped one and the one root may force past net.core.*mem_max. */
const BUFFER_OPTIONS = [
  { name: 'SO_SNDBUF', plain: 7, force: 32 },
  { name: 'SO_RCVBUF', plain: 8, force: 33 },
] as const;
/** Replies read per readable event at most, so one busy socket cannot hold the event loop. */
const DRAIN_LIMIT = 4096;
/** Sequence numbers: 16 bits. */
const SEQ_SPACE = 0x10000;

/** Maps a base to an identifier in 1..65534 (two bases that differ by less than 65534 never collide). */
export function icmpSessionId(base: number, offset: number): number {
  const n = Math.trunc(base) + offset - 1;
  return (((n % 65534) + 65534) % 65534) + 1;
}

/**
 * Turns the error raw-socket throws when it cannot open a raw socket into
 * the start-up error the operator reads. Permission problems get the remedies.
 */
export function icmpSetupError(error: unknown): ProberSetupError {
  if (error instanceof ProberSetupError) return error;
  const reason = errorText(error);
  const code = errorCode(error);
  // A code decides when the error has one; raw-socket 1.8 throws `new Error(strerror(errno))`
  // with no code, so for its errors only the text can tell.
  const permission = code !== undefined ? code === 'EPERM' || code === 'EACCES' : /not permitted|permission denied|EPERM|EACCES/i.test(reason);
  const message = permission
    ? `cannot open a raw ICMP socket (${reason}): ICMP probing needs root or CAP_NET_RAW: run as root, ` +
      'grant CAP_NET_RAW (setcap cap_net_raw+ep $(command -v node) or AmbientCapabilities=CAP_NET_RAW), ' +
      'or probe with --type tcp'
    : `cannot open a raw ICMP socket (${reason}); probe with --type tcp if ICMP cannot work on this host`;
  return new ProberSetupError(message, { cause: error });
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  return String(error);
}

/** The `code` of an error that carries one (`EAGAIN`); raw-socket's own errors never do. */
function errorCode(error: unknown): string | undefined {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  return typeof code === 'string' ? code : undefined;
}

/**
 * The send buffer is full: the packet waits for the socket to be writable.
 * By code when the error has one; raw-socket's `wrap.send` throws a bare
 * strerror() text (EAGAIN "Resource temporarily unavailable", ENOBUFS "No
 * buffer space available") with no code, so for it the text is all there is.
 */
function isBackpressure(error: unknown): boolean {
  const code = errorCode(error);
  if (code !== undefined) return code === 'EAGAIN' || code === 'EWOULDBLOCK' || code === 'ENOBUFS';
  return /temporarily unavailable|would block|no buffer space/i.test(errorText(error));
}

/**
 * What the engine calls on a raw-socket socket, beyond its documented
 * `send`/`on`/`close`: the native `wrap.send`/`wrap.recv` (one sendto or
 * recvfrom each, synchronous) and the `buffer` replies are read into. These
 * are raw-socket internals; a version that renamed them would make every
 * probe silently fail, so they are checked once, at open.
 */
const SOCKET_CALLS = ['wrap.send', 'wrap.recv', 'send', 'setOption', 'close', 'on'] as const;

/** The calls of {@link SOCKET_CALLS} (and the `buffer`) that `socket` lacks. */
export function missingSocketCalls(socket: unknown): string[] {
  const s = socket as { wrap?: Record<string, unknown>; buffer?: unknown } & Record<string, unknown>;
  const missing: string[] = SOCKET_CALLS.filter((call) => {
    const [a, b] = call.split('.') as [string, string | undefined];
    const holder = b === undefined ? s : (s?.[a] as Record<string, unknown> | undefined);
    return typeof holder?.[b ?? a] !== 'function';
  });
  if (!Buffer.isBuffer(s?.buffer)) missing.push('buffer');
  return missing;
}

function openRawSocket(family: Family): Socket {
  return raw.createSocket({
    protocol: family === 4 ? raw.Protocol.ICMP : raw.Protocol.ICMPv6,
    addressFamily: family === 4 ? raw.AddressFamily.IPv4 : raw.AddressFamily.IPv6,
    bufferSize: 4096,
  });
}

/** Numbering that must survive a socket being re-opened, so a late reply cannot match a new request. */
interface Numbering {
  seq: number;
  counter: number;
}

/**
 * One raw ICMP socket of one family and the requests waiting on it, indexed
 * by sequence number. Sends go straight to the kernel, one `sendto` each,
 * in the caller's turn; only when the send buffer is full do they queue
 * behind raw-socket's writable wait. Replies are read until the socket is
 * empty on every readable event.
 */
class Channel {
  private readonly ips: (string | undefined)[] = new Array(SEQ_SPACE);
  private readonly reports: (((o: Outcome) => void) | undefined)[] = new Array(SEQ_SPACE);
  private readonly counters = new Uint32Array(SEQ_SPACE);
  private readonly sentAt = new Float64Array(SEQ_SPACE);
  private readonly packet = Buffer.alloc(ECHO_BYTES);
  /** Packets waiting in raw-socket's queue for the socket to be writable. */
  private queued = 0;
  private draining = false;
  private closed = false;

  constructor(
    readonly family: Family,
    private readonly id: number,
    private readonly token: number,
    private readonly numbering: Numbering,
    readonly socket: Socket,
    private readonly onGone: (channel: Channel, why: string) => void,
  ) {
    socket.on('message', (buf, source) => {
      this.receive(buf, source);
      this.drain();
    });
    socket.on('error', (error) => this.gone(`ICMP socket error: ${errorText(error)}`, error));
    socket.on('close', () => this.gone('ICMP socket closed'));
  }

  /** Sends one echo request; `report` is called once unless the returned cancel runs first. */
  send(ip: string, report: (o: Outcome) => void): () => void {
    const target = this.family === 4 ? ip : (canonicalIp(ip) ?? ip);
    const n = this.numbering;
    const seq = n.seq;
    n.seq = (seq + 1) % SEQ_SPACE;
    const counter = n.counter;
    n.counter = (counter + 1) >>> 0;
    // More than 65,536 requests of one family in flight: the oldest one gives way.
    this.settle(seq, { ok: false, error: 'superseded: more than 65536 requests in flight' });
    this.ips[seq] = target;
    this.reports[seq] = report;
    this.counters[seq] = counter;
    const packet = writeEchoRequest(this.packet, this.family, this.id, seq, this.token, counter);
    const cancel = (): void => {
      if (this.counters[seq] === counter && this.ips[seq] !== undefined) this.clear(seq);
    };
    if (this.queued === 0) {
      try {
        this.sentAt[seq] = performance.now();
        this.socket.wrap.send(packet, 0, ECHO_BYTES, ip, noop);
        return cancel;
      } catch (error) {
        if (!isBackpressure(error)) {
          // ENOMEM, ...: no observation; EINVAL (a blackhole route) and the like: a miss.
          this.settle(seq, failure(error, errorText(error)));
          return cancel;
        }
      }
    }
    // Keep the order: once one packet waits, the next ones wait behind it.
    this.queued++;
    this.socket.send(Buffer.from(packet), 0, ECHO_BYTES, ip, (error) => {
      this.queued--;
      if (this.counters[seq] !== counter || this.ips[seq] === undefined) return;
      // ENOBUFS after waiting for the socket to drain: never sent, no observation.
      if (error) this.settle(seq, failure(error, errorText(error)));
      else this.sentAt[seq] = performance.now();
    });
    return cancel;
  }

  private receive(buf: Uint8Array, source: string): void {
    const r = parsePacket(this.family, buf);
    if (r === undefined || r.id !== this.id) return;
    const ip = this.ips[r.seq];
    if (ip === undefined) return;
    if (r.kind === 'reply') {
      if (r.token !== this.token || r.counter !== this.counters[r.seq] || !this.sameAddress(source, ip)) return;
      this.settle(r.seq, { ok: true, rttMs: performance.now() - this.sentAt[r.seq]! });
      return;
    }
    this.error(r, ip, source);
  }

  private error(r: Extract<Received, { kind: 'error' }>, ip: string, source: string): void {
    if (r.to !== ip) return;
    this.settle(r.seq, { ok: false, error: `${r.reason} (from ${source})` });
  }

  private sameAddress(source: string, ip: string): boolean {
    return this.family === 4 ? source === ip : canonicalIp(source) === ip;
  }

  /**
   * Reads every reply waiting in the socket; raw-socket itself reads one packet per readable event.
   *
   * The invariant this depends on: the socket is non-blocking, so `wrap.recv`
   * either delivers one packet (its callback runs before it returns) or
   * throws — EAGAIN when the socket is empty. A throw is therefore the
   * normal end of the loop, and the only one besides DRAIN_LIMIT. It is not
   * told apart from a real error (raw-socket gives no code, only strerror
   * text): a real error comes back on the next readable event, where
   * raw-socket's own recv emits it as 'error' and the channel is re-opened.
   * Two more things rely on the synchronous callback: `onRecv` parses
   * `socket.buffer` before the next recv overwrites it (the 'message' path
   * shares that buffer), and `flush()` at a round's deadline sees every reply
   * the kernel already holds, so none is declared a timeout while it waits
   * unread. `draining` stops a report that calls flush() from re-entering.
   */
  drain(): void {
    if (this.draining || this.closed) return;
    this.draining = true;
    try {
      for (let i = 0; i < DRAIN_LIMIT; i++) this.socket.wrap.recv(this.socket.buffer, this.onRecv);
    } catch {
      // EAGAIN: empty (see above). Any other error comes back on the next readable event through raw-socket.
    } finally {
      this.draining = false;
    }
  }

  private readonly onRecv = (buf: Buffer, bytes: number, source: string): void => {
    this.receive(buf.subarray(0, bytes), source);
  };

  private settle(seq: number, outcome: Outcome): void {
    const report = this.reports[seq];
    if (report === undefined) return;
    this.clear(seq);
    report(outcome);
  }

  private clear(seq: number): void {
    this.ips[seq] = undefined;
    this.reports[seq] = undefined;
  }

  private gone(why: string, error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.onGone(this, why);
    try {
      this.socket.close();
    } catch {
      // already closed by raw-socket
    }
    this.failAll(why, error);
  }

  /**
   * Every request still waiting becomes a miss that says why, or no
   * observation when the socket failed for a reason of this host (ENOBUFS...).
   */
  failAll(why: string, error?: unknown): void {
    const outcome = error === undefined ? { ok: false, error: why } : failure(error, why);
    for (let seq = 0; seq < SEQ_SPACE; seq++) if (this.reports[seq] !== undefined) this.settle(seq, outcome);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
    for (let seq = 0; seq < SEQ_SPACE; seq++) this.clear(seq);
  }
}

function noop(): void {}

/**
 * ICMP echo prober on raw sockets (raw-socket): one socket per address
 * family, each with its own identifier, every target routed by its family
 * (an IPv6 socket given an IPv4 address would ping the local host and report
 * a dead target alive). One echo per target and probe (no retries); the
 * round resolves at `timeoutMs` at the latest (see {@link runRound}: starts
 * are chunked, results come in input order). A reply counts only when its
 * identifier, sequence, payload (a per-prober token and a send counter) and
 * source address all match the request; an ICMP error quoting the request
 * (destination unreachable, time exceeded) is a miss at once.
 *
 * The IPv4 socket opens here so a missing CAP_NET_RAW fails at start-up with
 * a {@link ProberSetupError}; IPv6 opens on the first IPv6 target, and if it
 * cannot, IPv6 targets are misses that say why. A socket that fails is
 * re-opened on the next probe.
 *
 * Failures of this host are no observation, not misses (see ./local.ts): a
 * socket that cannot open for lack of descriptors or memory (EMFILE, ENFILE,
 * ENOMEM), a send that fails with ENOBUFS after waiting for the socket to
 * drain, or ENOMEM. A send to an address that hits a blackhole route fails
 * with EINVAL: that is about the target's route, and stays a miss.
 *
 * `probe` rejects only when `signal` aborts (with its reason): an aborted
 * round is no observation.
 */
export function createIcmpProber(opts: IcmpProberOptions): Prober {
  const { logger } = opts;
  const openSocket = opts.openSocket ?? openRawSocket;
  const base = opts.sessionIdBase ?? process.pid;
  const ids: Record<Family, number> = { 4: icmpSessionId(base, 0), 6: icmpSessionId(base, 1) };
  const token = randomBytes(4).readUInt32BE(0);
  const numbering: Record<Family, Numbering> = { 4: { seq: 0, counter: 0 }, 6: { seq: 0, counter: 0 } };
  const channels: Partial<Record<Family, Channel>> = {};
  let lastOpenError: Partial<Record<Family, string>> = {};
  let closed = false;

  function tuneBuffers(socket: Socket, family: Family): void {
    if (process.platform !== 'linux') return;
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
    for (const { name, plain, force } of BUFFER_OPTIONS) tune(force, plain, name);
  }

  /** Opens a channel; throws what raw-socket throws, or a ProberSetupError when the socket lacks a call the engine makes. */
  function open(family: Family): Channel {
    const socket = openSocket(family);
    const missing = missingSocketCalls(socket);
    if (missing.length > 0) {
      try {
        (socket as { close?: () => void }).close?.();
      } catch {
        // it was not usable anyway
      }
      throw new ProberSetupError(
        `the raw ICMPv${family} socket lacks ${missing.join(', ')}, which goavail's ICMP engine calls: ` +
          'install the raw-socket version package.json pins (npm ci), or probe with --type tcp',
      );
    }
    const channel = new Channel(family, ids[family], token, numbering[family], socket, (ch, why) => {
      if (channels[family] !== ch) return;
      delete channels[family];
      logger.warn({ family, err: why }, 'ICMP socket lost; it will be re-opened on the next probe');
    });
    tuneBuffers(socket, family);
    channels[family] = channel;
    delete lastOpenError[family];
    logger.debug({ family, id: ids[family] }, 'ICMP socket open');
    return channel;
  }

  /**
   * The channel of a family, opened if needed, or the outcome of its targets
   * when it cannot be: a miss that says why, or no observation when the open
   * failed for lack of this host's resources (EMFILE, ENFILE, ENOMEM...).
   */
  function channelFor(family: Family): Channel | Outcome {
    const existing = channels[family];
    if (existing) return existing;
    try {
      return open(family);
    } catch (error) {
      const reason = `cannot open a raw ICMPv${family === 4 ? 4 : 6} socket: ${errorText(error)}`;
      const outcome = failure(error, reason);
      if (lastOpenError[family] !== reason) {
        if (outcome.local) logger.warn({ family, err: reason }, 'ICMP probes of this family send nothing until the socket opens (no observation, not a miss)');
        else logger.error({ family, err: reason }, 'ICMP probes of this family will miss');
      } else logger.debug({ family, err: reason }, 'ICMP socket still cannot open');
      lastOpenError[family] = reason;
      return outcome;
    }
  }

  try {
    open(4);
  } catch (error) {
    throw icmpSetupError(error);
  }

  function probe(ips: readonly string[], timeoutMs: number, signal?: AbortSignal, onResult?: (result: ProbeResult) => void): Promise<ProbeResult[]> {
    if (closed) return Promise.reject(new Error('ICMP prober is closed'));
    /** Why a family cannot be probed this round: tried once per round, not per target. */
    const unavailable: Partial<Record<Family, Outcome>> = {};
    return runRound(
      ips,
      timeoutMs,
      signal,
      (ip, report) => {
        const family = isIP(ip);
        if (family !== 4 && family !== 6) {
          report({ ok: false, error: 'not an IP address' });
          return;
        }
        // Looked up per target: a socket that fails mid-round is replaced at once.
        const channel = unavailable[family] ?? channelFor(family);
        if (!(channel instanceof Channel)) {
          unavailable[family] = channel;
          report(channel);
          return;
        }
        return channel.send(ip, report);
      },
      { flush, onResult },
    );
  }

  /** Reads the replies already in the sockets (the round's deadline calls it before declaring timeouts). */
  function flush(): void {
    channels[4]?.drain();
    channels[6]?.drain();
  }

  function close(): void {
    closed = true;
    for (const family of [4, 6] as const) {
      const channel = channels[family];
      if (!channel) continue;
      delete channels[family];
      try {
        channel.close();
      } catch (error) {
        logger.debug({ family, err: errorText(error) }, 'closing ICMP socket failed');
      }
    }
    lastOpenError = {};
  }

  return { kind: 'ip', probe, close };
}
