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
