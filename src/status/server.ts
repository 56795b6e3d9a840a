import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { AgentStatus } from './view.js';
import { splitHostPort } from '../net/hostport.js';
import type { Gossip } from '../gossip/types.js';
import type { Logger } from '../log.js';
import type { ControlRefusal, Metrics } from './metrics.js';
import type { DrainAnswer, DrainControl } from '../drain/types.js';
import { BearerCheck, CONTROL_ROUTES, isControlPath, MAX_CONTROL_BODY_BYTES, parseDrainBody, parseUndrainBody, type ControlPath } from '../control/request.js';
import type { History } from './history.js';
import { statusPage } from './page.js';
import { nullForUndefined, type StatusDocument } from './render.js';

export interface StatusServerOptions {
  /** `host:port` or `[IPv6]:port`; port 0 picks a free one (see the returned `address`). */
  readonly addr: string;
  readonly agent: { status(): AgentStatus };
  readonly metrics: Pick<Metrics, 'metrics' | 'contentType'> & Partial<Pick<Metrics, 'controlRefused'>>;
  readonly logger: Logger;
  /** For the drop counters in /status (cluster mode). */
  readonly gossip?: Pick<Gossip, 'drops'>;
  /** Recent events and RTTs for `GET /events` and the page (absent: an empty history). */
  readonly history?: Pick<History, 'document'>;
  /**
   * The agent's drains, for the control routes (`POST /drain`, `POST /undrain`, `GET /drains`).
   * Absent (or no `controlToken`): those routes answer 503.
   */
  readonly control?: DrainControl;
  /** The bearer token every control request must carry (src/control/token.ts); never logged. */
  readonly controlToken?: string;
  readonly now?: () => number;
  /** Overrides {@link SOCKET_IDLE_TIMEOUT_MS} (tests: a stalled reader in a second, not in ten). */
  readonly socketIdleTimeoutMs?: number;
}

export interface StatusServer {
  /** `host:port` actually bound (`[::1]:9100` for IPv6). */
  readonly address: string;
  /** Stops listening and ends open (keep-alive) connections at once. */
  close(): Promise<void>;
}

/** The listener could not start (address in use, not local, bad address). */
export class StatusServerError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'StatusServerError';
  }
}

/*
 * Listener limits. Every connection costs this process a file descriptor,
 * and so do the probes: without bounds, any local process could hold open
 * thousands of idle or slowloris connections, starve the TCP prober of
 * descriptors (EMFILE) and stop /healthz from answering. Monitoring clients
 * make a handful of short requests, so the bounds can be tight.
 */

/**
 * Connections open at once, all clients together (`server.maxConnections`):
 * Node closes the excess at once on accept. 64 is many scrapers and
 * `goavail status` users at a time, and a small share of the default
 * 1,024-descriptor limit, so the probes keep theirs.
 */
export const MAX_CONNECTIONS = 64;
/**
 * Connections open at once from one remote address: the excess is closed at
 * once, so a single client cannot take every slot of MAX_CONNECTIONS when
 * the listener is exposed beyond loopback.
 */
export const MAX_CONNECTIONS_PER_SOURCE = 16;
/**
 * Time from a connection (or the previous response) to a complete request
 * head. Node's headersTimeout also covers a connection that never sends a
 * byte (checked: it gets a 408 and is closed). A local client sends its few
 * hundred bytes of headers in a millisecond; 2 s also covers a slow link.
 */
export const HEADERS_TIMEOUT_MS = 2_000;
/** Time to receive a whole request (bodies are never read, but must arrive). */
const REQUEST_TIMEOUT_MS = 5_000;
/** An idle keep-alive connection is closed after this: monitoring clients poll every few seconds at most. */
const KEEP_ALIVE_TIMEOUT_MS = 5_000;
/**
 * How often Node checks the headers and request timeouts. Node tests them
 * only every connectionsCheckingInterval (30 s by default): with the default,
 * a 2 s headers timeout fired after up to 32 s.
 */
export const CONNECTIONS_CHECK_MS = 1_000;
/**
 * A socket with no traffic either way for this long is destroyed. The
 * parser's timeouts stop once a request has arrived: a client that asks for
 * /metrics and never reads the answer would otherwise hold the socket and
 * the whole unsent answer forever (checked). Measured on loopback: a paused
 * reader of a 32 MB answer went with a 3 s timeout after ~6 s (the kernel
 * keeps taking data for a while as the receiver's buffer grows).
 */
export const SOCKET_IDLE_TIMEOUT_MS = 5_000;

/**
 * /healthz fails when the last probe round is older than this: three
 * intervals, and never less than 3 s so a sub-second interval does not
 * flap on a busy machine.
 */
export function healthStaleMs(intervalMs: number): number {
  return Math.max(3 * intervalMs, 3_000);
}

/** The /healthz verdict: undefined when healthy, else the reason. Pure. */
export function unhealthyReason(s: Pick<AgentStatus, 'running' | 'lastRoundAt' | 'startedAt' | 'intervalMs'>, now: number): string | undefined {
  if (!s.running) return 'agent not running';
  const limit = healthStaleMs(s.intervalMs);
  // Before the first round completes, the start time stands in for it.
  const last = s.lastRoundAt ?? s.startedAt;
  if (last === undefined) return 'agent not started';
  const age = now - last;
  if (age > limit) {
    return s.lastRoundAt === undefined
      ? `no probe round completed in ${(age / 1000).toFixed(1)} s since start (limit ${(limit / 1000).toFixed(1)} s)`
      : `last probe round ${(age / 1000).toFixed(1)} s ago (limit ${(limit / 1000).toFixed(1)} s)`;
  }
  return undefined;
}

/** The /status document. */
function statusDocument(agent: { status(): AgentStatus }, gossip: Pick<Gossip, 'drops'> | undefined, now: number): StatusDocument {
  return { ...agent.status(), now, gossipDrops: gossip?.drops() };
}

/** The body as UTF-8 text, read to at most `max` bytes (then 'too-large', the rest left unread). */
function readBody(req: IncomingMessage, max: number): Promise<string | 'too-large' | 'not-utf8' | 'aborted'> {
  return new Promise((resolve, reject) => {
    // A client that goes away mid-body: nothing to answer (resolving twice is a no-op).
    req.once('close', () => {
      if (!req.complete) resolve('aborted');
    });
    const chunks: Buffer[] = [];
    let total = 0;
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > max) {
        req.off('data', onData);
        req.pause();
        resolve('too-large');
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.on('end', () => {
      try {
        resolve(new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks, total)));
      } catch {
        resolve('not-utf8');
      }
    });
    req.on('error', reject);
  });
}

function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/**
 * The local HTTP listener: `GET /` (the status page, ./page.ts),
 * `GET /status` (JSON, see {@link StatusDocument}), `GET /events` (JSON,
 * the recent events and RTTs, see ./history.ts),
 * the control routes `POST /drain`, `POST /undrain`, `GET /drains` (each
 * with `Authorization: Bearer <token>`, see src/control/request.ts),
 * `GET /metrics` (Prometheus text), `GET /healthz` (200 `ok`, or 503 and
 * the reason). HEAD is answered like GET without a body; other methods get
 * 405, other paths 404. A handler error is a 500 for that request only.
 *
 * Bounded so that no client can exhaust the agent's file descriptors (the
 * probes need them): {@link MAX_CONNECTIONS} in all,
 * {@link MAX_CONNECTIONS_PER_SOURCE} per remote address (the excess is closed
 * at once), and every connection that is idle, slow to send its request
 * (slowloris) or slow to read its answer is closed within seconds (see the
 * constants above).
 */
export async function startStatusServer(opts: StatusServerOptions): Promise<StatusServer> {
  const hp = splitHostPort(opts.addr, { allowPortZero: true });
  if (typeof hp === 'string') throw new StatusServerError(`status_addr "${opts.addr}": ${hp}`, 'EINVAL');
  const now = opts.now ?? Date.now;
  const log = opts.logger;

  const send = (res: ServerResponse, status: number, type: string, body: string, extra: Record<string, string> = {}): void => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
  };
  const text = 'text/plain; charset=utf-8';
  const json = 'application/json; charset=utf-8';
  const page = statusPage();
  const paths = new Set(['/', '/status', '/events', '/metrics', '/healthz']);
  const bearer = opts.controlToken !== undefined ? new BearerCheck(opts.controlToken) : undefined;
  const sendJson = (res: ServerResponse, status: number, doc: unknown, extra: Record<string, string> = {}): void =>
    send(res, status, json, `${JSON.stringify(doc, nullForUndefined)}\n`, extra);
  let controlLoggedAt = -Infinity;
  const refuse = (req: IncomingMessage, res: ServerResponse, why: ControlRefusal, status: number, error: string, extra: Record<string, string> = {}): void => {
    opts.metrics.controlRefused?.(why);
    // Refusals of a wrong token are worth a line (someone tries), but at most one a minute.
    if (why === 'unauthorized' && now() - controlLoggedAt >= 60_000) {
      controlLoggedAt = now();
      log.warn(
        { remote: req.socket.remoteAddress, path: req.url },
        'control request without the right token refused (further ones are not logged for a minute)',
      );
    }
    // A body the server did not read would be taken for the next request: close the connection.
    const close: Record<string, string> = req.method === 'POST' && !req.readableEnded ? { connection: 'close' } : {};
    sendJson(res, status, { error }, { ...close, ...extra });
  };

  /**
   * The control routes, in this order: method (405), a control to talk to
   * (503), the bearer token (401, loopback included), then the body:
   * JSON (415), at most MAX_CONTROL_BODY_BYTES (413), its fields (400);
   * then the agent's answer (200, or its refusal's status).
   */
  const handleControl = async (path: ControlPath, req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const allowed = CONTROL_ROUTES[path];
    if (req.method !== allowed) return refuse(req, res, 'method', 405, `method not allowed: ${path} takes ${allowed}`, { allow: allowed });
    const control = opts.control;
    if (control === undefined) return refuse(req, res, 'unavailable', 503, 'this agent has no drain control: drains cannot be changed or listed here');
    if (bearer === undefined) {
      return refuse(req, res, 'unavailable', 503, 'the control endpoint is off on this agent: it has no control token (see its log for why)');
    }
    if (!bearer.accepts(req.headers.authorization)) {
      return refuse(req, res, 'unauthorized', 401, 'missing or wrong control token: send "Authorization: Bearer <the token in control_token_file>"', {
        'www-authenticate': 'Bearer realm="goavail"',
      });
    }
    if (path === '/drains') return sendJson(res, 200, { now: now(), drains: control.list(now()) });
    const type = (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
    if (type !== 'application/json') {
      return refuse(
        req,
        res,
        'unsupported-type',
        415,
        `content-type must be application/json, got ${type === '' ? 'none' : JSON.stringify(type.slice(0, 60))}`,
      );
    }
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > MAX_CONTROL_BODY_BYTES) {
      return refuse(req, res, 'too-large', 413, `body too large: ${declared} bytes, at most ${MAX_CONTROL_BODY_BYTES}`);
    }
    const body = await readBody(req, MAX_CONTROL_BODY_BYTES);
    if (body === 'aborted') return void res.destroy();
    if (body === 'too-large') return refuse(req, res, 'too-large', 413, `body too large: more than ${MAX_CONTROL_BODY_BYTES} bytes`);
    if (body === 'not-utf8') return refuse(req, res, 'bad-request', 400, 'body: not valid UTF-8');
    let answer: DrainAnswer;
    if (path === '/drain') {
      const r = parseDrainBody(body);
      if (!r.ok) return refuse(req, res, 'bad-request', 400, r.error);
      answer = control.drain(r.value, now());
    } else {
      const r = parseUndrainBody(body);
      if (!r.ok) return refuse(req, res, 'bad-request', 400, r.error);
      answer = control.undrain(r.value, now());
    }
    if (!answer.ok) return refuse(req, res, 'refused', answer.status, answer.error);
    return sendJson(res, 200, { ok: true, entry: answer.entry, note: answer.note });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0] ?? '';
    if (isControlPath(path)) return handleControl(path, req, res);
    // Bodies of the read-only routes are never read; drain them so the connection can be reused.
    req.resume();
    if (!paths.has(path)) return send(res, 404, text, 'not found: try /, /status, /events, /metrics or /healthz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, text, 'method not allowed\n', { allow: 'GET, HEAD' });
    if (path === '/metrics') return send(res, 200, opts.metrics.contentType, await opts.metrics.metrics());
    if (path === '/status') {
      const body = JSON.stringify(statusDocument(opts.agent, opts.gossip, now()), nullForUndefined);
      return send(res, 200, json, `${body}\n`);
    }
    if (path === '/events') {
      const doc = opts.history?.document(now()) ?? { now: now(), events: [], dropped: 0, rtt: {} };
      return send(res, 200, json, `${JSON.stringify(doc)}\n`);
    }
    if (path === '/') {
      return send(res, 200, 'text/html; charset=utf-8', page.html, {
        'content-security-policy': page.csp,
        'x-content-type-options': 'nosniff',
        'referrer-policy': 'no-referrer',
      });
    }
    const reason = unhealthyReason(opts.agent.status(), now());
    return reason === undefined ? send(res, 200, text, 'ok\n') : send(res, 503, text, `${reason}\n`);
  };

  const server = createServer(
    {
      headersTimeout: HEADERS_TIMEOUT_MS,
      requestTimeout: REQUEST_TIMEOUT_MS,
      connectionsCheckingInterval: CONNECTIONS_CHECK_MS,
    },
    (req, res) => {
      req.on('error', () => undefined);
      res.on('error', () => undefined);
      handle(req, res).catch((err: unknown) => {
        log.error({ err, url: req.url }, 'status request failed');
        if (!res.headersSent) send(res, 500, text, 'internal error\n');
        else res.destroy();
      });
    },
  );
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    // A request head or body that did not arrive within HEADERS_TIMEOUT_MS / REQUEST_TIMEOUT_MS.
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? '408 Request Timeout' : '400 Bad Request';
    if (socket.writable) socket.end(`HTTP/1.1 ${status}\r\nconnection: close\r\n\r\n`);
    else socket.destroy();
  });
  // Monitoring clients poll; a short idle keep-alive bounds what close() has to cut.
  server.keepAliveTimeout = KEEP_ALIVE_TIMEOUT_MS;
  server.maxConnections = MAX_CONNECTIONS;
  // Sockets silent for this long are destroyed (no 'timeout' listener on the server: Node destroys them).
  server.timeout = opts.socketIdleTimeoutMs ?? SOCKET_IDLE_TIMEOUT_MS;
  const perSource = new Map<string, number>();
  let refusedLoggedAt = -Infinity;
  const refused = (why: string, remote: string | undefined): void => {
    // One line a minute at most: the excess of a flood is what this guards against.
    const t = now();
    if (t - refusedLoggedAt < 60_000) return;
    refusedLoggedAt = t;
    log.warn(
      { remote, why, maxConnections: MAX_CONNECTIONS, maxPerSource: MAX_CONNECTIONS_PER_SOURCE },
      'status listener refused a connection (further ones are not logged for a minute)',
    );
  };
  server.on('drop', (d?: { remoteAddress?: string }) => refused('too many connections', d?.remoteAddress));
  server.on('connection', (socket: Socket) => {
    const remote = socket.remoteAddress ?? '?';
    const n = (perSource.get(remote) ?? 0) + 1;
    if (n > MAX_CONNECTIONS_PER_SOURCE) {
      refused('too many connections from one address', remote);
      socket.destroy();
      return;
    }
    perSource.set(remote, n);
    socket.once('close', () => {
      const left = (perSource.get(remote) ?? 1) - 1;
      if (left <= 0) perSource.delete(remote);
      else perSource.set(remote, left);
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const why =
        err.code === 'EADDRINUSE'
          ? 'address already in use'
          : err.code === 'EADDRNOTAVAIL'
            ? 'address not available on this machine'
            : err.code === 'EACCES'
              ? 'permission denied'
              : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN'
                ? 'host name not found'
                : err.message;
      reject(
        new StatusServerError(`cannot listen on ${opts.addr} for /status, /metrics, /healthz: ${why}${err.code ? ` (${err.code})` : ''}`, err.code, {
          cause: err,
        }),
      );
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ host: hp.host, port: hp.port });
  });
  server.on('error', (err) => log.error({ err }, 'status listener error'));

  const address = formatAddress(server.address() as AddressInfo);
  log.info({ statusAddr: address }, 'status listener ready');

  let closing: Promise<void> | undefined;
  return {
    address,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Idle keep-alive sockets would hold close() for up to keepAliveTimeout; in-flight answers are tiny.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
