/**
 * Thrown by the libp2p gossip's `start` when its listen address cannot be
 * bound (in use, not on this host, no permission). The message is one line
 * for the operator, e.g. `cannot listen on 127.0.0.1:18501 for gossip:
 * address in use`; libp2p's own multi-line text is kept as `cause`. Lives
 * apart from node.ts so the CLI can recognise it without loading libp2p.
 */
export class GossipListenError extends Error {
  override readonly name = 'GossipListenError';
}
