import { unmappedIp } from '../net/ip.js';

/**
 * Who may connect to this agent's gossip port, and what happens to a peer
 * that sends observations without being configured. The pure core of the
 * libp2p connection gater and the gossipsub app-specific score in node.ts.
 *
 * Why: without it an outsider without the key could hold every pending
 * inbound slot with idle TCP connections (each one waited out libp2p's 10 s
 * upgrade timeout), and a key-holder that is not in `peers` could flood the
 * topic without penalty. Both are decided here from configuration only.
 *
 * Two kinds of knowledge, both from `peers`:
 * - addresses: the IPs of configured peers (hostnames resolved by node.ts).
 *   A connection from any other IP is refused before any upgrade work.
 * - ids: pinned `/p2p/` ids, and ids learned when our own dial to a
 *   configured address reaches it. `complete` when every entry has one;
 *   until then an unknown id may still be a configured `host:port` peer
 *   that we have not reached yet, so it is not refused on sight.
 *
 * | remote                                     | connection   | its own messages (from = via)  |
 * |--------------------------------------------|--------------|--------------------------------|
 * | IP not of any configured peer              | refused      | —                              |
 * | configured id                              | accepted     | validated as usual             |
 * | other id, ids complete                     | refused      | reject, disconnect             |
 * | other id, ids incomplete, ≤ strikeLimit    | accepted     | ignore (maybe a peer not yet   |
 * |                                            |              | reached)                       |
 * | other id, ids incomplete, > strikeLimit    | refused for  | reject, disconnect, score      |
 * |                                            | boxMs        | below gossipsub's graylist     |
 *
 * An honest configured peer whose id we do not know yet sends at most a
 * few batches before our redial loop learns its id, far below strikeLimit;
 * learning the id lifts any box at once (configured wins).
 */
export interface PeerGateOptions {
  /** Messages from an unknown id tolerated while ids are incomplete; default 20. */
  readonly strikeLimit?: number;
  /** How long an unknown id that exceeded strikeLimit is refused; default 10 min. */
  readonly boxMs?: number;
  /** Unknown ids tracked at once (oldest forgotten first); default 1024. */
  readonly maxTracked?: number;
}

/** What the gossip node should do with an unconfigured direct sender's message. */
export interface StrikeVerdict {
  /** Reject (gossipsub penalises the sender) rather than ignore. */
  readonly reject: boolean;
  /** Close this peer's connections now. */
  readonly disconnect: boolean;
}

/** The gossipsub app-specific score of an unconfigured, refused id (× weight 10: far below graylist −80). */
export const REFUSED_PEER_SCORE = -1000;

export class PeerGate {
  readonly #strikeLimit: number;
  readonly #boxMs: number;
  readonly #maxTracked: number;
  #ips: ReadonlySet<string> = new Set();
  #ids: ReadonlySet<string> = new Set();
  #complete = false;
  /** Unknown ids: messages seen, and until when they are refused (0: not boxed). Insertion order = age. */
  readonly #strangers = new Map<string, { strikes: number; boxedUntil: number }>();

  constructor(opts: PeerGateOptions = {}) {
    this.#strikeLimit = opts.strikeLimit ?? 20;
    this.#boxMs = opts.boxMs ?? 10 * 60_000;
    this.#maxTracked = Math.max(1, opts.maxTracked ?? 1024);
  }

  /** Replace what configuration says: peer IPs (any text form), known ids, whether every entry has an id. */
  update(state: { readonly ips: Iterable<string>; readonly ids: Iterable<string>; readonly complete: boolean }): void {
    const ips = new Set<string>();
    for (const ip of state.ips) {
      const g = unmappedIp(ip);
      if (g !== undefined) ips.add(g);
    }
    this.#ips = ips;
    this.#ids = new Set(state.ids);
    this.#complete = state.complete;
    for (const id of this.#ids) this.#strangers.delete(id);
  }

  /** Whether a connection from this remote IP may start its upgrade. */
  allowsAddress(ip: string): boolean {
    const g = unmappedIp(ip);
    return g !== undefined && this.#ips.has(g);
  }

  isConfigured(id: string): boolean {
    return this.#ids.has(id);
  }

  /** Whether a connection whose (authenticated) remote id is `id` may proceed. */
  allowsPeer(id: string, now: number): boolean {
    if (this.#ids.has(id)) return true;
    if (this.#complete) return false;
    return !this.#isBoxed(id, now);
  }

  /** A message whose direct sender `id` is not configured. */
  strike(id: string, now: number): StrikeVerdict {
    if (this.#ids.has(id)) return { reject: false, disconnect: false };
    if (this.#complete) return { reject: true, disconnect: true };
    let s = this.#strangers.get(id);
    if (s === undefined) {
      while (this.#strangers.size >= this.#maxTracked) {
        const oldest = this.#strangers.keys().next().value as string;
        this.#strangers.delete(oldest);
      }
      s = { strikes: 0, boxedUntil: 0 };
      this.#strangers.set(id, s);
    }
    s.strikes++;
    if (s.boxedUntil > now) return { reject: true, disconnect: true };
    if (s.strikes > this.#strikeLimit) {
      s.boxedUntil = now + this.#boxMs;
      return { reject: true, disconnect: true };
    }
    return { reject: false, disconnect: false };
  }

  /** The gossipsub app-specific score: 0, or {@link REFUSED_PEER_SCORE} for an id {@link allowsPeer} refuses. */
  score(id: string, now: number): number {
    return this.allowsPeer(id, now) ? 0 : REFUSED_PEER_SCORE;
  }

  /** Unknown ids currently tracked (bounded by maxTracked). */
  tracked(): number {
    return this.#strangers.size;
  }

  #isBoxed(id: string, now: number): boolean {
    const s = this.#strangers.get(id);
    return s !== undefined && s.boxedUntil > now;
  }
}
