import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AgentStatus } from '../agent.js';
import { splitHostPort } from '../config/validate.js';
import type { Gossip } from '../gossip/types.js';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';
import { nullForUndefined, type StatusDocument } from './render.js';

export interface StatusServerOptions {
  /** `host:port` or `[IPv6]:port`; port 0 picks a free one (see the returned `address`). */
  readonly addr: string;
  readonly agent: { status(): AgentStatus };
  readonly metrics: Pick<Metrics, 'metrics' | 'contentType'>;
  readonly logger: Logger;
  /** For the drop counters in /status (cluster mode). */
  readonly gossip?: Pick<Gossip, 'drops'>;
  readonly now?: () => number;
}

export interface StatusServer {
  /** `host:port` actually bound (`[::1]:9100` for IPv6). */
  readonly address: string;
  /** Stops listening and ends open (keep-alive) connections at once. */
  close(): Promise<void>;
}

/** The listener could not start (address in use, not local, bad address). */
export class StatusServerError extends Error {
  constructor(message: string, readonly code: string | undefined, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StatusServerError';
  }
}

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
export function statusDocument(agent: { status(): AgentStatus }, gossip: Pick<Gossip, 'drops'> | undefined, now: number): StatusDocument {
  return { ...agent.status(), now, gossipDrops: gossip?.drops() };
}

function formatAddress(a: AddressInfo): string {
  return a.family === 'IPv6' || a.address.includes(':') ? `[${a.address}]:${a.port}` : `${a.address}:${a.port}`;
}

/**
 * The local HTTP listener: `GET /status` (JSON, see {@link StatusDocument}),
 * `GET /metrics` (Prometheus text), `GET /healthz` (200 `ok`, or 503 and
 * the reason). HEAD is answered like GET without a body; other methods get
 * 405, other paths 404. A handler error is a 500 for that request only.
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

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0];
    const known = path === '/status' || path === '/metrics' || path === '/healthz';
    if (!known) return send(res, 404, text, 'not found: try /status, /metrics or /healthz\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, text, 'method not allowed\n', { allow: 'GET, HEAD' });
    if (path === '/metrics') return send(res, 200, opts.metrics.contentType, await opts.metrics.metrics());
    if (path === '/status') {
      const body = JSON.stringify(statusDocument(opts.agent, opts.gossip, now()), nullForUndefined);
      return send(res, 200, 'application/json; charset=utf-8', `${body}\n`);
    }
    const reason = unhealthyReason(opts.agent.status(), now());
    return reason === undefined ? send(res, 200, text, 'ok\n') : send(res, 503, text, `${reason}\n`);
  };

  const server = createServer((req, res) => {
    // Request bodies are never read; drain them so the connection can be reused.
    req.resume();
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    handle(req, res).catch((err: unknown) => {
      log.error({ err, url: req.url }, 'status request failed');
      if (!res.headersSent) send(res, 500, text, 'internal error\n');
      else res.destroy();
    });
  });
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n');
    else socket.destroy();
  });
  // Monitoring clients poll; a short idle keep-alive bounds what close() has to cut.
  server.keepAliveTimeout = 5_000;
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      const why = err.code === 'EADDRINUSE' ? 'address already in use'
        : err.code === 'EADDRNOTAVAIL' ? 'address not available on this machine'
          : err.code === 'EACCES' ? 'permission denied'
            : err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN' ? 'host name not found'
              : err.message;
      reject(new StatusServerError(`cannot listen on ${opts.addr} for /status, /metrics, /healthz: ${why}${err.code ? ` (${err.code})` : ''}`, err.code, { cause: err }));
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
