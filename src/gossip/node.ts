import './polyfill.js';
import { isIPv4, isIPv6 } from 'node:net';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import type { Logger } from '../log.js';
import { DEFAULT_TOPIC, wrapBatch } from './envelope.js';
import type { Keyring } from './keyring.js';
import { multiKeyPreSharedKey } from './pnet.js';
import type { DropReason, Gossip, Observation, ObservationBatch, ObservationHandler, PeerStatus } from './types.js';
import { emptyDropCounts, ReplayGuard, validateMessage } from './validate.js';

export { DEFAULT_TOPIC };

export interface Libp2pGossipOptions {
  /** Where to listen: `host:port` (`[v6]:port` for IPv6) or a multiaddr. */
  readonly listen: string;
  /** Other agents: `host:port`, or a multiaddr, optionally ending in `/p2p/<id>` to pin the id. */
  readonly peers: readonly string[];
  readonly privateKey: PrivateKey;
  /**
   * Seals payloads and derives the pnet swarm keys (dial with the first, accept any).
   * Undefined (no crypto_key): open network, unsealed payloads.
   */
  readonly keyring: Keyring | undefined;
  readonly isKnownIp: (ip: string) => boolean;
  readonly logger: Logger;
  readonly topic?: string;
  readonly now?: () => number;
  readonly maxSkewMs?: number;
  /** First redial delay after a failure and the health-check period; default 1 s. */
  readonly redialIntervalMs?: number;
  /** Longest redial delay (doubling from redialIntervalMs); default 10 s. */
  readonly maxRedialIntervalMs?: number;
  /** Abort a dial after this long (a wrong pnet key may only fail here); default 5 s. */
  readonly dialTimeoutMs?: number;
  /**
   * How long an accepted message waits before it is relayed to mesh peers
   * that have not said they already have it (IDONTWANT); default 100 ms.
   * Delivery to this agent is immediate. See {@link createLibp2pGossip}.
   */
  readonly relayDelayMs?: number;
}

/** The libp2p gossip, plus what tests and diagnostics need beyond {@link Gossip}. */
export interface Libp2pGossip extends Gossip {
  /** The addresses this node listens on, with its `/p2p/<id>`. */
  multiaddrs(): string[];
}

/** Parsed `host:port` or multiaddr; `peerId` when it ends in `/p2p/<id>`. */
export interface PeerAddress {
  readonly ma: Multiaddr;
  readonly peerId: string | undefined;
}

/**
 * `host:port` → `/ip4/H/tcp/P`, `/ip6/H/tcp/P` or `/dns/H/tcp/P`; a string
 * starting with `/` is taken as a multiaddr. Throws on anything else.
 */
export function parsePeerAddress(addr: string): PeerAddress {
  const text = addr.trim();
  if (text.startsWith('/')) {
    const ma = multiaddr(text);
    const p2p = ma.getComponents().find((c) => c.name === 'p2p');
    return { ma, peerId: p2p?.value };
  }
  const m = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (m === null) throw new Error(`invalid peer address ${JSON.stringify(addr)}: expected host:port, [ipv6]:port or a multiaddr`);
  const host = m[1] as string;
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid port in ${JSON.stringify(addr)}`);
  const proto = isIPv4(host) ? 'ip4' : isIPv6(host) ? 'ip6' : 'dns';
  if (proto === 'dns' && !/^[a-zA-Z0-9.-]+$/.test(host)) throw new Error(`invalid host in ${JSON.stringify(addr)}`);
  return { ma: multiaddr(`/${proto}/${host}/tcp/${port}`), peerId: undefined };
}

/** The part of gossipsub's implementation that its interface type omits. */
interface AsyncValidation {
  reportMessageValidationResult(msgId: string, propagationSource: string, acceptance: TopicValidatorResult): void;
}

/** Gossipsub's verdict per drop reason: reject what no honest agent forwards. */
function acceptance(reason: DropReason): TopicValidatorResult {
  switch (reason) {
    case 'oversized':
    case 'bad-version':
    case 'bad-tag':
    case 'malformed':
    case 'unsigned':
      return TopicValidatorResult.Reject;
    default:
      // Config or clock differences between honest agents: do not forward,
      // do not blame the peer that relayed it.
      return TopicValidatorResult.Ignore;
  }
}

interface PeerEntry {
  readonly addr: string;
  readonly ma: Multiaddr;
  /** From a `/p2p/<id>` in the configured address: never replaced. */
  readonly pinned: boolean;
  id: string | undefined;
  peerId: PeerId | undefined;
  lastHeard: number | undefined;
  delayMs: number;
  timer: NodeJS.Timeout | undefined;
  dialing: boolean;
}

/**
 * Observations over libp2p gossipsub.
 *
 * - Transport: TCP + noise + yamux; with a keyring, a pnet protector that
 *   dials with the first secret's swarm key and accepts any configured
 *   secret's ({@link multiKeyPreSharedKey}), so nodes with none of them
 *   cannot even finish a handshake.
 * - Messages: StrictSign (origin = signed peer id), sealed with the keyring,
 *   checked by {@link validateMessage} inside gossipsub's topic validator,
 *   so a dropped message is neither delivered nor forwarded. Nothing thrown.
 * - Senders: peer ids pinned with `/p2p/` plus ids learned when our dial to
 *   a configured address succeeds. A peer that dialled us first is accepted
 *   once our own dial to its configured address reaches it (at most one
 *   redial period later); until then its messages are `unknown-sender`.
 * - Redial: libp2p does not redial lost peers, so each configured address
 *   is checked every `redialIntervalMs` and redialled while down, doubling
 *   the delay after each failure up to `maxRedialIntervalMs`.
 * - Relay: agents publish straight to every subscribed peer (flood
 *   publish), so in the usual full mesh relaying is pure duplication: with
 *   3 agents it doubled the traffic. Relaying still matters when two agents
 *   cannot reach each other but both reach a third. So messages are
 *   validated asynchronously: delivered at once, relayed `relayDelayMs`
 *   later, by which time peers that already have them have said so with
 *   IDONTWANT and are skipped.
 */
export async function createLibp2pGossip(opts: Libp2pGossipOptions): Promise<Libp2pGossip> {
  const topic = opts.topic ?? DEFAULT_TOPIC;
  const now = opts.now ?? Date.now;
  const log = opts.logger.child({ component: 'gossip' });
  const baseDelay = opts.redialIntervalMs ?? 1000;
  const maxDelay = Math.max(baseDelay, opts.maxRedialIntervalMs ?? 10_000);
  const dialTimeoutMs = opts.dialTimeoutMs ?? 5000;
  const self = peerIdFromPrivateKey(opts.privateKey);
  const selfId = self.toString();

  const listen = parsePeerAddress(opts.listen);
  const entries: PeerEntry[] = opts.peers.map((addr) => {
    const parsed = parsePeerAddress(addr);
    return {
      addr,
      ma: parsed.ma,
      pinned: parsed.peerId !== undefined,
      id: parsed.peerId,
      peerId: parsed.peerId !== undefined ? peerIdFromString(parsed.peerId) : undefined,
      lastHeard: undefined,
      delayMs: baseDelay,
      timer: undefined,
      dialing: false,
    };
  });

  const node = await createLibp2p({
    start: false,
    privateKey: opts.privateKey,
    addresses: { listen: [listen.ma.toString()] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // The monitor's liveness check (a stream negotiation per connection) is
    // what closes connections to a peer that vanished without a FIN; every
    // 10 s (the default) it was ~130 B/s per agent of the 1 KB/s budget.
    connectionMonitor: { pingInterval: 30_000 },
    streamMuxers: [yamux()],
    // Dial with the first secret's swarm key, accept any configured one: no
    // connection gap while crypto_key rotates (see pnet.ts).
    ...(opts.keyring !== undefined ? { connectionProtector: multiKeyPreSharedKey({ psks: opts.keyring.swarmKeys(), logger: log }) } : {}),
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictSign',
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        allowedTopics: [topic],
        // Peers come from configuration only.
        doPX: false,
        // Relay only after reportMessageValidationResult (see relayDelayMs)…
        asyncValidation: true,
        // …and announce IDONTWANT for every message, not only large ones.
        idontwantMinDataSize: 0,
      }),
    },
  });
  const pubsub = node.services.pubsub as GossipSub & Partial<AsyncValidation>;
  if (typeof pubsub.reportMessageValidationResult !== 'function') {
    throw new Error('createLibp2pGossip: this gossipsub lacks reportMessageValidationResult');
  }
  const report = pubsub.reportMessageValidationResult.bind(pubsub);
  const relayDelayMs = opts.relayDelayMs ?? 100;
  const pendingRelays: Array<{ msgId: string; source: string }> = [];
  let relayTimer: NodeJS.Timeout | undefined;

  const flushRelays = (): void => {
    relayTimer = undefined;
    for (const { msgId, source } of pendingRelays.splice(0)) {
      try {
        report(msgId, source, TopicValidatorResult.Accept);
      } catch (err) {
        log.debug({ err }, 'relay failed');
      }
    }
  };

  const handlers: ObservationHandler[] = [];
  const drops = emptyDropCounts();
  const replay = new ReplayGuard();
  const accepted = new WeakMap<Message, ObservationBatch>();
  let seq = Math.floor(now() * 1000);
  let running = false;
  let stopController = new AbortController();

  const isAllowedSender = (id: string): boolean => id !== selfId && entries.some((e) => e.id === id);

  const drop = (reason: DropReason, from: string | undefined, via: string): void => {
    drops[reason]++;
    log.debug({ reason, from, via }, 'gossip message dropped');
  };

  pubsub.topicValidators.set(topic, (propagationSource: PeerId, msg: Message): TopicValidatorResult => {
    const via = propagationSource.toString();
    try {
      if (msg.type !== 'signed') {
        drop('unsigned', undefined, via);
        return TopicValidatorResult.Reject;
      }
      const from = msg.from.toString();
      const res = validateMessage(from, msg.data, now(), {
        keyring: opts.keyring,
        topic,
        isAllowedSender,
        isKnownIp: opts.isKnownIp,
        replay,
        ...(opts.maxSkewMs !== undefined ? { maxSkewMs: opts.maxSkewMs } : {}),
      });
      if (!res.ok) {
        drop(res.reason, from, via);
        return acceptance(res.reason);
      }
      if (res.unknownIps.length > 0) {
        log.debug({ from, unknownIps: res.unknownIps.slice(0, 10), count: res.unknownIps.length }, 'ignored observations of unknown IPs');
      }
      accepted.set(msg, res.batch);
      return TopicValidatorResult.Accept;
    } catch (err) {
      drop('malformed', undefined, via);
      log.debug({ err }, 'gossip validator failed');
      return TopicValidatorResult.Ignore;
    }
  });

  pubsub.addEventListener('gossipsub:message', (evt) => {
    const { msg, msgId, propagationSource } = evt.detail;
    const batch = accepted.get(msg);
    if (batch === undefined || msg.type !== 'signed') return;
    accepted.delete(msg);
    pendingRelays.push({ msgId, source: propagationSource.toString() });
    if (relayTimer === undefined && running) {
      relayTimer = setTimeout(flushRelays, relayDelayMs);
      relayTimer.unref?.();
    }
    const from = msg.from.toString();
    const at = now();
    for (const e of entries) if (e.id === from) e.lastHeard = at;
    for (const h of handlers) {
      try {
        h(from, batch, at);
      } catch (err) {
        log.error({ err, from }, 'observation handler threw');
      }
    }
  });

  const isConnected = (e: PeerEntry): boolean => e.peerId !== undefined && node.getConnections(e.peerId).length > 0;

  function schedule(e: PeerEntry, delay: number): void {
    if (!running) return;
    clearTimeout(e.timer);
    e.timer = setTimeout(() => void tick(e), delay);
    e.timer.unref?.();
  }

  async function tick(e: PeerEntry): Promise<void> {
    e.timer = undefined;
    if (!running || e.dialing) return;
    if (isConnected(e)) {
      e.delayMs = baseDelay;
      schedule(e, baseDelay);
      return;
    }
    e.dialing = true;
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(dialTimeoutMs), stopController.signal]);
      const conn = await node.dial(e.ma, { signal });
      const remote = conn.remotePeer.toString();
      if (remote === selfId) {
        // Our own address in the peer list: harmless, nothing to dial.
        log.warn({ addr: e.addr }, 'configured peer is this agent itself; not dialling it');
        await conn.close().catch(() => undefined);
        e.id = selfId;
        e.dialing = false;
        return;
      }
      if (e.pinned && e.id !== remote) {
        // libp2p verifies /p2p/ ids during the handshake; this is a backstop.
        await conn.close().catch(() => undefined);
        throw new Error(`expected peer ${e.id}, reached ${remote}`);
      }
      if (e.id !== remote) {
        if (e.id !== undefined) log.warn({ addr: e.addr, old: e.id, new: remote }, 'peer at configured address has a new identity');
        e.id = remote;
        e.peerId = conn.remotePeer;
      }
      log.info({ addr: e.addr, peer: remote }, 'connected to peer');
      e.delayMs = baseDelay;
    } catch (err) {
      if (!running) return;
      const message = err instanceof Error ? err.message : String(err);
      if (/dial (?:ourself|self)/i.test(message)) {
        log.warn({ addr: e.addr }, 'configured peer is this agent itself; not dialling it');
        e.id = selfId;
        return;
      }
      log.debug({ addr: e.addr, err: message, retryInMs: e.delayMs }, 'peer dial failed');
      schedule(e, e.delayMs);
      e.delayMs = Math.min(e.delayMs * 2, maxDelay);
      return;
    } finally {
      e.dialing = false;
    }
    schedule(e, baseDelay);
  }

  node.addEventListener('peer:disconnect', (evt) => {
    const id = evt.detail.toString();
    for (const e of entries) {
      if (e.id === id && !e.dialing) {
        log.info({ addr: e.addr, peer: id }, 'peer disconnected');
        e.delayMs = baseDelay;
        schedule(e, 0);
      }
    }
  });

  return {
    selfId,

    async start() {
      if (running) return;
      stopController = new AbortController();
      await node.start();
      running = true;
      pubsub.subscribe(topic);
      log.info({ peerId: selfId, listen: node.getMultiaddrs().map(String), peers: entries.length }, 'gossip started');
      for (const e of entries) if (e.id !== selfId) schedule(e, 0);
    },

    async stop() {
      if (!running) return;
      running = false;
      stopController.abort();
      for (const e of entries) {
        clearTimeout(e.timer);
        e.timer = undefined;
      }
      clearTimeout(relayTimer);
      relayTimer = undefined;
      pendingRelays.length = 0;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'timeout'>((resolve) => {
        timer = setTimeout(() => resolve('timeout'), 3000);
      });
      const result = await Promise.race([Promise.resolve(node.stop()).then(() => 'stopped' as const), timeout]).catch((err: unknown) => {
        log.warn({ err }, 'libp2p stop failed');
        return 'failed' as const;
      });
      clearTimeout(timer);
      if (result === 'timeout') log.warn('libp2p did not stop within 3 s');
      log.info('gossip stopped');
    },

    async publish(observations: readonly Observation[], full: boolean, sentAt = now()): Promise<number> {
      const batch: ObservationBatch = { seq: seq++, sentAt, full, observations };
      const data = wrapBatch(batch, opts.keyring, topic); // throws only on our own invalid input
      if (!running) return 0;
      try {
        const res = await pubsub.publish(topic, data);
        return res.recipients.length;
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err) }, 'gossip publish failed');
        return 0;
      }
    },

    onObservations(handler) {
      handlers.push(handler);
    },

    peers(): PeerStatus[] {
      return entries.map((e) => ({
        id: e.id,
        addr: e.addr,
        connected: e.id !== selfId && running && isConnected(e),
        lastHeard: e.lastHeard,
      }));
    },

    drops() {
      return { ...drops };
    },

    multiaddrs() {
      return node.getMultiaddrs().map(String);
    },
  };
}
