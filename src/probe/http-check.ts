/**
 * The pure parts of an HTTP(S) health check: which status codes count as
 * up, whether the body holds the expected text, how much of a body is read,
 * and why a probe missed. No sockets here (the I/O is in ./http.ts), so
 * every rule has a case table in test/unit/probe/http-check.test.ts.
 *
 * Status ranges, as written in `[HTTP] expect_status`:
 *
 * | written     | codes       | notes                                       |
 * |-------------|-------------|---------------------------------------------|
 * | "200"       | 200         | a single code, 100..599                     |
 * | "2xx"       | 200..299    | a class, 1xx..5xx ("2XX" too)               |
 * | "200-299"   | 200..299    | low ≤ high, both 100..599                   |
 * | "600"       | error       | not an HTTP status code                     |
 * | "3xx-2xx"   | error       | the ends of a range are codes, not classes  |
 * | "299-200"   | error       | reversed                                    |
 */

/** Codes from `min` to `max`, both included. */
export interface StatusRange {
  readonly min: number;
  readonly max: number;
}

const MIN_STATUS = 100;
const MAX_STATUS = 599;

/** Bytes of the body a probe reads at most (and so where `expect_body` must appear). */
export const MAX_BODY_BYTES = 64 * 1024;

/** A status range from its written form, or why it is not one. */
export function parseStatusRange(text: string): StatusRange | string {
  const s = text.trim();
  const cls = /^([1-5])xx$/i.exec(s);
  if (cls) {
    const base = Number(cls[1]) * 100;
    return { min: base, max: base + 99 };
  }
  if (/^\d+$/.test(s)) {
    const code = Number(s);
    return validCode(code) ? { min: code, max: code } : `${s} is not an HTTP status code (${MIN_STATUS}..${MAX_STATUS})`;
  }
  const range = /^(\S+)\s*-\s*(\S+)$/.exec(s);
  if (range) {
    const [low, high] = [range[1]!, range[2]!];
    if (!/^\d+$/.test(low) || !/^\d+$/.test(high)) return 'the ends of a range must be status codes, e.g. "200-299" (write a class alone: "2xx")';
    const [a, b] = [Number(low), Number(high)];
    if (!validCode(a) || !validCode(b)) return `a range's ends must be HTTP status codes (${MIN_STATUS}..${MAX_STATUS})`;
    if (a > b) return `the range is reversed: ${a} is above ${b}`;
    return { min: a, max: b };
  }
  return 'must be a status code ("200"), a class ("2xx") or a range ("200-299")';
}

function validCode(n: number): boolean {
  return Number.isInteger(n) && n >= MIN_STATUS && n <= MAX_STATUS;
}

/** The written form of a range, as `check-config` prints it. */
export function formatStatusRange(r: StatusRange): string {
  if (r.min === r.max) return String(r.min);
  if (r.min % 100 === 0 && r.max === r.min + 99) return `${r.min / 100}xx`;
  return `${r.min}-${r.max}`;
}

export function statusExpected(status: number, ranges: readonly StatusRange[]): boolean {
  return ranges.some((r) => status >= r.min && status <= r.max);
}

/**
 * Looks for `needle` in a body that arrives in chunks, however they are
 * cut: it keeps the last `needle.length - 1` bytes of what it has seen, so
 * a match split across two chunks (or ten) is found. Memory: one needle and
 * one chunk. Case-sensitive, byte for byte (the needle as UTF-8).
 */
export interface BodyMatcher {
  /** Feeds the next chunk; true once the needle has been seen (then stays true). */
  push(chunk: Uint8Array): boolean;
  readonly found: boolean;
}

export function createBodyMatcher(needle: string | Uint8Array): BodyMatcher {
  const want = typeof needle === 'string' ? Buffer.from(needle, 'utf8') : Buffer.from(needle);
  let tail = Buffer.alloc(0);
  let found = want.length === 0;
  return {
    get found() {
      return found;
    },
    push(chunk) {
      if (found) return true;
      const data = tail.length === 0 ? Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength) : Buffer.concat([tail, chunk]);
      if (data.indexOf(want) >= 0) {
        found = true;
        tail = Buffer.alloc(0);
        return true;
      }
      const keep = Math.min(want.length - 1, data.length);
      // A copy: the chunk's memory belongs to the socket.
      tail = Buffer.from(data.subarray(data.length - keep));
      return false;
    },
  };
}

/**
 * Counts the bytes of a body against a limit: each chunk gives back the
 * part of it that is still within the limit, and whether the limit is now
 * reached (the caller then stops reading and closes the connection). An
 * endless body costs at most `limit` bytes of reading.
 */
export interface BoundedReader {
  take(chunk: Uint8Array): { readonly part: Uint8Array; readonly full: boolean };
  readonly bytes: number;
}

export function createBoundedReader(limit: number = MAX_BODY_BYTES): BoundedReader {
  if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`limit must be a non-negative integer, got ${limit}`);
  let bytes = 0;
  return {
    get bytes() {
      return bytes;
    },
    take(chunk) {
      const room = limit - bytes;
      const part = chunk.byteLength <= room ? chunk : chunk.subarray(0, Math.max(0, room));
      bytes += part.byteLength;
      return { part, full: bytes >= limit };
    },
  };
}

/**
 * Why an HTTP(S) probe missed, one word each: the `reason` label of
 * `goavail_probe_misses_by_reason_total`, and the start of the error text
 * in the debug log and /status `lastError`.
 *
 * | reason            | what happened                                                      |
 * |-------------------|--------------------------------------------------------------------|
 * | refused           | the connection was refused (nothing listens on the port)           |
 * | connect-timeout   | no connection within `timeout` (a silent host, a dropped SYN)      |
 * | unreachable       | no route, host unreachable, a blackhole route                       |
 * | reset             | the server closed or reset the connection before a full answer     |
 * | tls-expired       | the certificate has expired (or is not valid yet)                  |
 * | tls-name-mismatch | the certificate is not for `host`                                  |
 * | tls-unknown-ca    | the chain does not lead to a trusted CA (self-signed, private CA)  |
 * | tls-error         | any other TLS failure (handshake, protocol, a bad certificate)     |
 * | bad-response      | not HTTP: garbage, headers too large, a malformed status line      |
 * | status            | a status that `expect_status` does not list                        |
 * | body              | `expect_body` not in the first 64 KiB of the body                  |
 * | too-slow          | connected, but the whole answer did not come within `timeout`      |
 * | error             | anything else                                                      |
 */
export const HTTP_MISS_REASONS = [
  'refused',
  'connect-timeout',
  'unreachable',
  'reset',
  'tls-expired',
  'tls-name-mismatch',
  'tls-unknown-ca',
  'tls-error',
  'bad-response',
  'status',
  'body',
  'too-slow',
  'error',
] as const;
export type HttpMissReason = (typeof HTTP_MISS_REASONS)[number];

const TLS_EXPIRED = new Set(['CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID']);
const TLS_UNKNOWN_CA = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_UNTRUSTED',
]);
const UNREACHABLE = new Set(['EHOSTUNREACH', 'ENETUNREACH', 'EINVAL', 'EHOSTDOWN', 'ENETDOWN']);
const RESET = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);

/** The reason of a socket, TLS or HTTP parser error (by its Node `code`). */
export function reasonOfError(error: unknown): HttpMissReason {
  const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
  if (typeof code !== 'string') return 'error';
  if (code === 'ECONNREFUSED') return 'refused';
  if (code === 'ETIMEDOUT') return 'connect-timeout';
  if (UNREACHABLE.has(code)) return 'unreachable';
  if (RESET.has(code)) return 'reset';
  if (TLS_EXPIRED.has(code)) return 'tls-expired';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' || code === 'HOSTNAME_MISMATCH') return 'tls-name-mismatch';
  if (TLS_UNKNOWN_CA.has(code)) return 'tls-unknown-ca';
  if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code === 'EPROTO' || code.startsWith('CERT_')) return 'tls-error';
  if (code.startsWith('HPE_')) return 'bad-response';
  return 'error';
}

/** How far a probe got: a deadline in `connect` is a connect timeout, anywhere later the server was too slow. */
export type ProbeStage = 'connect' | 'tls' | 'headers' | 'body';

const STAGE_TEXT: Readonly<Record<Exclude<ProbeStage, 'connect'>, string>> = {
  tls: 'no TLS handshake',
  headers: 'no response headers',
  body: 'the body did not end',
};

/** The miss of a probe the round's deadline cut short, by the stage it was in. */
export function deadlineMiss(stage: ProbeStage, timeoutMs: number): { reason: HttpMissReason; error: string } {
  if (stage === 'connect') return { reason: 'connect-timeout', error: `connect-timeout: no connection within ${timeoutMs} ms` };
  return { reason: 'too-slow', error: `too-slow: ${STAGE_TEXT[stage]} within ${timeoutMs} ms` };
}

const DAY_MS = 86_400_000;

/**
 * Whether a certificate that expires at `expiresAt` deserves the warning at
 * `now`: it expires within `minDays` days (or has expired). `daysLeft` is
 * rounded down, so "expires in 3 days" means at least 3 whole days.
 *
 * | left          | minDays | warning | daysLeft |
 * |---------------|---------|---------|----------|
 * | 30 days       | 7       | no      | 30       |
 * | 7 days + 1 ms | 7       | no      | 7        |
 * | 7 days        | 7       | yes     | 7        |
 * | 3.5 days      | 7       | yes     | 3        |
 * | -1 hour       | 7       | yes     | -1       |
 * | 1 day         | 0       | no      | 1        |
 */
export function certWarning(expiresAt: number, now: number, minDays: number): { readonly warning: boolean; readonly daysLeft: number } {
  const left = expiresAt - now;
  return { warning: left <= minDays * DAY_MS && (minDays > 0 || left <= 0), daysLeft: Math.floor(left / DAY_MS) };
}
