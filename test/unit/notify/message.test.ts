import { describe, expect, it } from 'vitest';
import type { ClusterVerdictEvent, DnsChangeEvent, SelfCheckEvent } from '../../../src/events.js';
import { backoffMs, classifyStatus, errorText, parseRetryAfter } from '../../../src/notify/delivery.js';
import {
  certExpiryPayload,
  certExpiryText,
  clusterVerdictPayload,
  clusterVerdictText,
  dnsChangePayload,
  dnsChangeText,
  originOf,
  selfCheckPayload,
  selfCheckText,
  slackPayload,
  slackUrl,
} from '../../../src/notify/message.js';

const AT = Date.UTC(2024, 4, 1, 12, 0, 0);
const AT_ISO = '2024-05-01T12:00:00.000Z';

const remove = (dryRun = false): DnsChangeEvent => ({
  op: 'delete',
  type: 'A',
  hostname: 'www.example.com',
  ip: '203.0.113.7',
  dryRun,
  summary: 'remove A www.example.com 203.0.113.7',
  at: AT,
});
const add = (dryRun = false): DnsChangeEvent => ({
  op: 'create',
  type: 'AAAA',
  hostname: 'www.example.com',
  ip: '2001:db8::7',
  dryRun,
  summary: 'add AAAA www.example.com 2001:db8::7',
  at: AT,
});

describe('slackUrl', () => {
  it.each([
    ['bare path (original goavail)', 'T000/B000/XXXX', 'https://hooks.slack.com/services/T000/B000/XXXX'],
    ['leading slash', '/T000/B000/XXXX', 'https://hooks.slack.com/services/T000/B000/XXXX'],
    ['services/ prefix', 'services/T000/B000/XXXX', 'https://hooks.slack.com/services/T000/B000/XXXX'],
    ['blanks around', '  T000/B000/XXXX\n', 'https://hooks.slack.com/services/T000/B000/XXXX'],
    ['full https URL', 'https://hooks.slack.com/services/T1/B1/Y', 'https://hooks.slack.com/services/T1/B1/Y'],
    ['full URL, other host', 'http://127.0.0.1:8080/slack/T1', 'http://127.0.0.1:8080/slack/T1'],
    ['scheme in capitals', 'HTTPS://hooks.slack.com/services/T1/B1/Y', 'HTTPS://hooks.slack.com/services/T1/B1/Y'],
    ['host without scheme', 'hooks.slack.com/services/T1/B1/Y', 'https://hooks.slack.com/services/T1/B1/Y'],
    ['empty', '', undefined],
    ['blanks only', '   ', undefined],
    ['slash only', '/', undefined],
    ['absent', undefined, undefined],
  ])('%s', (_name, addr, want) => {
    expect(slackUrl(addr)).toBe(want);
  });
});

describe('originOf', () => {
  it.each([
    ['https://hooks.slack.com/services/T1/B1/SECRET', 'https://hooks.slack.com'],
    ['http://127.0.0.1:9000/hook?token=SECRET', 'http://127.0.0.1:9000'],
    ['https://user:SECRET@example.com/x', 'https://example.com'],
    ['not a url SECRET', '(invalid URL)'],
  ])('%s → %s', (url, want) => {
    expect(originOf(url)).toBe(want);
    expect(originOf(url)).not.toContain('SECRET');
  });
});

describe('human lines', () => {
  const down: ClusterVerdictEvent = { ip: '203.0.113.7', from: 'up', to: 'down', agreed: ['a', 'b'], at: AT };
  const up: ClusterVerdictEvent = { ip: '2001:db8::7', from: 'down', to: 'up', agreed: ['a'], at: AT };
  const sick: SelfCheckEvent = { from: 'healthy', to: 'canaries-failing', detail: 'all 2 canaries are down', at: AT };
  const well: SelfCheckEvent = { from: 'too-many-down', to: 'healthy', detail: 'ok', at: AT };

  it.each<[string, string]>([
    ['remove, verdict known', dnsChangeText('n1', remove(), { verdict: 'down', agreed: ['a', 'b'] })],
    ['remove, dry-run', dnsChangeText('n1', remove(true), { verdict: 'down', agreed: ['a', 'b'] })],
    ['remove, verdict not seen', dnsChangeText('n1', remove())],
    ['remove, verdict says otherwise', dnsChangeText('n1', remove(), { verdict: 'up', agreed: ['a'] })],
    ['add', dnsChangeText('n1', add(), { verdict: 'up', agreed: ['a'] })],
    ['add, dry-run', dnsChangeText('n1', add(true))],
    ['standby in', dnsChangeText('n1', { ...add(), standby: 'failover' }, { verdict: 'up', agreed: ['a'] })],
    ['standby out, failback', dnsChangeText('n1', { ...remove(), standby: 'failback' }, { verdict: 'up', agreed: ['a'] })],
    ['standby out, down', dnsChangeText('n1', { ...remove(), standby: 'standby-down' }, { verdict: 'down', agreed: ['a'] })],
    ['verdict down', clusterVerdictText('n1', down)],
    ['verdict up', clusterVerdictText('n1', up)],
    ['verdict unknown, nobody agreed', clusterVerdictText('n1', { ip: '203.0.113.7', from: 'down', to: 'unknown', agreed: [], at: AT })],
    ['self-check sick', selfCheckText('n1', sick)],
    ['self-check healthy', selfCheckText('n1', well)],
  ])('%s', (name, got) => {
    const want: Record<string, string> = {
      'remove, verdict known': ':rotating_light: goavail n1: removed A www.example.com 203.0.113.7 (203.0.113.7 down, agreed by a, b)',
      'remove, dry-run': ':rotating_light: goavail n1: would remove A www.example.com 203.0.113.7 (203.0.113.7 down, agreed by a, b)',
      'remove, verdict not seen': ':rotating_light: goavail n1: removed A www.example.com 203.0.113.7',
      'remove, verdict says otherwise': ':rotating_light: goavail n1: removed A www.example.com 203.0.113.7',
      add: ':white_check_mark: goavail n1: added AAAA www.example.com 2001:db8::7 (2001:db8::7 up, agreed by a)',
      'add, dry-run': ':white_check_mark: goavail n1: would add AAAA www.example.com 2001:db8::7',
      'standby in': ':white_check_mark: goavail n1: added AAAA www.example.com 2001:db8::7 (standby: failing over, too few primaries up)',
      'standby out, failback': ':rotating_light: goavail n1: removed A www.example.com 203.0.113.7 (standby: failback, the primaries have stayed up)',
      'standby out, down': ':rotating_light: goavail n1: removed A www.example.com 203.0.113.7 (standby: it is down)',
      'verdict down': ':red_circle: goavail n1: cluster verdict 203.0.113.7 is down (was up), agreed by a, b',
      'verdict up': ':large_green_circle: goavail n1: cluster verdict 2001:db8::7 is up (was down), agreed by a',
      'verdict unknown, nobody agreed': ':grey_question: goavail n1: cluster verdict 203.0.113.7 is unknown (was down)',
      'self-check sick': ':warning: goavail n1: self-check canaries-failing (was healthy): all 2 canaries are down; its down votes now abstain',
      'self-check healthy': ':white_check_mark: goavail n1: self-check healthy again (was too-many-down): ok; its down votes count again',
    };
    expect(got).toBe(want[name]);
  });

  it('slack payload is just the line', () => {
    expect(slackPayload('hello')).toEqual({ text: 'hello' });
  });
});

describe('webhook payloads', () => {
  it('dns change: versioned, ISO time, recordType, dryRun, agreed, text', () => {
    expect(dnsChangePayload('n1', remove(true), { verdict: 'down', agreed: ['a', 'b'] })).toStrictEqual({
      version: 1,
      type: 'dns_change',
      agent: 'n1',
      at: AT_ISO,
      op: 'delete',
      recordType: 'A',
      hostname: 'www.example.com',
      ip: '203.0.113.7',
      dryRun: true,
      summary: 'remove A www.example.com 203.0.113.7',
      agreed: ['a', 'b'],
      text: ':rotating_light: goavail n1: would remove A www.example.com 203.0.113.7 (203.0.113.7 down, agreed by a, b)',
    });
  });

  it('dns change without a known verdict has no agreed field', () => {
    const p = dnsChangePayload('n1', add(), undefined);
    expect(p).not.toHaveProperty('agreed');
    expect(p).toMatchObject({ type: 'dns_change', op: 'create', recordType: 'AAAA', dryRun: false });
  });

  it('cluster verdict', () => {
    const e: ClusterVerdictEvent = { ip: '203.0.113.7', from: 'up', to: 'down', agreed: ['a', 'b'], at: AT };
    expect(clusterVerdictPayload('n1', false, e)).toStrictEqual({
      version: 1,
      type: 'cluster_verdict',
      agent: 'n1',
      ip: '203.0.113.7',
      from: 'up',
      to: 'down',
      agreed: ['a', 'b'],
      at: AT_ISO,
      dryRun: false,
      text: ':red_circle: goavail n1: cluster verdict 203.0.113.7 is down (was up), agreed by a, b',
    });
  });

  it('self-check', () => {
    const e: SelfCheckEvent = { from: 'healthy', to: 'too-many-down', detail: '3 of 4 IPs look down', at: AT };
    expect(selfCheckPayload('n1', true, e)).toStrictEqual({
      version: 1,
      type: 'self_check',
      agent: 'n1',
      from: 'healthy',
      to: 'too-many-down',
      detail: '3 of 4 IPs look down',
      at: AT_ISO,
      dryRun: true,
      text: ':warning: goavail n1: self-check too-many-down (was healthy): 3 of 4 IPs look down; its down votes now abstain',
    });
  });

  it('survives a JSON round trip unchanged', () => {
    const p = dnsChangePayload('n1', remove(), { verdict: 'down', agreed: ['a'] });
    expect(JSON.parse(JSON.stringify(p))).toStrictEqual(p);
  });
});

describe('delivery rules', () => {
  it.each([
    [200, 'ok'],
    [204, 'ok'],
    [299, 'ok'],
    [301, 'fail'],
    [400, 'fail'],
    [401, 'fail'],
    [403, 'fail'],
    [404, 'fail'],
    [408, 'fail'],
    [410, 'fail'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
    [599, 'retry'],
  ])('status %i → %s', (status, want) => {
    expect(classifyStatus(status)).toBe(want);
  });

  const NOW = Date.UTC(2024, 4, 1, 12, 0, 0);
  it.each<[string | null, number | undefined]>([
    [null, undefined],
    ['1', 1000],
    [' 120 ', 120_000],
    ['0', 0],
    ['Wed, 01 May 2024 12:00:30 GMT', 30_000],
    ['Wed, 01 May 2024 11:00:00 GMT', 0],
    ['1.5', 1500], // not HTTP's delta-seconds, read anyway: src/backoff.ts says why
    ['-3', undefined],
    ['soon', undefined],
    ['', undefined],
  ])('Retry-After %j → %j ms', (header, want) => {
    expect(parseRetryAfter(header, NOW)).toBe(want);
  });

  const opts = { baseDelayMs: 1000, maxDelayMs: 8000, maxRetryAfterMs: 5000 };
  it.each<[string, number, number | undefined, number, number]>([
    ['1st failure, least jitter', 1, undefined, 0, 500],
    ['1st failure, most jitter', 1, undefined, 0.999999, 999],
    ['2nd failure', 2, undefined, 0, 1000],
    ['3rd failure', 3, undefined, 0.5, 3000],
    ['capped by maxDelayMs', 10, undefined, 0, 4000],
    ['capped by maxDelayMs, most jitter', 10, undefined, 0.999999, 7999],
    ['Retry-After honoured', 1, 2000, 0.9, 2000],
    ['Retry-After capped', 1, 3_600_000, 0.9, 5000],
    ['Retry-After zero', 3, 0, 0.9, 0],
  ])('backoff: %s', (_name, attempt, retryAfter, rnd, want) => {
    expect(backoffMs(attempt, retryAfter, opts, () => rnd)).toBe(want);
  });

  it('error text never carries the secret URL', () => {
    const url = 'https://hooks.slack.com/services/T1/B1/SECRET';
    const err = new TypeError(`fetch failed for ${url}`, { cause: Object.assign(new Error('x'), { code: 'ECONNRESET' }) });
    const text = errorText(err, [url], 'https://hooks.slack.com');
    expect(text).toBe('fetch failed for https://hooks.slack.com (ECONNRESET)');
    expect(errorText(`boom ${url}/`, [url], 'O')).toBe('boom O/');
  });
});

describe('cert_expiry', () => {
  const e = { ip: '203.0.113.7', host: 'www.example.com', expiresAt: Date.UTC(2026, 11, 5), daysLeft: 3, minDays: 7, at: Date.UTC(2026, 11, 2) };
  it.each([
    [3, 'expires in 3 days'],
    [1, 'expires in 1 day'],
    [-1, 'expired 1 day ago'],
    [-4, 'expired 4 days ago'],
  ])('daysLeft %d → %s', (daysLeft, words) => {
    expect(certExpiryText('a', { ...e, daysLeft })).toBe(
      `:warning: goavail a: the certificate of 203.0.113.7 for www.example.com ${words} (2026-12-05T00:00:00.000Z), below cert_min_days = 7`,
    );
  });
  it('the webhook body carries the fields, times as ISO 8601', () => {
    expect(certExpiryPayload('a', false, e)).toEqual({
      version: 1,
      type: 'cert_expiry',
      agent: 'a',
      ip: '203.0.113.7',
      host: 'www.example.com',
      daysLeft: 3,
      minDays: 7,
      expiresAt: '2026-12-05T00:00:00.000Z',
      at: '2026-12-02T00:00:00.000Z',
      dryRun: false,
      text: certExpiryText('a', e),
    });
  });
});
