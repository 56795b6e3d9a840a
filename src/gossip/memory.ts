import { DEFAULT_SIGNAL_TOPIC, DEFAULT_TOPIC, wrapBatch } from './envelope.js';
import type { Keyring } from './keyring.js';
import { validateSignal, wrapSignal } from './signals.js';
import type { DropReason, Gossip, Observation, ObservationHandler, PeerStatus, Signal, SignalHandler } from './types.js';
import { emptyDropCounts, validateMessage, validationContext } from './validate.js';

export { DEFAULT_TOPIC };

export interface MemoryNetworkOptions {
  /** Topic used as associated data of the envelopes; default {@link DEFAULT_TOPIC}. */
  readonly topic?: string;
  /** Default clock of members that do not bring their own. */
  readonly now?: () => number;
}

export interface MemoryJoinOptions {
  /** Undefined: unsealed payloads, as an agent without crypto_key. */
  readonly keyring?: Keyring | undefined;
  readonly isKnownIp: (ip: string) => boolean;
  readonly now?: () => number;
  /**
   * Peer ids this member accepts observations from, and reports in
   * `peers()`. Default: every other member of the network, as they join.
   */
  readonly allowedPeers?: readonly string[];
  readonly maxSkewMs?: number;
  /**
   * Whether this member speaks signals (default true). False plays an agent
   * of the version before them: it never subscribes to the signal topic, so
   * it never receives one, and its Gossip has no publishSignal/onSignals.
   */
  readonly signals?: boolean;
}

/**
 * An in-process network of {@link Gossip} members for multi-agent tests
 * without sockets (the role of memberlist's MockTransport).
 *
 * Messages go through the same encode → seal → validate path as the libp2p
 * node, so keys, replay, clock skew and unknown IPs are dropped with the
 * same reasons. Delivery is asynchronous (`setImmediate`), like a network:
 * a test awaits it instead of relying on a synchronous call order. A
 * partition drops messages in both directions; messages already in flight
 * when it is created are dropped too, as a cut cable would.
 */
export interface MemoryNetwork {
  join(id: string, opts: MemoryJoinOptions): Gossip;
  /** Cut the link between two members (both directions). */
  partition(a: string, b: string): void;
  heal(a: string, b: string): void;
  /**
   * Deliver raw bytes to `to` as if the signed origin `from` had published
   * them: the way to test hostile or corrupted input.
   */
  inject(from: string, to: string, data: Uint8Array): void;
}

interface Member {
  readonly id: string;
  readonly opts: MemoryJoinOptions;
  started: boolean;
  receive(from: string, data: Uint8Array): void;
  receiveSignal(from: string, data: Uint8Array): void;
}

export function createMemoryNetwork(netOpts: MemoryNetworkOptions = {}): MemoryNetwork {
  const topic = netOpts.topic ?? DEFAULT_TOPIC;
  const members = new Map<string, Member>();
  const cuts = new Set<string>();
  const linkKey = (a: string, b: string): string => (a < b ? `${a}\u0000${b}` : `${b}\u0000${a}`);
  const linked = (a: string, b: string): boolean => !cuts.has(linkKey(a, b));

  function deliver(from: string, to: Member, data: Uint8Array, signal = false): void {
    const copy = data.slice(); // receivers never share the sender's buffer
    setImmediate(() => {
      if (!linked(from, to.id)) return;
      if (signal) to.receiveSignal(from, copy);
      else to.receive(from, copy);
    });
  }

  function join(id: string, opts: MemoryJoinOptions): Gossip {
    // A stopped member may join again under its id: an agent restarted.
    if (members.get(id)?.started) throw new Error(`memory network: ${id} already joined`);
    const now = opts.now ?? netOpts.now ?? Date.now;
    const handlers: ObservationHandler[] = [];
    const drops = emptyDropCounts();
    const lastHeard = new Map<string, number>();
    const allowed = opts.allowedPeers === undefined ? undefined : new Set(opts.allowedPeers);
    const isAllowedSender = (peer: string): boolean => peer !== id && (allowed !== undefined ? allowed.has(peer) : members.has(peer));
    const validation = validationContext(opts, topic, isAllowedSender);
    const signalValidation = validationContext(opts, DEFAULT_SIGNAL_TOPIC, isAllowedSender);
    const speaksSignals = opts.signals ?? true;
    const signalHandlers: SignalHandler[] = [];
    let seq = Math.floor(now() * 1000);

    const member: Member = {
      id,
      opts,
      started: false,
      receiveSignal(from, data) {
        if (!member.started || !speaksSignals) return;
        const at = now();
        const res = validateSignal(from, data, at, signalValidation);
        if (!res.ok) {
          drops[res.reason]++;
          return;
        }
        lastHeard.set(from, at);
        for (const h of signalHandlers) {
          try {
            h(from, res.signal, at);
          } catch {
            // as for observations
          }
        }
      },
      receive(from, data) {
        if (!member.started) return;
        const at = now();
        const res = validateMessage(from, data, at, validation);
        if (!res.ok) {
          drops[res.reason]++;
          return;
        }
        lastHeard.set(from, at);
        for (const h of handlers) {
          try {
            h(from, res.batch, at);
          } catch {
            // a handler's bug must not stop delivery to the others
          }
        }
      },
    };
    members.set(id, member);

    const peerIds = (): string[] => (allowed !== undefined ? [...allowed] : [...members.keys()].filter((m) => m !== id));

    const signalMethods = speaksSignals
      ? {
          async publishSignal(signal: Signal): Promise<number> {
            const data = wrapSignal(seq++, now(), signal, opts.keyring, DEFAULT_SIGNAL_TOPIC);
            if (!member.started) return 0;
            let recipients = 0;
            for (const other of members.values()) {
              if (other.id === id || !other.started || !linked(id, other.id) || other.opts.signals === false) continue;
              deliver(id, other, data, true);
              recipients++;
            }
            return recipients;
          },
          onSignals(handler: SignalHandler): void {
            signalHandlers.push(handler);
          },
        }
      : {};

    return {
      ...signalMethods,
      selfId: id,
      async start() {
        member.started = true;
      },
      async stop() {
        member.started = false;
      },
      async publish(observations: readonly Observation[], full: boolean, sentAt = now()): Promise<number> {
        const batch = { seq: seq++, sentAt, full, observations };
        const data = wrapBatch(batch, opts.keyring, topic);
        if (!member.started) return 0;
        let recipients = 0;
        for (const other of members.values()) {
          if (other.id === id || !other.started || !linked(id, other.id)) continue;
          deliver(id, other, data);
          recipients++;
        }
        return recipients;
      },
      onObservations(handler) {
        handlers.push(handler);
      },
      peers(): PeerStatus[] {
        return peerIds().map((p) => {
          const other = members.get(p);
          return {
            id: p,
            addr: p,
            connected: member.started && other !== undefined && other.started && linked(id, p),
            lastHeard: lastHeard.get(p),
          };
        });
      },
      drops(): Readonly<Record<DropReason, number>> {
        return { ...drops };
      },
    };
  }

  return {
    join,
    partition(a, b) {
      cuts.add(linkKey(a, b));
    },
    heal(a, b) {
      cuts.delete(linkKey(a, b));
    },
    inject(from, to, data) {
      const target = members.get(to);
      if (target === undefined) throw new Error(`memory network: no member ${to}`);
      deliver(from, target, data);
    },
  };
}
