import { parseDuration } from '../config/duration.js';
import { MAX_CONTROL_BODY_BYTES, MAX_REASON_LENGTH } from '../control/request.js';
import type { DrainEntry } from '../drain/types.js';
import { parseTargetIp } from '../net/ip.js';
import { EXIT } from './exit.js';
import { agentRequest, agentUrl, AnswerTooLargeError, describeError } from './http.js';
import { excerpt, stripControls, type StatusIo } from './status.js';
import { agentTarget, controlToken, isTargetError, whoAmI, type TargetError, type TargetFlags } from './target.js';

/**
 * `goavail drain <ip> [--for 30m] [--reason "..."] [--force]`,
 * `goavail undrain <ip>` and `goavail drains`: the control endpoint's
 * client. Exit 0 when the agent did it (or listed), 1 when the agent
 * refused (its reason is printed), cannot be reached or the token cannot be
 * read, 2 for bad flags or a bad config.
 */
export interface DrainFlags extends TargetFlags {
  readonly ip: string;
  /** `--for`: 90s, 30m, 2h, 1d, 1h30m. */
  readonly for?: string | undefined;
  readonly reason?: string | undefined;
  readonly force?: boolean | undefined;
}

export interface UndrainFlags extends TargetFlags {
  readonly ip: string;
}

export interface DrainsFlags extends TargetFlags {
  readonly json?: boolean | undefined;
}

/** A control answer is a few hundred bytes per drain: 4 MiB is thousands of drains. */
const MAX_ANSWER_BYTES = 4 * 1024 * 1024;
const TIMEOUT_MS = 5_000;

const usage = (error: string): TargetError => ({ error, code: EXIT.usage });

function checkIp(ip: string): string | TargetError {
  const p = parseTargetIp(ip);
  return typeof p === 'string' ? usage(`${JSON.stringify(ip)} ${p}`) : p.ip;
}

/** The JSON body of `POST /drain` for the flags, or why the flags are wrong. Pure but for `by`. */
export function drainBody(flags: DrainFlags, by: string): Record<string, unknown> | TargetError {
  const ip = checkIp(flags.ip);
  if (isTargetError(ip)) return ip;
  const body: Record<string, unknown> = { ip, by };
  if (flags.for !== undefined) {
    const ms = parseDuration(flags.for);
    if (typeof ms === 'string') return usage(`--for: ${ms}`);
    body.for_ms = ms;
  }
  if (flags.reason !== undefined) {
    const n = [...flags.reason].length;
    if (n > MAX_REASON_LENGTH) return usage(`--reason: at most ${MAX_REASON_LENGTH} characters, got ${n}`);
    if (stripControls(flags.reason) !== flags.reason || /[\t\n]/.test(flags.reason))
      return usage('--reason: must not contain control characters (line breaks, tabs, escapes)');
    body.reason = flags.reason;
  }
  if (flags.force === true) body.force = true;
  if (Buffer.byteLength(JSON.stringify(body)) > MAX_CONTROL_BODY_BYTES) return usage(`--reason: too long for a request of ${MAX_CONTROL_BODY_BYTES} bytes`);
  return body;
}

/** `2026-12-02T12:00:00Z` (no milliseconds), or `-` for none. */
function when(ms: number | null | undefined): string {
  return typeof ms === 'number' && Number.isFinite(ms) ? new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z') : '-';
}

type Answer = { readonly doc: Record<string, unknown> } | TargetError;

/** One control request: target, token, the request, and the agent's answer (refusals as a TargetError). */
async function ask(flags: TargetFlags, path: string, method: 'GET' | 'POST', body: unknown, env: NodeJS.ProcessEnv): Promise<Answer> {
  const target = await agentTarget(flags);
  if (isTargetError(target)) return target;
  const url = agentUrl(target.addr, path);
  if (typeof url === 'string') return usage(`--addr ${JSON.stringify(target.addr)}: ${url}`);
  const token = await controlToken(flags, target, env);
  if (isTargetError(token)) return token;
  const at = target.addr;
  let res;
  try {
    res = await agentRequest(url, {
      method,
      headers: { authorization: `Bearer ${token.value}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      timeoutMs: TIMEOUT_MS,
      maxBytes: MAX_ANSWER_BYTES,
      what: 'a control answer',
    });
  } catch (err) {
    if (err instanceof AnswerTooLargeError) return { error: `the answer from ${at} ${err.message}`, code: EXIT.failure };
    return {
      error: `cannot reach the agent at ${at} (${describeError(err)}); is \`goavail monitor\` running there with that status_addr?`,
      code: EXIT.failure,
    };
  }
  let doc: Record<string, unknown> | undefined;
  try {
    const parsed: unknown = JSON.parse(res.body);
    if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) doc = parsed as Record<string, unknown>;
  } catch {
    doc = undefined;
  }
  const error = typeof doc?.error === 'string' ? excerpt(doc.error, 400) : excerpt(res.body);
  if (res.status === 401) {
    return {
      error: `the agent at ${at} refused the control token from ${token.source} (401): ${error}; use that agent's control_token_file (-f <its config>, --token-file) or GOAVAIL_CONTROL_TOKEN`,
      code: EXIT.failure,
    };
  }
  if (res.status !== 200) return { error: `the agent at ${at} refused (${res.status}): ${error}`, code: EXIT.failure };
  if (doc === undefined) return { error: `the agent at ${at} did not answer with JSON: ${excerpt(res.body)}`, code: EXIT.failure };
  return { doc };
}

function fail(io: StatusIo, e: TargetError): number {
  io.stderr.write(`goavail: ${e.error}\n`);
  return e.code;
}

/** The entry and note of an answer, made safe for a terminal. */
function entryOf(doc: Record<string, unknown>): { entry: Partial<DrainEntry>; note: string | undefined } {
  const entry = (typeof doc.entry === 'object' && doc.entry !== null ? doc.entry : {}) as Partial<DrainEntry>;
  return { entry, note: typeof doc.note === 'string' && doc.note !== '' ? stripControls(doc.note) : undefined };
}

const safe = (v: unknown): string => (typeof v === 'string' ? stripControls(v) : '');

export async function drain(flags: DrainFlags, io: StatusIo = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const body = drainBody(flags, whoAmI());
  if (isTargetError(body)) return fail(io, body);
  const a = await ask(flags, '/drain', 'POST', body, env);
  if (isTargetError(a)) return fail(io, a);
  const { entry, note } = entryOf(a.doc);
  const until = typeof entry.until === 'number' ? `until ${when(entry.until)}` : 'until undrained';
  const reason = safe(entry.reason) !== '' ? ` (reason: ${safe(entry.reason)})` : '';
  io.stdout.write(`drained ${safe(entry.ip) || String(body.ip)} ${until}${reason}\n`);
  if (note !== undefined) io.stdout.write(`note: ${note}\n`);
  return EXIT.ok;
}

export async function undrain(flags: UndrainFlags, io: StatusIo = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const ip = checkIp(flags.ip);
  if (isTargetError(ip)) return fail(io, ip);
  const a = await ask(flags, '/undrain', 'POST', { ip, by: whoAmI() }, env);
  if (isTargetError(a)) return fail(io, a);
  const { entry, note } = entryOf(a.doc);
  io.stdout.write(`undrained ${safe(entry.ip) || ip}\n`);
  if (note !== undefined) io.stdout.write(`note: ${note}\n`);
  return EXIT.ok;
}

/** The `drains` table: one row per entry, columns padded. Pure. */
export function renderDrains(entries: readonly Partial<DrainEntry>[]): string {
  if (entries.length === 0) return 'no drains\n';
  const rows = [
    ['IP', 'STATE', 'BY', 'SINCE', 'UNTIL', 'REASON', 'SOURCE'],
    ...entries.map((e) => [
      safe(e.ip),
      e.drained === true ? 'drained' : 'undrained',
      safe(e.by) || '-',
      when(e.at),
      typeof e.until === 'number' ? when(e.until) : e.drained === true ? 'undrained' : '-',
      safe(e.reason) || '-',
      safe(e.source) || '-',
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => [...r[i]!].length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export async function drains(flags: DrainsFlags, io: StatusIo = process, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  const a = await ask(flags, '/drains', 'GET', undefined, env);
  if (isTargetError(a)) return fail(io, a);
  const list = Array.isArray(a.doc.drains) ? (a.doc.drains as Partial<DrainEntry>[]) : undefined;
  if (list === undefined) return fail(io, { error: 'the agent did not answer with a list of drains', code: EXIT.failure });
  if (flags.json === true) {
    io.stdout.write(`${stripControls(JSON.stringify(a.doc))}\n`);
    return EXIT.ok;
  }
  io.stdout.write(renderDrains(list));
  return EXIT.ok;
}
