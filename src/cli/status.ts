import { agentRequest, agentUrl, AnswerTooLargeError, describeError } from './http.js';
import { DEFAULTS } from '../config/schema.js';
import { renderStatus, type StatusDocument } from '../status/render.js';
import { EXIT } from './exit.js';

export interface StatusFlags {
  /** The agent's status_addr, `host:port` or `[IPv6]:port`. */
  readonly addr: string;
  /** Print the raw /status JSON instead of the table. */
  readonly json: boolean;
  /** Give up after this long, for the whole request: connect, headers and body (default 5 s). */
  readonly timeoutMs?: number;
  /** Refuse an answer larger than this (default {@link MAX_STATUS_BYTES}). */
  readonly maxBytes?: number;
}

export interface StatusIo {
  readonly stdout: Pick<NodeJS.WriteStream, 'write'>;
  readonly stderr: Pick<NodeJS.WriteStream, 'write'>;
}

export const DEFAULT_STATUS_ADDR = DEFAULTS.statusAddr;

/** `http://host:port/status` for a status_addr, or the reason it is not one. */
export function statusUrl(addr: string): URL | string {
  return agentUrl(addr, '/status');
}

/** The /status answer is read to at most this much (16 MiB; a real one is a few KiB per IP). */
export const MAX_STATUS_BYTES = 16 * 1024 * 1024;

/**
 * ANSI escape sequences (CSI `ESC [ … final`, OSC `ESC ] … BEL|ST`, the
 * short `ESC [intermediates] final` ones such as `ESC c` or `ESC ( B`, and a
 * lone ESC), then every other C0 control but tab and newline, DEL and the
 * C1 controls (U+0080–U+009F, which some terminals obey like ESC).
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point: they are stripped
const ESCAPE_SEQUENCE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[ -/]*[0-~]?/g;
// eslint-disable-next-line no-control-regex -- as above
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Text from the agent made safe for a terminal: escape sequences and
 * control characters removed. Why: `goavail status` prints what a server
 * sent, and an answer with `ESC ]` / `ESC [` sequences could retitle the
 * window, hide lines, or rewrite what was printed before it.
 */
export function stripControls(text: string): string {
  return text.replace(ESCAPE_SEQUENCE, '').replace(CONTROL, '');
}

/** Every string in a parsed JSON value (keys too: hostnames become column headers) through {@link stripControls}. */
function stripControlsDeep(value: unknown): unknown {
  if (typeof value === 'string') return stripControls(value);
  if (Array.isArray(value)) return value.map(stripControlsDeep);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [stripControls(k), stripControlsDeep(v)]));
  }
  return value;
}

/**
 * The JSON text for `--json`, unchanged in meaning but with no raw control
 * character: valid JSON can hold raw ones only as whitespace (CR, dropped)
 * or inside strings (DEL and C1, written as `\u00XX` escapes).
 */
function terminalSafeJson(body: string): string {
  return body.replace(/\r/g, '').replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line of server text for an error message: safe, and not a screenful. */
export function excerpt(text: string, max = 200): string {
  const line = stripControls(text.trim().split('\n')[0] ?? '').replace(/\t/g, ' ');
  return line.length > max ? `${line.slice(0, max)}…` : line;
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
    const res = await agentRequest(url, {
      method: 'GET',
      timeoutMs: flags.timeoutMs ?? 5_000,
      maxBytes: flags.maxBytes ?? MAX_STATUS_BYTES,
      what: 'a status document',
    });
    body = res.body;
    if (res.status !== 200) {
      io.stderr.write(`goavail: the agent at ${flags.addr} answered ${res.status} ${excerpt(res.statusText)}: ${excerpt(body)}\n`);
      return EXIT.failure;
    }
  } catch (err) {
    if (err instanceof AnswerTooLargeError) {
      io.stderr.write(`goavail: the answer from ${flags.addr} ${err.message}\n`);
      return EXIT.failure;
    }
    io.stderr.write(`goavail: cannot reach the agent at ${flags.addr} (${describeError(err)}); is \`goavail monitor\` running there with that status_addr?\n`);
    return EXIT.failure;
  }
  let doc: StatusDocument;
  try {
    doc = JSON.parse(body) as StatusDocument;
    if (typeof doc !== 'object' || doc === null || !Array.isArray(doc.targets)) throw new Error('not a goavail status document');
  } catch (err) {
    // JSON.parse quotes the text it failed on.
    io.stderr.write(
      `goavail: the agent at ${flags.addr} did not answer with a status document: ${excerpt(err instanceof Error ? err.message : String(err))}\n`,
    );
    return EXIT.failure;
  }
  if (flags.json) {
    const safe = terminalSafeJson(body);
    io.stdout.write(safe.endsWith('\n') ? safe : `${safe}\n`);
    return EXIT.ok;
  }
  try {
    // render.ts trusts its input; what came over the wire is cleaned here.
    io.stdout.write(renderStatus(stripControlsDeep(doc) as StatusDocument));
  } catch (err) {
    io.stderr.write(
      `goavail: cannot display the status from ${flags.addr} (a different goavail version?): ${excerpt(err instanceof Error ? err.message : String(err))}; try --json\n`,
    );
    return EXIT.failure;
  }
  return EXIT.ok;
}
