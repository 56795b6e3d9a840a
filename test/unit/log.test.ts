import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, redactSecrets } from '../../src/log.js';

/** A stream that keeps what it is given. */
function sink(): { stream: Writable; text: () => string } {
  const parts: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      parts.push(chunk.toString('utf8'));
      done();
    },
  });
  return { stream, text: () => parts.join('') };
}

describe('createLogger', () => {
  it('pretty (a terminal): one event per line, fields inline, no pid or hostname, secrets redacted', () => {
    const out = sink();
    const log = createLogger({ pretty: true, destination: out.stream });
    log.info({ ip: '198.18.0.1', streak: { misses: 3, oks: 0 }, apiToken: 'tok-123' }, 'local verdict: 198.18.0.1 is down');
    log.warn({ peers: ['a', 'b'] }, 'second event');
    const lines = out
      .text()
      .split('\n')
      .filter((l) => l !== '');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: local verdict: 198\.18\.0\.1 is down \{.*"ip":"198\.18\.0\.1".*"misses":3.*\}$/);
    expect(lines[0]).toContain('[redacted]');
    expect(lines[0]).not.toContain('tok-123');
    expect(lines[0]).not.toMatch(/pid|hostname/);
    expect(lines[1]).toMatch(/WARN: second event/);
  });

  it('not a terminal: one JSON object per line, as before', () => {
    const out = sink();
    const log = createLogger({ pretty: false, destination: out.stream });
    log.info({ ip: '198.18.0.1' }, 'hello');
    const lines = out
      .text()
      .split('\n')
      .filter((l) => l !== '');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0] as string)).toMatchObject({ level: 30, msg: 'hello', ip: '198.18.0.1', pid: process.pid });
  });
});

describe('redactSecrets', () => {
  const err = new Error('boom');
  const cases: Array<{ name: string; input: unknown; want: unknown }> = [
    { name: 'a top-level secret', input: { apiToken: 'tok', ip: '198.18.0.1' }, want: { apiToken: '[redacted]', ip: '198.18.0.1' } },
    { name: 'one level down', input: { cloudflare: { apiKey: 'k', zone: 'z' } }, want: { cloudflare: { apiKey: '[redacted]', zone: 'z' } } },
    {
      name: 'request headers two levels down',
      input: { req: { headers: { authorization: 'Bearer x', 'x-auth-key': 'y', accept: '*/*' } } },
      want: { req: { headers: { authorization: '[redacted]', 'x-auth-key': '[redacted]', accept: '*/*' } } },
    },
    { name: 'inside an array', input: { channels: [{ token: 't', kind: 'telegram' }] }, want: { channels: [{ token: '[redacted]', kind: 'telegram' }] } },
    { name: 'a key list (cryptoKeys)', input: { cryptoKeys: ['a', 'b'] }, want: { cryptoKeys: '[redacted]' } },
    { name: 'the control token', input: { controlToken: 'c' }, want: { controlToken: '[redacted]' } },
    { name: 'an undefined secret stays undefined (not logged)', input: { token: undefined }, want: { token: undefined } },
    { name: 'deeper than the scan is left alone', input: { a: { b: { c: { d: { token: 't' } } } } }, want: { a: { b: { c: { d: { token: 't' } } } } } },
    { name: 'an Error is left to its serializer', input: { err }, want: { err } },
  ];
  it.each(cases)('$name', ({ input, want }) => {
    expect(redactSecrets(input)).toStrictEqual(want);
  });

  it('copies only what it changes: the input is never modified, and an object without secrets is returned as is', () => {
    const ips = Array.from({ length: 10_000 }, (_, i) => `198.18.${i >> 8}.${i & 255}`);
    const clean = { ips, hostnames: ['www.example.com'], nested: { ok: true } };
    expect(redactSecrets(clean)).toBe(clean);
    const input = { ips, cloudflare: { apiToken: 'tok' } };
    const out = redactSecrets(input);
    expect(input.cloudflare.apiToken).toBe('tok');
    expect(out.ips).toBe(ips);
    expect(out.cloudflare).not.toBe(input.cloudflare);
  });

  it('the JSON logger redacts and still serializes errors', () => {
    const out = sink();
    const log = createLogger({ pretty: false, destination: out.stream });
    log.error({ err: new Error('boom'), headers: { authorization: 'Bearer secret-1' }, webhook: { token: 'secret-2' } }, 'failed');
    const line = JSON.parse(out.text().trim()) as Record<string, unknown>;
    expect(out.text()).not.toMatch(/secret-1|secret-2/);
    expect(line).toMatchObject({ headers: { authorization: '[redacted]' }, webhook: { token: '[redacted]' }, err: { type: 'Error', message: 'boom' } });
  });
});
