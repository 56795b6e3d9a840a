import type { Logger } from '../log.js';
import { createHttpProber, type HttpProbeSettings } from './http.js';
import { createIcmpProber } from './icmp.js';
import { createSplitProber } from './split.js';
import { createTcpProber } from './tcp.js';
import type { Prober, ProbeType } from './types.js';

export interface ProberSpec {
  readonly logger: Logger;
  readonly port: number;
  /** What http/https probes ask (required for those types). */
  readonly http?: HttpProbeSettings;
  /** http/https: these are probed with a TCP connect to `port` instead (see below). */
  readonly canaries?: readonly string[];
}

/**
 * The prober for a config's probe type: `ip` is ICMP echo (raw socket, needs
 * root or CAP_NET_RAW, throws ProberSetupError otherwise), `tcp` a connect to
 * `port`, `http`/`https` a request to `port` (see ./http.ts). Cheap to call
 * again on reload, but close the old ICMP prober first: two ICMP probers of
 * one process share the identifier (the pid) and would take each other's
 * replies (or pass `sessionIdBase` to createIcmpProber).
 *
 * Canaries of an http/https config get a TCP connect to `port`, not the HTTP
 * check: they stand for this agent's own network path, and need not serve
 * the checked hostname; and a TCP connect, like HTTP, needs no raw-socket
 * privilege, so an HTTP agent runs unprivileged.
 */
export function createProber(kind: ProbeType, opts: ProberSpec): Prober {
  if (kind === 'ip') return createIcmpProber({ logger: opts.logger });
  if (kind === 'tcp') return createTcpProber(opts);
  if (!opts.http) throw new Error(`a ${kind} prober needs its [HTTP] settings`);
  const main = createHttpProber({ logger: opts.logger, scheme: kind, port: opts.port, settings: opts.http });
  const canaries = new Set(opts.canaries ?? []);
  if (canaries.size === 0) return main;
  return createSplitProber(main, createTcpProber({ logger: opts.logger, port: opts.port }), (ip) => canaries.has(ip));
}
