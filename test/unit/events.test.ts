import { describe, expect, it } from 'vitest';
import { fanOut, type AgentEvents } from '../../src/events.js';

/** Every hook of AgentEvents, with a sample argument. */
const HOOKS: ReadonlyArray<[keyof AgentEvents, unknown]> = [
  ['probeRound', []],
  ['localVerdict', { ip: '192.0.2.1', from: 'up', to: 'down', at: 1 }],
  ['clusterVerdict', { ip: '192.0.2.1', from: 'up', to: 'down', agreed: ['self'], at: 1 }],
  ['dnsChange', { op: 'delete', type: 'A', hostname: 'www.example.com', ip: '192.0.2.1', dryRun: true, summary: 's', at: 1 }],
  ['dnsCall', { op: 'list', result: 'ok', durationMs: 1 }],
  ['reconcile', { ok: true, durationMs: 1, changes: 0, consecutiveFailures: 0, at: 1 }],
  ['configReload', { ok: true, at: 1 }],
  ['selfCheck', { from: 'healthy', to: 'too-many-down', detail: 'd', at: 1 }],
  ['heldRemovals', { held: [{ type: 'A', hostname: 'www.example.com', ip: '192.0.2.1' }], at: 1 }],
  ['dnsChangeSettled', { changeId: 'C1', status: 'INSYNC', ms: 1200, at: 1 }],
  ['recheck', { sent: 1, capped: 0, at: 1 }],
  ['certExpiry', { ip: '192.0.2.1', host: 'www.example.com', expiresAt: 1, daysLeft: 3, minDays: 7, at: 1 }],
  [
    'drainChange',
    {
      entry: { ip: '198.18.0.1', drained: true, at: 1, origin: 'self', until: undefined, by: 'alice', reason: '', source: 'operator' },
      change: 'drained',
      local: true,
      at: 1,
    },
  ],
];

describe('fanOut', () => {
  it.each(HOOKS)('passes %s to every sink, past a sink that throws', (hook, arg) => {
    const seen: unknown[] = [];
    const errors: unknown[] = [];
    const throwing = {
      [hook]: () => {
        throw new Error('boom');
      },
    } as AgentEvents;
    const recording = { [hook]: (e: unknown) => seen.push(e) } as AgentEvents;
    const out = fanOut([throwing, {}, recording], (err) => errors.push(err));
    (out[hook] as (e: unknown) => void)(arg);
    expect(seen).toEqual([arg]);
    expect(errors).toHaveLength(1);
  });

  it('covers every hook of AgentEvents', () => {
    expect(Object.keys(fanOut([])).sort()).toEqual(HOOKS.map(([h]) => h).sort());
  });
});
