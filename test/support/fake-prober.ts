import type { Prober, ProbeResult } from '../../src/probe/types.js';

/**
 * A prober whose targets are up unless marked down; counts rounds. `notSent`
 * makes every probe of a round fail locally (no observation) with that code,
 * `reject` makes whole rounds reject with that error.
 */
export class FakeProber implements Prober {
  readonly kind = 'ip' as const;
  readonly down = new Set<string>();
  notSent: 'EMFILE' | 'ENFILE' | 'ENOBUFS' | 'ENOMEM' | 'EADDRNOTAVAIL' | undefined;
  reject: Error | undefined;
  rounds = 0;
  closed = false;
  lastIps: string[] = [];
  async probe(ips: readonly string[]): Promise<ProbeResult[]> {
    this.rounds += 1;
    this.lastIps = [...ips];
    if (this.reject) throw this.reject;
    const local = this.notSent;
    if (local) return ips.map((ip) => ({ ip, ok: false, local, error: `no probe sent: connect ${local} ${ip}:80` }));
    return ips.map((ip) => (this.down.has(ip) ? { ip, ok: false, error: 'timeout' } : { ip, ok: true, rttMs: 0.1 }));
  }
  close(): void {
    this.closed = true;
  }
}

/**
 * A prober on the clock (use with fake timers): a probe sent while
 * `silent(ip, now)` holds times out after the round's timeout, any other
 * answers after `rttMs`. Each target's result goes to `onResult` when it is
 * known, as the real probers do. Every send is logged with its time and
 * whether it belonged to a round of several targets or to a recheck.
 */
export class TimedProber implements Prober {
  readonly kind = 'ip' as const;
  readonly sends: Array<{ ip: string; at: number }> = [];
  silent: (ip: string, now: number) => boolean = () => false;
  rttMs = 1;
  closed = false;
  async probe(ips: readonly string[], timeoutMs: number, signal?: AbortSignal, onResult?: (r: ProbeResult) => void): Promise<ProbeResult[]> {
    if (signal?.aborted) throw signal.reason;
    const now = Date.now();
    return Promise.all(
      ips.map(
        (ip) =>
          new Promise<ProbeResult>((resolve, reject) => {
            this.sends.push({ ip, at: now });
            const dead = this.silent(ip, now);
            const r: ProbeResult = dead ? { ip, ok: false, error: 'timeout' } : { ip, ok: true, rttMs: this.rttMs };
            const timer = setTimeout(
              () => {
                onResult?.(r);
                resolve(r);
              },
              dead ? timeoutMs : this.rttMs,
            );
            signal?.addEventListener(
              'abort',
              () => {
                clearTimeout(timer);
                reject(signal.reason);
              },
              { once: true },
            );
          }),
      ),
    );
  }
  /** Send times of `ip`. */
  sendsOf(ip: string): number[] {
    return this.sends.filter((s) => s.ip === ip).map((s) => s.at);
  }
  close(): void {
    this.closed = true;
  }
}
