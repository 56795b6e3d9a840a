import { request } from 'node:http';
import { splitHostPort } from '../config/validate.js';
import { DEFAULTS } from '../config/schema.js';
import { renderStatus, type StatusDocument } from '../status/render.js';
import { EXIT } from './exit.js';

export interface StatusFlags {
  /** The agent's status_addr, `host:port` or `[IPv6]:port`. */
  readonly addr: string;
  /** Print the raw /status JSON instead of the table. */
  readonly json: boolean;
  /** Give up after this long (default 5 s). */
  readonly timeoutMs?: number;
}

export interface StatusIo {
  readonly stdout: Pick<NodeJS.WriteStream, 'write'>;
  readonly stderr: Pick<NodeJS.WriteStream, 'write'>;
}

export const DEFAULT_STATUS_ADDR = DEFAULTS.statusAddr;

/** `http://host:port/status` for a status_addr, or the reason it is not one. */
export function statusUrl(addr: string): URL | string {
  const hp = splitHostPort(addr);
  if (typeof hp === 'string') return hp;
  const host = hp.host.includes(':') ? `[${hp.host}]` : hp.host;
  return new URL(`http://${host}:${hp.port}/status`);
}

function describeError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError')) return 'no answer in time';
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return 'host name not found';
  const message = err instanceof Error ? err.message : String(err);
  return (code && !message.includes(code) ? `${message} (${code})` : message).split('\n')[0]!;
}

/**
 * GET over node:http (not fetch: fetch refuses the "bad ports" of the
 * WHATWG list, e.g. 6000 or 6666, which are fine for a status listener).
 */
function httpGet(url: URL, timeoutMs: number): Promise<{ status: number; statusText: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'GET', headers: { accept: 'application/json' }, signal: AbortSignal.timeout(timeoutMs), agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/**
 * `goavail status`: asks a running agent for /status and prints the table
 * (or the JSON). 0 on success, 1 when the agent cannot be reached or
 * answers badly, 2 for a malformed --addr.
 */
export async function status(flags: StatusFlags, io: StatusIo = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const url = statusUrl(flags.addr);
  if (typeof url === 'string') {
    io.stderr.write(`goavail: --addr "${flags.addr}": ${url}\n`);
    return EXIT.usage;
  }
  let body: string;
  try {
    const res = await httpGet(url, flags.timeoutMs ?? 5_000);
    body = res.body;
    if (res.status !== 200) {
      io.stderr.write(`goavail: the agent at ${flags.addr} answered ${res.status} ${res.statusText}: ${body.trim().split('\n')[0] ?? ''}\n`);
      return EXIT.failure;
    }
  } catch (err) {
    io.stderr.write(`goavail: cannot reach the agent at ${flags.addr} (${describeError(err)}); is \`goavail monitor\` running there with that status_addr?\n`);
    return EXIT.failure;
  }
  let doc: StatusDocument;
  try {
    doc = JSON.parse(body) as StatusDocument;
    if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.targets)) throw new Error('not a goavail status document');
  } catch (err) {
    io.stderr.write(`goavail: the agent at ${flags.addr} did not answer with a status document: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  }
  if (flags.json) {
    io.stdout.write(body.endsWith('\n') ? body : `${body}\n`);
    return EXIT.ok;
  }
  try {
    io.stdout.write(renderStatus(doc));
  } catch (err) {
    io.stderr.write(`goavail: cannot display the status from ${flags.addr} (a different goavail version?): ${err instanceof Error ? err.message : String(err)}; try --json\n`);
    return EXIT.failure;
  }
  return EXIT.ok;
}
