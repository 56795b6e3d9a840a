import type { Logger } from '../log.js';
import { createIcmpProber } from './icmp.js';
import { createTcpProber } from './tcp.js';
import type { Prober } from './types.js';

/**
 * The prober for a config's probe type: `ip` is ICMP echo (raw socket, needs
 * root or CAP_NET_RAW, throws ProberSetupError otherwise), `tcp` a connect to
 * `port`. Cheap to call again on reload, but close the old ICMP prober first:
 * two ICMP probers of one process share the identifier (the pid) and would
 * take each other's replies (or pass `sessionIdBase` to createIcmpProber).
 */
export function createProber(kind: 'ip' | 'tcp', opts: { readonly logger: Logger; readonly port: number }): Prober {
  return kind === 'ip' ? createIcmpProber({ logger: opts.logger }) : createTcpProber(opts);
}
