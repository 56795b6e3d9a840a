import type { ProbeResult, Prober } from './types.js';

/**
 * One prober for most targets and another for a few: the round goes to both
 * at once and the results come back in input order. Used to probe canaries
 * of an http/https config with a TCP connect (see createProber): a canary is
 * an address this agent should always reach (a router, a resolver), not a
 * web server that serves the checked hostname.
 */
export function createSplitProber(main: Prober, other: Prober, useOther: (ip: string) => boolean): Prober {
  async function probe(ips: readonly string[], timeoutMs: number, signal?: AbortSignal, onResult?: (result: ProbeResult) => void): Promise<ProbeResult[]> {
    const mine: string[] = [];
    const theirs: string[] = [];
    for (const ip of ips) (useOther(ip) ? theirs : mine).push(ip);
    if (theirs.length === 0) return main.probe(ips, timeoutMs, signal, onResult);
    const [a, b] = await Promise.all([main.probe(mine, timeoutMs, signal, onResult), other.probe(theirs, timeoutMs, signal, onResult)]);
    const byIp = new Map<string, ProbeResult>();
    for (const r of [...a, ...b]) byIp.set(r.ip, r);
    return ips.map((ip) => byIp.get(ip) ?? { ip, ok: false, error: 'no result' });
  }
  return {
    kind: main.kind,
    probe,
    close() {
      main.close();
      other.close();
    },
  };
}
