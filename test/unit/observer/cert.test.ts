import { describe, expect, it } from 'vitest';
import type { Config } from '../../../src/config/schema.js';
import type { CertExpiryEvent } from '../../../src/events.js';
import { silentLogger } from '../../../src/log.js';
import type { Scheduler } from '../../../src/model.js';
import { Observer, proberKey } from '../../../src/observer/observer.js';
import type { ProbeResult, Prober } from '../../../src/probe/types.js';
import { testConfig } from '../../support/config.js';

const A = '203.0.113.1';
const B = '203.0.113.2';
const DAY = 86_400_000;

/** Timers the test fires by hand; the clock moves to each timer's time. */
class ManualScheduler implements Scheduler {
  t = 1_000 * DAY;
  private timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): number {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimer(id: unknown): void {
    this.timers.delete(id as number);
  }
  async fireNext(): Promise<void> {
    const [id, timer] = [...this.timers].sort((a, b) => a[1].at - b[1].at)[0]!;
    this.timers.delete(id);
    this.t = Math.max(this.t, timer.at);
    timer.fn();
    for (let i = 0; i < 5; i++) await Promise.resolve();
  }
}

/** An https prober whose targets serve certificates expiring at the given times. */
class CertProber implements Prober {
  readonly kind = 'https' as const;
  readonly expiry = new Map<string, number>();
  async probe(ips: readonly string[]): Promise<ProbeResult[]> {
    return ips.map((ip) => ({ ip, ok: true, rttMs: 1, certExpiresAt: this.expiry.get(ip) }));
  }
  close(): void {}
}

function httpsConfig(certMinDays = 7): Config {
  const base = testConfig({ ips: [A, B], intervalMs: 1000 });
  return {
    ...base,
    probeType: 'https',
    port: 443,
    http: {
      path: '/',
      method: 'GET',
      host: 'www.example.com',
      expectStatus: [{ min: 200, max: 399 }],
      expectBody: undefined,
      headers: {},
      tlsVerify: true,
      caFile: undefined,
      certMinDays,
    },
  };
}

describe('Observer: certificate expiry', () => {
  it('warns once when a certificate comes within cert_min_days, again for a new one still inside it, and never fails the check', async () => {
    const scheduler = new ManualScheduler();
    const prober = new CertProber();
    const events: CertExpiryEvent[] = [];
    const stop = new AbortController();
    const o = new Observer(
      {
        logger: silentLogger(),
        events: { certExpiry: (e) => events.push(e) },
        scheduler,
        signal: stop.signal,
        createProber: () => prober,
        selfId: 'self',
        onVerdictChange: () => undefined,
      },
      httpsConfig(7),
    );
    prober.expiry.set(A, scheduler.t + 30 * DAY);
    prober.expiry.set(B, scheduler.t + 3 * DAY + 3_600_000);
    o.start();
    for (let i = 0; i < 4; i++) await scheduler.fireNext();
    expect(events.map((e) => [e.ip, e.daysLeft, e.minDays, e.host])).toEqual([[B, 3, 7, 'www.example.com']]);
    expect(o.state().certs?.get(A)).toMatchObject({ warning: false, daysLeft: 29 });
    expect(o.state().certs?.get(B)).toMatchObject({ warning: true, daysLeft: 3 });
    expect(o.state().targets.get(B)?.verdict).toBe('up');

    // A renewed certificate that is still short: warned about once more.
    prober.expiry.set(B, scheduler.t + 5 * DAY);
    for (let i = 0; i < 3; i++) await scheduler.fireNext();
    expect(events.map((e) => [e.ip, e.daysLeft])).toEqual([
      [B, 3],
      [B, 4],
    ]);
    // Renewed for long: the warning clears, no event.
    prober.expiry.set(B, scheduler.t + 90 * DAY);
    await scheduler.fireNext();
    expect(o.state().certs?.get(B)).toMatchObject({ warning: false });
    expect(events).toHaveLength(2);
    stop.abort();
    await o.stop();
  });
});

describe('proberKey: when a reload needs a new prober', () => {
  const ip = testConfig();
  const tcp: Config = { ...ip, probeType: 'tcp' };
  const https = httpsConfig();
  it.each([
    ['ip, port changed', ip, { ...ip, port: 8080 }, false],
    ['tcp, port changed', tcp, { ...tcp, port: 8080 }, true],
    ['ip → tcp', ip, tcp, true],
    ['https, same', https, { ...https }, false],
    ['https, path changed', https, { ...https, http: { ...https.http!, path: '/healthz' } }, true],
    ['https, CA changed', https, { ...https, http: { ...https.http!, caPem: 'x' } }, true],
    ['https, canaries changed', https, { ...https, canaries: ['192.0.2.1'] }, true],
    ['https → http', https, { ...https, probeType: 'http' as const }, true],
  ])('%s → %s', (_name, a, b, changed) => {
    expect(proberKey(a) !== proberKey(b)).toBe(changed);
  });
});
