import { describe, expect, it } from 'vitest';
import type { DnsChangeEvent } from '../../../src/events.js';
import {
  dedupKey,
  discordRequest,
  opsgenieRequest,
  pagerdutyRequest,
  plainText,
  teamsRequest,
  telegramRequest,
  type AlertEvent,
} from '../../../src/notify/channels.js';
import { clusterVerdictPayload, dnsChangePayload, selfCheckPayload } from '../../../src/notify/message.js';

const AT = Date.UTC(2026, 11, 2, 5, 30, 0);
const change = (op: 'create' | 'delete', dryRun = false): DnsChangeEvent => ({
  op,
  type: 'A',
  hostname: 'www.example.com',
  ip: '198.18.0.7',
  dryRun,
  summary: `${op === 'delete' ? 'remove' : 'add'} A www.example.com 198.18.0.7`,
  at: AT,
});
const note = (p: ReturnType<typeof dnsChangePayload>): AlertEvent => ({ kind: 'notification', payload: p });
const removal = note(dnsChangePayload('a', change('delete'), { verdict: 'down', agreed: ['a', 'b'] }));
const restore = note(dnsChangePayload('a', change('create'), { verdict: 'up', agreed: ['a', 'b'] }));
const dryRemoval = note(dnsChangePayload('a', change('delete', true)));
const standbyIn = note(dnsChangePayload('a', { ...change('create'), standby: 'failover' }, { verdict: 'up', agreed: ['a'] }));
const standbyFailback = note(dnsChangePayload('a', { ...change('delete'), standby: 'failback' }, { verdict: 'up', agreed: ['a'] }));
const standbyDown = note(dnsChangePayload('a', { ...change('delete'), standby: 'standby-down' }, { verdict: 'down', agreed: ['a'] }));
const verdict = note(clusterVerdictPayload('a', false, { ip: '198.18.0.7', from: 'up', to: 'down', agreed: ['a'], at: AT }));
const selfCheck = note(selfCheckPayload('a', false, { from: 'healthy', to: 'canaries-failing', detail: 'all 2 canaries fail', at: AT }));
const record = { type: 'A' as const, hostname: 'www.example.com', ip: '198.18.0.7' };
const held: AlertEvent = { kind: 'held', record, agent: 'a', at: '2026-12-02T05:30:00.000Z' };
const released: AlertEvent = { kind: 'released', record, agent: 'a', at: '2026-12-02T05:31:00.000Z' };

const KEY = 'goavail www.example.com 198.18.0.7';

describe('incident channels page on removals and held removals only, one dedup key per hostname + IP', () => {
  it.each<[string, AlertEvent, string | undefined, string | undefined]>([
    // event, PagerDuty event_action (severity), Opsgenie path
    ['a real removal', removal, 'trigger warning', '/v2/alerts'],
    ['a real restore', restore, 'resolve', `/v2/alerts/${encodeURIComponent(KEY)}/close?identifierType=alias`],
    ['a held removal', held, 'trigger critical', '/v2/alerts'],
    ['a released held removal', released, 'resolve', `/v2/alerts/${encodeURIComponent(KEY)}/close?identifierType=alias`],
    ['a dry-run removal', dryRemoval, undefined, undefined],
    ['a standby coming in (failover): the primaries carry the incident', standbyIn, undefined, undefined],
    ['a standby leaving at failback: no page that nothing would resolve', standbyFailback, undefined, undefined],
    ['a standby leaving because it is down', standbyDown, undefined, undefined],
    ['a cluster verdict change', verdict, undefined, undefined],
    ['a self-check change', selfCheck, undefined, undefined],
  ])('%s', (_name, e, pd, og) => {
    const p = pagerdutyRequest('R0UTING', e);
    if (pd === undefined) expect(p).toBeUndefined();
    else {
      const body = p!.body as { routing_key: string; event_action: string; dedup_key: string; payload?: { severity: string } };
      expect(p!.path).toBe('');
      expect(body.routing_key).toBe('R0UTING');
      expect(body.dedup_key).toBe(KEY);
      expect([body.event_action, body.payload?.severity].filter(Boolean).join(' ')).toBe(pd);
    }
    const o = opsgenieRequest(e);
    expect(o?.path).toBe(og);
  });

  it('the PagerDuty trigger carries what the on-call needs', () => {
    expect(pagerdutyRequest('R0UTING', removal)!.body).toEqual({
      routing_key: 'R0UTING',
      event_action: 'trigger',
      dedup_key: KEY,
      payload: {
        summary: '🚨 goavail a: removed A www.example.com 198.18.0.7 (198.18.0.7 down, agreed by a, b)',
        source: 'a',
        severity: 'warning',
        timestamp: '2026-12-02T05:30:00.000Z',
        component: '198.18.0.7',
        group: 'www.example.com',
        class: 'dns-failover',
        custom_details: { recordType: 'A', hostname: 'www.example.com', ip: '198.18.0.7' },
      },
    });
    expect(pagerdutyRequest('R0UTING', restore)!.body).toEqual({ routing_key: 'R0UTING', event_action: 'resolve', dedup_key: KEY });
  });

  it('the Opsgenie alert: message within 130 characters, alias = dedup key, P1 when nothing is left to fail over to', () => {
    const a = opsgenieRequest(removal)!.body as Record<string, unknown>;
    expect(a).toMatchObject({ alias: KEY, source: 'a', entity: '198.18.0.7', priority: 'P3', tags: ['goavail', 'www.example.com'] });
    expect((opsgenieRequest(held)!.body as Record<string, unknown>).priority).toBe('P1');
    const long = note(dnsChangePayload('a'.repeat(300), change('delete')));
    const m = (opsgenieRequest(long)!.body as { message: string }).message;
    expect(m).toHaveLength(130);
    expect(m.endsWith('…')).toBe(true);
  });
});

describe('chat channels get every notification, in plain Unicode', () => {
  it.each<[string, AlertEvent, string]>([
    ['a removal', removal, '🚨 goavail a: removed A www.example.com 198.18.0.7 (198.18.0.7 down, agreed by a, b)'],
    ['a dry-run removal', dryRemoval, '🚨 goavail a: would remove A www.example.com 198.18.0.7'],
    ['a verdict change', verdict, '🔴 goavail a: cluster verdict 198.18.0.7 is down (was up), agreed by a'],
    ['a self-check change', selfCheck, '⚠️ goavail a: self-check canaries-failing (was healthy): all 2 canaries fail; its down votes now abstain'],
    [
      'a held removal',
      held,
      '🚨 goavail a: every configured IP of www.example.com looks down; keeping A www.example.com 198.18.0.7 (never removing the last record)',
    ],
    ['a released one', released, '✅ goavail a: A www.example.com 198.18.0.7 is no longer held: its IP is up again'],
  ])('%s', (_name, e, text) => {
    expect(discordRequest(e)).toEqual({ path: '', body: { content: text, allowed_mentions: { parse: [] } } });
    expect(telegramRequest('-1001234', e)).toEqual({ path: '/sendMessage', body: { chat_id: '-1001234', text, disable_web_page_preview: true } });
    const card = teamsRequest(e)!.body as {
      type: string;
      attachments: Array<{ contentType: string; content: { type: string; body: Array<{ text: string }> } }>;
    };
    expect(card.type).toBe('message');
    expect(card.attachments[0]!.contentType).toBe('application/vnd.microsoft.card.adaptive');
    expect(card.attachments[0]!.content.type).toBe('AdaptiveCard');
    expect(card.attachments[0]!.content.body[0]!.text).toBe(text);
  });

  it('Discord text is cut at its 2,000-character limit, Telegram at 4,096', () => {
    const e = note(dnsChangePayload('x'.repeat(5000), change('delete')));
    expect((discordRequest(e)!.body as { content: string }).content.length).toBe(2000);
    expect((telegramRequest('1', e)!.body as { text: string }).text.length).toBe(4096);
  });

  it.each([
    [':rotating_light: goavail a: x', '🚨 goavail a: x'],
    [':large_green_circle: up', '🟢 up'],
    [':unknown_code: kept', ':unknown_code: kept'],
    ['no icon', 'no icon'],
  ])('plainText(%j)', (input, want) => {
    expect(plainText(input)).toBe(want);
  });

  it('dedupKey is per hostname and IP', () => {
    expect(dedupKey('www.example.com', '198.18.0.7')).toBe(KEY);
    expect(dedupKey('api.example.com', '198.18.0.7')).not.toBe(KEY);
  });
});
