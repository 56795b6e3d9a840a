import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log.js';

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
