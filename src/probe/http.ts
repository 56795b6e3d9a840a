import { request as httpRequest, type ClientRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP, type LookupFunction, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { createSecureContext, rootCertificates, type SecureContext, type TLSSocket } from 'node:tls';
import type { Logger } from '../log.js';
import {
  createBodyMatcher,
  createBoundedReader,
  deadlineMiss,
  formatStatusRange,
  MAX_BODY_BYTES,
  reasonOfError,
  statusExpected,
  type HttpMissReason,
  type ProbeStage,
  type StatusRange,
} from './http-check.js';
import { localErrorCode } from './local.js';
import { failure, runRound, type Outcome } from './round.js';
import type { ProbeResult, Prober } from './types.js';

/** What every probe of one prober asks and expects (the config's `[HTTP]` table, `ca_file` already read). */
export interface HttpProbeSettings {
  readonly path: string;
  readonly method: 'GET' | 'HEAD';
  /** Host header and TLS SNI name. */
  readonly host: string;
  readonly expectStatus: readonly StatusRange[];
  readonly expectBody: string | undefined;
  /** Extra request headers; values are secrets (never logged). */
  readonly headers: Readonly<Record<string, string>>;
  readonly tlsVerify: boolean;
  /** Extra trusted CAs (PEM), besides the system's roots. */
  readonly caPem?: string | undefined;
}

export interface HttpProberOptions {
  readonly logger: Logger;
  readonly scheme: 'http' | 'https';
  readonly port: number;
  readonly settings: HttpProbeSettings;
  /** Sends the request; default `http.request` / `https.request`. A seam for tests (a request that fails with EMFILE). */
  readonly request?: (options: RequestOptions & Record<string, unknown>) => ClientRequest;
}

/**
 * Response headers larger than this are a miss (bad-response), not memory:
 * Node's parser stops at it (its own default is 16 KiB too; set here so a
 * `--max-http-header-size` flag cannot raise it for probes).
 */
const MAX_HEADER_BYTES = 16 * 1024;

/** What a probe says it is, unless `headers` sets a User-Agent. */
const USER_AGENT = 'goavail-health-check';

/** A probe dials the IP literal, so this is never called; if it were, it fails instead of resolving a name. */
const noLookup: LookupFunction = (hostname, _options, callback) => {
  const error = Object.assign(new Error(`goavail never resolves names in probes (asked for ${hostname})`), { code: 'ENOTFOUND' });
  (callback as (err: NodeJS.ErrnoException | null, address: string, family: number) => void)(error, '', 0);
};

/**
 * HTTP(S) prober: a target is up when `method path` sent to `ip:port`, with
 * Host (and, for https, the SNI name) set to `host`, answers a status of
 * `expect_status` and, when `expect_body` is set, a body that holds it in its
 * first 64 KiB, all within the round's timeout.
 *
 * | rule                  | how                                                                  |
 * |-----------------------|----------------------------------------------------------------------|
 * | the IP, never a name  | the request dials the literal address; a lookup would fail           |
 * | a fresh connection    | `agent: false`, `Connection: close`: a dead listener cannot hide behind a pooled socket, no TLS session is resumed |
 * | no redirects          | Node's client follows none: a 3xx is judged by expect_status         |
 * | bounded               | headers ≤ 16 KiB (parser), body ≤ 64 KiB (then the socket is closed), whole probe ≤ timeout (the round's deadline destroys it) |
 * | TLS                   | chain and name verified against `host` unless tls_verify = false; ca_file adds CAs to the system roots |
 *
 * Up is decided as soon as it is known: at the headers when no body is
 * expected (the body is never read), at the first match otherwise; the
 * connection is closed then. A miss carries its reason (see
 * HTTP_MISS_REASONS). For https the certificate's expiry (notAfter) rides
 * on the result, read in the handshake. A request that fails for a reason of
 * this host (EMFILE...) is no observation, as for TCP. Needs no privilege.
 */
export function createHttpProber(opts: HttpProberOptions): Prober {
  const { logger, scheme, port, settings } = opts;
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    throw new RangeError(`HTTP probe port must be an integer in 1..65535, got ${port}`);
  }
  const send = opts.request ?? (scheme === 'https' ? httpsRequest : httpRequest);
  const defaultPort = scheme === 'https' ? 443 : 80;
  const hostHeader = port === defaultPort ? settings.host : `${settings.host}:${port}`;
  const headers: Record<string, string> = { 'User-Agent': USER_AGENT };
  for (const [k, v] of Object.entries(settings.headers)) {
    if (k.toLowerCase() === 'user-agent') delete headers['User-Agent'];
    headers[k] = v;
  }
  headers.Host = hostHeader;
  headers.Connection = 'close';
  const expectedText = settings.expectStatus.map(formatStatusRange).join(', ');
  // One secure context for every probe: building one per request (with a CA
  // bundle) would parse the CAs every time.
  let secureContext: SecureContext | undefined;
  if (scheme === 'https') {
    secureContext = createSecureContext(settings.caPem !== undefined ? { ca: [...rootCertificates, settings.caPem] } : {});
  }
  const base: RequestOptions & Record<string, unknown> = {
    port,
    method: settings.method,
    path: settings.path,
    headers,
    agent: false,
    setHost: false,
    lookup: noLookup,
    maxHeaderSize: MAX_HEADER_BYTES,
    insecureHTTPParser: false,
  };
  if (scheme === 'https') {
    Object.assign(base, { servername: isIP(settings.host) === 0 ? settings.host : undefined, rejectUnauthorized: settings.tlsVerify, secureContext });
  }
  let closed = false;

  function probe(ips: readonly string[], timeoutMs: number, signal?: AbortSignal, onResult?: (result: ProbeResult) => void): Promise<ProbeResult[]> {
    if (closed) return Promise.reject(new Error('HTTP prober is closed'));
    const timeout = Math.max(1, Math.round(timeoutMs));
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
        let stage: ProbeStage = 'connect';
        let finished = false;
        let certExpiresAt: number | undefined;
        // May throw (runRound turns that into this target's failure).
        const req = send({ ...base, host: ip });
        const withCert = (o: Outcome): Outcome => (certExpiresAt === undefined ? o : { ...o, certExpiresAt });
        const finish = (o: Outcome): void => {
          if (finished) return;
          finished = true;
          req.destroy();
          report(withCert(o));
        };
        const miss = (reason: HttpMissReason, error: string): void => finish({ ok: false, reason, error });
        req.once('socket', (socket: Socket) => {
          socket.once('connect', () => {
            if (stage === 'connect') stage = scheme === 'https' ? 'tls' : 'headers';
          });
          if (scheme === 'https') {
            socket.once('secureConnect', () => {
              stage = 'headers';
              certExpiresAt = expiryOf(socket as TLSSocket);
            });
          }
        });
        req.on('response', (res: IncomingMessage) => {
          stage = 'body';
          const status = res.statusCode ?? 0;
          if (!statusExpected(status, settings.expectStatus)) {
            miss('status', `status: ${status}, expected ${expectedText}`);
            return;
          }
          if (settings.method === 'HEAD' || settings.expectBody === undefined) {
            finish({ ok: true, rttMs: performance.now() - startedAt });
            return;
          }
          const reader = createBoundedReader(MAX_BODY_BYTES);
          const matcher = createBodyMatcher(settings.expectBody);
          res.on('data', (chunk: Buffer) => {
            if (finished) return;
            const { part, full } = reader.take(chunk);
            if (matcher.push(part)) finish({ ok: true, rttMs: performance.now() - startedAt });
            else if (full) miss('body', `body: expect_body not found in the first ${MAX_BODY_BYTES} bytes`);
          });
          res.once('end', () => miss('body', `body: expect_body not found in the body (${reader.bytes} bytes)`));
          res.once('error', (error: Error) => onError(error));
          res.once('close', () => {
            if (!res.complete) miss('reset', `reset: the connection closed during the body (${reader.bytes} bytes read)`);
          });
        });
        const onError = (error: NodeJS.ErrnoException): void => {
          if (finished) return;
          if (localErrorCode(error) !== undefined) {
            // EMFILE, EADDRNOTAVAIL...: no probe left this host, no observation (not a miss).
            finish(failure(error, error.code ? `${error.code}: ${error.message}` : error.message));
            return;
          }
          const reason = reasonOfError(error);
          miss(reason, `${reason}: ${error.code ? `${error.code}: ` : ''}${error.message}`);
        };
        // Never removed: errors that follow a destroy land here and are ignored.
        req.on('error', onError);
        req.end();
        return (deadline?: boolean) => {
          if (finished) return undefined;
          finished = true;
          req.destroy();
          if (!deadline) return undefined;
          const { reason, error } = deadlineMiss(stage, timeout);
          return withCert({ ok: false, reason, error });
        };
      },
      { onResult },
    );
  }

  function close(): void {
    closed = true;
    logger.debug({ scheme, port }, 'HTTP prober closed');
  }

  return { kind: scheme, probe, close };
}

/** The peer certificate's notAfter (ms since the epoch), or undefined when there is none to read. */
function expiryOf(socket: TLSSocket): number | undefined {
  try {
    const cert = socket.getPeerCertificate(false);
    const at = cert && typeof cert.valid_to === 'string' ? Date.parse(cert.valid_to) : NaN;
    return Number.isFinite(at) ? at : undefined;
  } catch {
    return undefined;
  }
}
