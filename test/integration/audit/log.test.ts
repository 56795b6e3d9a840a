import { appendFile, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { appendEntry, auditKey, GENESIS, verifyChain } from '../../../src/audit/chain.js';
import { AuditLog } from '../../../src/audit/log.js';
import type { DnsChangeEvent } from '../../../src/events.js';
import { silentLogger } from '../../../src/log.js';
import { scratch, type Scratch } from '../../support/kit.js';

const KEY = auditKey('cluster-secret');
const AT = Date.UTC(2026, 11, 2, 6, 0, 0);
const change = (ip: string, op: 'create' | 'delete' = 'delete'): DnsChangeEvent => ({
  op,
  type: 'A',
  hostname: 'www.example.com',
  ip,
  dryRun: false,
  summary: `${op} ${ip}`,
  at: AT,
});

const dirs: Scratch[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await d.cleanup();
});

function audit(file: string, writes: boolean[] = []): AuditLog {
  return new AuditLog({ file, key: KEY, logger: silentLogger(), agentId: () => 'agent-a', provider: 'cloudflare', onWrite: (ok) => writes.push(ok) });
}

describe('AuditLog (a real file)', () => {
  it('appends one signed line per DNS change with the verdict behind it, mode 0600, and continues the chain after a restart', async () => {
    const dir = await scratch('audit');
    dirs.push(dir);
    const file = join(dir.dir, 'audit.jsonl');
    const writes: boolean[] = [];
    const a = audit(file, writes);
    a.clusterVerdict({
      ip: '198.18.0.1',
      from: 'up',
      to: 'down',
      agreed: ['agent-a', 'agent-b'],
      turned: [
        { agent: 'agent-a', since: AT - 500 },
        { agent: 'agent-b', since: AT - 1200 },
      ],
      at: AT - 500,
    });
    a.dnsChange(change('198.18.0.1'));
    a.dnsChange(change('198.18.0.2'));
    const restarted = audit(file, writes);
    restarted.dnsChange(change('198.18.0.1', 'create'));
    const text = await readFile(file, 'utf8');
    expect(verifyChain(text, [KEY])).toEqual({ ok: true, entries: 3 });
    const first = JSON.parse(text.split('\n')[0] as string) as Record<string, unknown>;
    expect(first).toMatchObject({
      v: 1,
      seq: 1,
      keyId: KEY.id,
      agent: 'agent-a',
      provider: 'cloudflare',
      dryRun: false,
      change: { op: 'delete', type: 'A', hostname: 'www.example.com', ip: '198.18.0.1' },
      verdict: 'down',
      agreed: [
        { agent: 'agent-a', since: new Date(AT - 500).toISOString() },
        { agent: 'agent-b', since: new Date(AT - 1200).toISOString() },
      ],
      writer: 'agent-a',
      result: 'applied',
    });
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(writes).toEqual([true, true, true]);
  });

  it('continues a file whose lines are in the old format (agreed: bare ids), and verify still says ok', async () => {
    const dir = await scratch('audit');
    dirs.push(dir);
    const file = join(dir.dir, 'audit.jsonl');
    const old = appendEntry(GENESIS, KEY, {
      at: new Date(AT - 60_000).toISOString(),
      agent: 'agent-a',
      provider: 'cloudflare',
      dryRun: false,
      change: { op: 'delete', type: 'A', hostname: 'www.example.com', ip: '198.18.0.1' },
      verdict: 'down',
      agreed: ['agent-a', 'agent-b'],
      verdictAt: new Date(AT - 61_000).toISOString(),
      writer: 'agent-a',
      result: 'applied',
    });
    await writeFile(file, `${old.line}\n`, { mode: 0o600 });
    const a = audit(file);
    a.clusterVerdict({ ip: '198.18.0.1', from: 'down', to: 'up', agreed: ['agent-a'], turned: [{ agent: 'agent-a', since: AT - 300 }], at: AT - 300 });
    a.dnsChange(change('198.18.0.1', 'create'));
    const text = await readFile(file, 'utf8');
    expect(verifyChain(text, [KEY])).toEqual({ ok: true, entries: 2 });
    const lines = text
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => l.agreed)).toEqual([['agent-a', 'agent-b'], [{ agent: 'agent-a', since: new Date(AT - 300).toISOString() }]]);
    expect(lines[1]).toMatchObject({ seq: 2, prev: lines[0]!.mac });
  });

  it('a file it cannot write is an error and a count, never a throw', () => {
    const writes: boolean[] = [];
    const a = audit('/nonexistent-dir/audit.jsonl', writes);
    expect(() => a.dnsChange(change('198.18.0.1'))).not.toThrow();
    expect(writes).toEqual([false]);
  });

  it('a log whose last line was cut: later entries start a new chain, and verify reports the cut line', async () => {
    const dir = await scratch('audit');
    dirs.push(dir);
    const file = join(dir.dir, 'audit.jsonl');
    audit(file).dnsChange(change('198.18.0.1'));
    await appendFile(file, '{"v":1,"seq":2,"cut');
    audit(file).dnsChange(change('198.18.0.2'));
    const text = await readFile(file, 'utf8');
    expect(verifyChain(text, [KEY])).toMatchObject({ ok: false, line: 2 });
    // the new entry is a line of its own, the first of a new chain
    const lines = text.split('\n').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(verifyChain(`${lines[2]}\n`, [KEY])).toEqual({ ok: true, entries: 1 });
  });
});
