import { describe, expect, it } from 'vitest';
import { appendEntry, auditKey, GENESIS, headOf, verifyChain, type ChainHead } from '../../../src/audit/chain.js';

const OLD = auditKey('old-cluster-secret');
const NEW = auditKey('new-cluster-secret');

/** A log of `n` entries signed by `key`, continuing from `head`. */
function log(n: number, key = NEW, head: ChainHead = GENESIS): { lines: string[]; head: ChainHead } {
  const lines: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = appendEntry(head, key, {
      at: `2026-12-02T05:0${i}:00.000Z`,
      change: { op: 'delete', type: 'A', hostname: 'www.example.com', ip: `198.18.0.${i + 1}` },
    });
    lines.push(r.line);
    head = r.head;
  }
  return { lines, head };
}
const text = (lines: readonly string[]): string => `${lines.join('\n')}\n`;

describe('the audit chain', () => {
  it('derives a stable key id per secret, different per secret, never the secret itself', () => {
    expect(auditKey('old-cluster-secret').id).toBe(OLD.id);
    expect(OLD.id).not.toBe(NEW.id);
    expect(OLD.id).toMatch(/^[0-9a-f]{16}$/);
    expect(OLD.key.toString('utf8')).not.toContain('old-cluster-secret');
  });

  it('an untouched log verifies: ok, N entries (also empty, and without a final newline)', () => {
    const { lines } = log(5);
    expect(verifyChain(text(lines), [NEW])).toEqual({ ok: true, entries: 5 });
    expect(verifyChain(lines.join('\n'), [NEW])).toEqual({ ok: true, entries: 5 });
    expect(verifyChain('', [NEW])).toEqual({ ok: true, entries: 0 });
  });

  const edit = (lines: string[], i: number, f: (l: string) => string): string[] => lines.map((l, j) => (j === i ? f(l) : l));
  it.each<[string, (lines: string[]) => string[], number, RegExp]>([
    ['an IP edited', (l) => edit(l, 2, (x) => x.replace('198.18.0.3', '198.18.0.9')), 3, /mac does not match/],
    ['a field added', (l) => edit(l, 1, (x) => x.replace('"v":1,', '"v":1,"dryRun":true,')), 2, /mac does not match/],
    ['a line deleted', (l) => l.filter((_, j) => j !== 1), 2, /out of chain: seq 3 after 1/],
    ['the first line deleted', (l) => l.slice(1), 1, /out of chain: seq 2 after 0/],
    ['two lines swapped', (l) => [l[0]!, l[2]!, l[1]!, l[3]!, l[4]!], 2, /out of chain/],
    ['cut in the middle of the last line', (l) => [...l.slice(0, 4), l[4]!.slice(0, 40)], 5, /not an audit entry/],
    ['a line of garbage', (l) => edit(l, 3, () => 'garbage'), 4, /not an audit entry/],
    ['the mac replaced by a shorter one', (l) => edit(l, 0, (x) => x.replace(/"mac":"[0-9a-f]+"/, '"mac":"00"')), 1, /mac does not match/],
  ])('%s: reported at the right line', (_name, tamper, line, reason) => {
    const r = verifyChain(text(tamper(log(5).lines)), [NEW]);
    expect(r).toMatchObject({ ok: false, line });
    if (!r.ok) expect(r.reason).toMatch(reason);
  });

  it('lines appended by someone without the key do not verify', () => {
    const { lines, head } = log(3);
    const forged = appendEntry(head, auditKey('guessed'), { change: 'forged' }).line.replace(/"keyId":"[0-9a-f]+"/, `"keyId":"${NEW.id}"`);
    expect(verifyChain(text([...lines, forged]), [NEW])).toMatchObject({ ok: false, line: 4 });
  });

  it('a log that spans a key rotation verifies with the keyring, not with one key alone; an unknown key id is named', () => {
    const first = log(2, OLD);
    const second = log(2, NEW, first.head);
    const all = text([...first.lines, ...second.lines]);
    expect(verifyChain(all, [NEW, OLD])).toEqual({ ok: true, entries: 4 });
    const r = verifyChain(all, [NEW]);
    expect(r).toMatchObject({ ok: false, line: 1 });
    if (!r.ok) expect(r.reason).toContain(OLD.id);
  });

  it.each<[string, string | undefined, ChainHead | undefined]>([
    ['no file yet', undefined, GENESIS],
    ['an empty file', '', GENESIS],
    ['not an entry', '{"half":', undefined],
  ])('headOf: %s', (_name, last, want) => {
    expect(headOf(last)).toEqual(want);
  });

  it('headOf continues after the last entry', () => {
    const { lines, head } = log(3);
    expect(headOf(lines[2])).toEqual(head);
  });
});
