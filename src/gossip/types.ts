import type { DrainEntry } from '../drain/types.js';
import type { Observation } from '../model.js';

export type { Observation } from '../model.js';

/**
 * What an agent publishes: its verdicts (all of them when `full`, only the
 * changed ones otherwise), with a per-sender sequence number and send time
 * for replay protection. The sender is never a payload field: it is the
 * libp2p-signed message origin.
 */
export interface ObservationBatch {
  readonly seq: number;
  /** Sender's wall clock, ms since epoch. */
  readonly sentAt: number;
  readonly full: boolean;
  readonly observations: readonly Observation[];
}

/**
 * A signal: a message that is not a vote. Signals travel on their own
 * topic ({@link DEFAULT_SIGNAL_TOPIC} in envelope.ts), so an agent of a
 * version without them never receives one (gossipsub only delivers topics
 * a node subscribes to) and keeps reading every verdict batch. Each signal
 * carries a kind; a receiver ignores kinds it does not know (counted, not
 * held against the sender), so later kinds (drains) roll out the same way.
 *
 * | kind    | meaning                                                          |
 * |---------|------------------------------------------------------------------|
 * | suspect | the sender's view of these IPs may be turning: recheck them now  |
 * | drain   | drain entries (src/drain/): set now by the sender, or re-announced |
 *
 * A suspect is never a vote: quorum only ever counts verdicts. A drain
 * with `relay` false was just set by the sender: every entry's origin is the
 * signed sender (checked on receipt). With `relay` true (the full-state
 * round) the sender repeats every entry it knows, other agents' included,
 * so a restarted agent learns drains whose origin is gone.
 */
export type Signal =
  { readonly kind: 'suspect'; readonly ips: readonly string[] } | { readonly kind: 'drain'; readonly relay: boolean; readonly entries: readonly DrainEntry[] };
export type SignalKind = Signal['kind'];

export type SignalHandler = (from: string, signal: Signal, receivedAt: number) => void;

/**
 * Why an incoming message was dropped; each reason is counted. Most come
 * from our validator; `duplicate`, `bad-signature` and `graylisted` (per
 * RPC, from a peer scored below gossipsub's graylist) are gossipsub's own
 * drops before it, as are `oversized` frames above gossipsub's limit and
 * `malformed` RPCs it cannot decode.
 */
export type DropReason =
  | 'oversized'
  | 'duplicate'
  | 'bad-signature'
  | 'graylisted'
  | 'bad-version'
  | 'bad-tag'
  | 'malformed'
  | 'replayed'
  | 'too-old'
  | 'too-new'
  | 'unknown-sender'
  | 'unknown-ip'
  | 'unsigned'
  | 'unknown-kind';

export interface PeerStatus {
  /** libp2p peer id, once known. */
  readonly id: string | undefined;
  /** Configured address (host:port or multiaddr). */
  readonly addr: string;
  readonly connected: boolean;
  /** Last time a valid observation arrived from it (ms), if ever. */
  readonly lastHeard: number | undefined;
}

export type ObservationHandler = (from: string, batch: ObservationBatch, receivedAt: number) => void;

/**
 * Why a private-network (pnet) handshake yielded no connection.
 *
 * | reason            | what happened                                                      |
 * |-------------------|--------------------------------------------------------------------|
 * | no-matching-key   | the dialer's first bytes decrypt under none of the swarm keys      |
 * | timeout           | the handshake deadline (1 s) passed before the nonce or header     |
 * | aborted           | libp2p's signal (dial or inbound upgrade timeout) fired first      |
 * | closed            | the remote closed or reset the connection (EOF, reset) before them |
 * | error             | anything else (a cipher allocation failure): a bug or a resource   |
 */
export type PnetRejectReason = 'no-matching-key' | 'timeout' | 'aborted' | 'closed' | 'error';
export const PNET_REJECT_REASONS: readonly PnetRejectReason[] = ['no-matching-key', 'timeout', 'aborted', 'closed', 'error'];

/**
 * The pnet protector's handshake counts, for /metrics: during a `crypto_key`
 * rotation, inbound connections under key 1 show who has not moved yet, and
 * `no-matching-key` rejects show a peer with none of the keys.
 */
export interface PnetCounts {
  /** Connections we dialled that completed the handshake (always under key 0). */
  readonly outbound: number;
  /** Accepted connections per key index (0 = first key). */
  readonly inbound: readonly number[];
  /** Handshakes that yielded no connection, by reason (both directions). */
  readonly rejects: Readonly<Record<PnetRejectReason, number>>;
}

/**
 * The gossip seam the agent uses. Implemented by the libp2p node and by an
 * in-memory network for tests. Nothing a peer sends may make it throw: bad
 * messages are dropped and counted.
 */
export interface Gossip {
  readonly selfId: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Seal and publish; assigns seq, and sentAt (now, unless given). Returns
   * recipients (0 before the mesh forms). A caller that has already stamped
   * its own vote with a time passes that time, so peers order the vote by
   * exactly the instant the sender does (writer election compares them).
   */
  publish(observations: readonly Observation[], full: boolean, sentAt?: number): Promise<number>;
  onObservations(handler: ObservationHandler): void;
  /**
   * Seal and publish a signal on the signal topic (seq and sentAt assigned
   * as for observations). Absent on a transport without signals: the agent
   * then only votes.
   */
  publishSignal?(signal: Signal): Promise<number>;
  onSignals?(handler: SignalHandler): void;
  peers(): PeerStatus[];
  drops(): Readonly<Record<DropReason, number>>;
  /** The pnet protector's counts; absent, or undefined, without one (no crypto_key, the in-memory network). */
  pnet?(): PnetCounts | undefined;
}
