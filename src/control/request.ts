import { createHash, timingSafeEqual } from 'node:crypto';
import type { DrainRequest, UndrainRequest } from '../drain/types.js';
import { parseTargetIp } from '../net/ip.js';
import { MAX_DURATION_MS } from '../config/duration.js';

/**
 * The control endpoint's pure part: who may ask (the bearer check) and
 * what a request body may say. The HTTP side is src/status/server.ts.
 *
 * | route          | method | body                                      | answer                         |
 * |----------------|--------|-------------------------------------------|--------------------------------|
 * | `/drain`       | POST   | `{ip, for_ms?, reason?, by?, force?}`     | `{ok, entry, note?}` or `{error}` |
 * | `/undrain`     | POST   | `{ip, by?}`                               | `{ok, entry, note?}` or `{error}` |
 * | `/drains`      | GET    | —                                         | `{now, drains: [entry…]}`      |
 *
 * Every route needs `Authorization: Bearer <token>`, loopback included.
 */
export const CONTROL_ROUTES = { '/drain': 'POST', '/undrain': 'POST', '/drains': 'GET' } as const;
export type ControlPath = keyof typeof CONTROL_ROUTES;

/** A request body above this is refused with 413 (a real one is under 400 bytes). */
export const MAX_CONTROL_BODY_BYTES = 4096;
/** As in src/drain/types.ts (DrainEntry). */
export const MAX_BY_LENGTH = 64;
export const MAX_REASON_LENGTH = 200;

export function isControlPath(path: string): path is ControlPath {
  return Object.hasOwn(CONTROL_ROUTES, path);
}

/**
 * Checks `Authorization: Bearer <token>` against the token's SHA-256
 * digest: comparing digests makes both sides 32 bytes, so
 * `timingSafeEqual` applies and the time says nothing about the token's
 * length or any prefix of it.
 */
export class BearerCheck {
  private readonly digest: Buffer;

  constructor(token: string) {
    this.digest = sha256(token);
  }

  /** Whether the header value carries the token. */
  accepts(header: string | undefined): boolean {
    const m = /^Bearer +(\S+) *$/i.exec(header ?? '');
    // Still hash and compare something, so a missing token costs what a wrong one does.
    const given = sha256(m?.[1] ?? '');
    return timingSafeEqual(given, this.digest) && m !== null;
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const bad = (error: string): { ok: false; error: string } => ({ ok: false, error });

type Reader = (value: unknown) => string | undefined;

/** Text a person typed: a string of at most `max` characters with no control character. */
function text(max: number): Reader {
  return (v) => {
    if (typeof v !== 'string') return `must be a string, got ${kind(v)}`;
    if ([...v].length > max) return `must be at most ${max} characters, got ${[...v].length}`;
    // eslint-disable-next-line no-control-regex -- refusing control characters is the point
    if (/[\u0000-\u001f\u007f-\u009f]/.test(v)) return 'must not contain control characters (line breaks, escapes)';
    return undefined;
  };
}

function kind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

const READERS: Readonly<Record<string, Reader>> = {
  ip: (v) => {
    if (typeof v !== 'string') return `must be an IP address as a string, got ${kind(v)}`;
    const p = parseTargetIp(v);
    return typeof p === 'string' ? `${JSON.stringify(v.slice(0, 60))} ${p}` : undefined;
  },
  for_ms: (v) => {
    if (typeof v !== 'number' || !Number.isInteger(v)) return `must be a whole number of milliseconds, got ${kind(v)}${typeof v === 'number' ? ` ${v}` : ''}`;
    if (v <= 0 || v > MAX_DURATION_MS) return `must be between 1 and ${MAX_DURATION_MS} (366 days), got ${v}; leave it out for a drain until undrained`;
    return undefined;
  },
  reason: text(MAX_REASON_LENGTH),
  by: text(MAX_BY_LENGTH),
  force: (v) => (typeof v === 'boolean' ? undefined : `must be true or false, got ${kind(v)}`),
};

/** The JSON object of a body whose keys are all in `allowed` and whose values read; `ip` required. */
function readBody(body: string, allowed: readonly string[]): Parsed<Record<string, unknown>> {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch (err) {
    return bad(`body: not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return bad(`body: must be a JSON object, got ${kind(doc)}`);
  const o = doc as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) return bad(`${JSON.stringify(k.slice(0, 40))}: unknown field; expected ${allowed.join(', ')}`);
  }
  if (!Object.hasOwn(o, 'ip')) return bad('ip: required (the IP address to act on)');
  for (const k of allowed) {
    if (!Object.hasOwn(o, k)) continue;
    const problem = READERS[k]?.(o[k]);
    if (problem !== undefined) return bad(`${k}: ${problem}`);
  }
  return { ok: true, value: o };
}

/** `POST /drain`'s body, checked field by field; each error names its field. Pure. */
export function parseDrainBody(body: string): Parsed<DrainRequest> {
  const r = readBody(body, ['ip', 'for_ms', 'reason', 'by', 'force']);
  if (!r.ok) return r;
  const o = r.value;
  const req: DrainRequest = {
    ip: (parseTargetIp(o.ip as string) as { ip: string }).ip,
    ...(o.for_ms !== undefined ? { forMs: o.for_ms as number } : {}),
    ...(o.reason !== undefined ? { reason: o.reason as string } : {}),
    ...(o.by !== undefined ? { by: o.by as string } : {}),
    ...(o.force !== undefined ? { force: o.force as boolean } : {}),
  };
  return { ok: true, value: req };
}

/** `POST /undrain`'s body. Pure. */
export function parseUndrainBody(body: string): Parsed<UndrainRequest> {
  const r = readBody(body, ['ip', 'by']);
  if (!r.ok) return r;
  const o = r.value;
  const req: UndrainRequest = { ip: (parseTargetIp(o.ip as string) as { ip: string }).ip, ...(o.by !== undefined ? { by: o.by as string } : {}) };
  return { ok: true, value: req };
}
