import { request } from 'node:http';
import { splitHostPort } from '../net/hostport.js';

/** The answer is larger than the client reads. */
export class AnswerTooLargeError extends Error {}

/** The whole request (connect, headers, body) took longer than the timeout. */
class AnswerTimeoutError extends Error {
  override readonly name = 'TimeoutError';
}

/** A failed request in a few words (`connection refused`, `no answer in time`). */
export function describeError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'no answer in time';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  const message = err instanceof Error ? err.message : String(err);
  return (code && !message.includes(code) ? `${message} (${code})` : message).split('\n')[0]!;
}

/**
 * `http://host:port<path>` for an agent's status_addr, or the reason it is
 * not one. A wildcard listen address (0.0.0.0, ::) is asked on loopback.
 */
export function agentUrl(addr: string, path: string): URL | string {
  const hp = splitHostPort(addr);
  if (typeof hp === 'string') return hp;
  const host = hp.host === '0.0.0.0' ? '127.0.0.1' : hp.host === '::' ? '::1' : hp.host;
  return new URL(`http://${host.includes(':') ? `[${host}]` : host}:${hp.port}${path}`);
}

export interface AgentRequest {
  readonly method: 'GET' | 'POST';
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** For the whole request: connect, headers and body. */
  readonly timeoutMs: number;
  /** The answer is read to at most this much. */
  readonly maxBytes: number;
  /** What the answer is, for the too-large message ("a status document"). */
  readonly what: string;
}

export interface AgentAnswer {
  readonly status: number;
  readonly statusText: string;
  readonly body: string;
}

/**
 * One request to an agent over node:http (not fetch: fetch refuses the
 * "bad ports" of the WHATWG list, e.g. 6000 or 6666, which are fine for a
 * status listener).
 *
 * One timer covers the whole request (connect, headers and body: a server
 * that sends headers and then stalls fails in time too), and the body is
 * read to at most `maxBytes` (a larger Content-Length is refused before
 * reading; a body that goes past it is cut off and fails).
 */
export function agentRequest(url: URL, r: AgentRequest): Promise<AgentAnswer> {
  const { timeoutMs, maxBytes } = r;
  return new Promise((resolve, reject) => {
    let settled = false;
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      fn();
    };
    const fail = (err: unknown): void => settle(() => reject(err));
    const tooLarge = (what: string) =>
      new AnswerTooLargeError(`${what}, more than the ${maxBytes} bytes (${maxBytes / 1024 / 1024} MiB) ${r.what} may be; stopped reading`);
    const timer = setTimeout(() => fail(new AnswerTimeoutError(`no complete answer within ${timeoutMs} ms`)), timeoutMs);
    const headers: Record<string, string> = { accept: 'application/json', ...r.headers };
    if (r.body !== undefined) headers['content-length'] = String(Buffer.byteLength(r.body));
    const req = request(url, { method: r.method, headers, agent: false }, (res) => {
      const declared = Number(res.headers['content-length']);
      if (Number.isFinite(declared) && declared > maxBytes) {
        fail(tooLarge(`declares ${declared} bytes`));
        return;
      }
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (chunk: Buffer) => {
        total += chunk.length;
        if (total > maxBytes) {
          fail(tooLarge(`went past ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () =>
        settle(() => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body: Buffer.concat(chunks, total).toString('utf8') })),
      );
      res.on('error', fail);
      res.on('aborted', () => fail(new Error('the agent closed the connection before the answer was complete')));
    });
    req.on('error', fail);
    req.end(r.body);
  });
}
