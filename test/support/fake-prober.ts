import type { Prober, ProbeResult } from '../../src/probe/types.js';

/** A prober whose targets are up unless marked down; counts rounds. */
export class FakeProber implements Prober {
  readonly kind = 'ip' as const;
  readonly down = new Set<string>();
  rounds = 0;
  closed = false;
  lastIps: string[] = [];
  async probe(ips: readonly string[]): Promise<ProbeResult[]> {
    this.rounds += 1;
    this.lastIps = [...ips];
    return ips.map((ip) => (this.down.has(ip) ? { ip, ok: false, error: 'timeout' } : { ip, ok: true, rttMs: 0.1 }));
  }
  close(): void {
    this.closed = true;
  }
}
