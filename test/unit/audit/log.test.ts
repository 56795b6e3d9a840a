import { describe, expect, it } from 'vitest';
import { appendEntry, auditKey, GENESIS, verifyChain } from '../../../src/audit/chain.js';
import { auditFields, verdictContext } from '../../../src/audit/log.js';
import type { ClusterVerdictEvent, DnsChangeEvent } from '../../../src/events.js';

const KEY = auditKey('cluster-secret');
const AT = Date.UTC(2026, 11, 2, 6, 0, 0);
const iso = (ms: number): string => new Date(ms).toISOString();
const removal: DnsChangeEvent = { op: 'delete', type: 'A', hostname: 'www.example.com', ip: '198.18.0.1', dryRun: false, summary: 'remove', at: AT };
const verdict = (over: Partial<ClusterVerdictEvent> = {}): ClusterVerdictEvent => ({
  ip: '198.18.0.1',
  from: 'up',
  to: 'down',
  agreed: ['agent-a', 'agent-b', 'agent-c'],
  at: AT - 500,
  ...over,
});

describe('audit line: the agreeing agents and when each vote turned', () => {
  it.each([
    [
      'every turn time known',
      verdict({
        turned: [
          { agent: 'agent-a', since: AT - 900 },
          { agent: 'agent-b', since: AT - 2000 },
          { agent: 'agent-c', since: AT - 600 },
        ],
      }),
      [
        { agent: 'agent-a', since: iso(AT - 900) },
        { agent: 'agent-b', since: iso(AT - 2000) },
        { agent: 'agent-c', since: iso(AT - 600) },
      ],
    ],
    [
      'a peer whose turn is not known (turned long ago)',
      verdict({
        turned: [
          { agent: 'agent-a', since: AT - 900 },
          { agent: 'agent-b', since: undefined },
          { agent: 'agent-c', since: AT - 600 },
        ],
      }),
      [
        { agent: 'agent-a', since: iso(AT - 900) },
        { agent: 'agent-b', since: null },
        { agent: 'agent-c', since: iso(AT - 600) },
      ],
    ],
    [
      'an event without turn times: every since is null',
      verdict(),
      [
        { agent: 'agent-a', since: null },
        { agent: 'agent-b', since: null },
        { agent: 'agent-c', since: null },
      ],
    ],
    ['single node', verdict({ agreed: ['self'], turned: [{ agent: 'self', since: AT - 700 }] }), [{ agent: 'self', since: iso(AT - 700) }]],
  ] as const)('%s', (_name, e, agreed) => {
    expect(auditFields(removal, verdictContext(e), 'agent-a', 'cloudflare')).toStrictEqual({
      at: iso(AT),
      agent: 'agent-a',
      provider: 'cloudflare',
      dryRun: false,
      change: { op: 'delete', type: 'A', hostname: 'www.example.com', ip: '198.18.0.1' },
      verdict: 'down',
      agreed,
      verdictAt: iso(AT - 500),
      writer: 'agent-a',
      result: 'applied',
    });
  });

  it('no verdict known for the IP: unknown, nobody agreed', () => {
    expect(auditFields({ ...removal, dryRun: true }, undefined, 'agent-a', 'route53')).toMatchObject({
      verdict: 'unknown',
      agreed: [],
      verdictAt: null,
      result: 'not sent (dry-run)',
    });
  });

  it('a log whose first lines are in the old format (agreed: bare ids) verifies with new lines after them', () => {
    const old = appendEntry(GENESIS, KEY, {
      at: iso(AT - 60_000),
      agent: 'agent-a',
      provider: 'cloudflare',
      dryRun: false,
      change: { op: 'delete', type: 'A', hostname: 'www.example.com', ip: '198.18.0.1' },
      verdict: 'down',
      agreed: ['agent-a', 'agent-b'],
      verdictAt: iso(AT - 61_000),
      writer: 'agent-a',
      result: 'applied',
    });
    const e = verdict({ to: 'up', turned: [{ agent: 'agent-a', since: AT - 900 }] });
    const next = appendEntry(old.head, KEY, auditFields({ ...removal, op: 'create' }, verdictContext(e), 'agent-a', 'cloudflare'));
    const text = `${old.line}\n${next.line}\n`;
    expect(verifyChain(text, [KEY])).toEqual({ ok: true, entries: 2 });
    // and an edit of the old line is still found
    expect(verifyChain(text.replace('"agent-b"', '"agent-x"'), [KEY])).toMatchObject({ ok: false, line: 1 });
  });
});
