import { createHash, createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';

/**
 * The audit log's hash chain, pure: one JSON line per DNS write, each with
 * an HMAC over the line itself and the previous line's HMAC.
 *
 * | what was done to the file           | what `verify` reports                              |
 * |-------------------------------------|----------------------------------------------------|
 * | nothing                             | ok, N entries                                      |
 * | a line's content edited             | that line: its mac does not match                  |
 * | a line deleted                      | the line after it: its prev is not the line before |
 * | two lines swapped                   | the first of them: prev or seq out of order        |
 * | cut in the middle of a line         | that line: not a JSON entry                        |
 * | lines appended without the key      | the first of them: its mac does not match          |
 * | a line signed by an unknown key     | that line: names the key id                        |
 *
 * What a chain cannot show by itself: the last lines cut off whole. The
 * agent counts what it wrote (`goavail_audit_entries_total`); compare that
 * count with N.
 */

/** A key that signs entries: its id (written in each entry) and its bytes. */
export interface AuditKey {
  readonly id: string;
  readonly key: Buffer;
}

/** The key for a secret: HKDF-SHA256, so the audit key is never the gossip key itself. */
export function auditKey(secret: string | Uint8Array): AuditKey {
  const key = Buffer.from(hkdfSync('sha256', Buffer.from(secret), Buffer.from('goavail-audit'), Buffer.from('v1'), 32));
  return { id: createHash('sha256').update(key).digest('hex').slice(0, 16), key };
}

/** What one entry records (everything but the chain fields). */
export type AuditFields = Readonly<Record<string, unknown>>;

/** The chain position after the last entry: the next entry's `seq` and `prev`. */
export interface ChainHead {
  readonly seq: number;
  readonly prev: string;
}

export const GENESIS: ChainHead = { seq: 1, prev: '' };

function mac(key: Buffer, body: string): string {
  return createHmac('sha256', key).update(body).digest('hex');
}

/** The body the mac covers: the entry without `mac`, keys in the written order. */
function bodyOf(entry: Readonly<Record<string, unknown>>): string {
  const { mac: _mac, ...rest } = entry;
  return JSON.stringify(rest);
}

/** The next line (no trailing newline) and the head after it. */
export function appendEntry(head: ChainHead, key: AuditKey, fields: AuditFields): { line: string; head: ChainHead } {
  const entry = { v: 1, seq: head.seq, keyId: key.id, prev: head.prev, ...fields };
  const m = mac(key.key, JSON.stringify(entry));
  return { line: JSON.stringify({ ...entry, mac: m }), head: { seq: head.seq + 1, prev: m } };
}

/** Where a file's chain continues: after its last line, if that line is an entry. */
export function headOf(lastLine: string | undefined): ChainHead | undefined {
  if (lastLine === undefined || lastLine.trim() === '') return GENESIS;
  const e = parseEntry(lastLine);
  return e === undefined ? undefined : { seq: e.seq + 1, prev: e.mac };
}

interface Entry {
  readonly seq: number;
  readonly keyId: string;
  readonly prev: string;
  readonly mac: string;
  readonly raw: Record<string, unknown>;
}

function parseEntry(line: string): Entry | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  if (r.v !== 1 || !Number.isSafeInteger(r.seq) || typeof r.keyId !== 'string' || typeof r.prev !== 'string' || typeof r.mac !== 'string') return undefined;
  return { seq: r.seq as number, keyId: r.keyId, prev: r.prev, mac: r.mac, raw: r };
}

export type VerifyResult = { readonly ok: true; readonly entries: number } | { readonly ok: false; readonly line: number; readonly reason: string };

/** Checks every line against the keys (a keyring's: a log may span a key rotation). */
export function verifyChain(text: string, keys: readonly AuditKey[]): VerifyResult {
  const byId = new Map(keys.map((k) => [k.id, k]));
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  let head = GENESIS;
  for (const [i, line] of lines.entries()) {
    const n = i + 1;
    const e = parseEntry(line);
    if (e === undefined) return { ok: false, line: n, reason: 'not an audit entry (edited, or cut in the middle of a write)' };
    const key = byId.get(e.keyId);
    if (key === undefined) return { ok: false, line: n, reason: `signed by key ${e.keyId}, which is not one of this config's keys` };
    const want = Buffer.from(mac(key.key, bodyOf(e.raw)), 'hex');
    const got = Buffer.from(e.mac, 'hex');
    if (got.length !== want.length || !timingSafeEqual(got, want)) return { ok: false, line: n, reason: 'its mac does not match: the line was changed' };
    if (e.seq !== head.seq || e.prev !== head.prev) {
      return {
        ok: false,
        line: n,
        reason: `out of chain: seq ${e.seq} after ${head.seq - 1}, prev ${e.prev === head.prev ? 'matches' : 'is not the line before'} (a line before it was deleted or moved)`,
      };
    }
    head = { seq: e.seq + 1, prev: e.mac };
  }
  return { ok: true, entries: lines.length };
}
