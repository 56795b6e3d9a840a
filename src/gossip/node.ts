import './polyfill.js';
import { lookup } from 'node:dns/promises';
import { noise } from '@chainsafe/libp2p-noise';
import { yamux } from '@chainsafe/libp2p-yamux';
import { gossipsub, TopicValidatorResult, type GossipSub, type Message } from '@libp2p/gossipsub';
import { identify } from '@libp2p/identify';
import type { MetricsRegister } from '@libp2p/gossipsub/metrics';
import type { MultiaddrConnection, PeerId, PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey, peerIdFromString } from '@libp2p/peer-id';
import { tcp } from '@libp2p/tcp';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { createLibp2p } from 'libp2p';
import { hostKind, isMultiaddrText, splitHostPort } from '../net/hostport.js';
import type { Logger } from '../log.js';
import { DEFAULT_SIGNAL_TOPIC, DEFAULT_TOPIC, wrapBatch } from './envelope.js';
import { validateSignal, wrapSignal } from './signals.js';
import { GossipListenError } from './errors.js';
import { PeerGate } from './gate.js';
import type { Keyring } from './keyring.js';
import { MultiKeyPnet } from './pnet.js';
import type { DropReason, Gossip, Observation, ObservationBatch, ObservationHandler, PeerStatus, PnetCounts, Signal, SignalHandler } from './types.js';
import { emptyDropCounts, validateMessage, validationContext } from './validate.js';

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
  /** The signal topic (default {@link DEFAULT_SIGNAL_TOPIC}). */
  readonly signalTopic?: string;
  /**
   * Whether this node speaks signals (default true). False plays the
   * version before them (tests of a rolling upgrade): only the observation
   * topic is allowed and subscribed, as that version did.
   */
  readonly signals?: boolean;
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
  /** Deadline for the pnet nonce exchange; default 1 s (see pnet.ts). */
  readonly handshakeTimeoutMs?: number;
  /** Resolves a configured peer's hostname to its IPs (the gater's allow list); default node:dns lookup. */
  readonly resolve?: (host: string) => Promise<string[]>;
}

/** `EADDRINUSE` and friends in libp2p's multi-line listen error → a few words. */
function listenFailure(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  if (/EADDRINUSE/.test(text)) return 'address in use';
  if (/EADDRNOTAVAIL/.test(text)) return 'address not available on this host';
  if (/EACCES/.test(text)) return 'permission denied';
  // libp2p: a summary line, a blank line, then "  <addr>: Error: <cause>" and a stack.
  const cause = /^\s*\/\S+: (?:Error: )?(.+)$/m.exec(text)?.[1];
  return cause ?? text.split('\n')[0] ?? 'unknown error';
}

/** libp2p's default of 10 is what 10 idle outsiders filled; refused outsiders leave theirs within a tick. */
const MAX_PENDING_INBOUND = 64;
/** New inbound connections per second per remote IP (libp2p's rate limiter; its default, kept explicit). */
const INBOUND_PER_IP_PER_SECOND = 5;
/** Whole inbound upgrade (pnet, noise, yamux); libp2p's default is 10 s. */
const INBOUND_UPGRADE_TIMEOUT_MS = 3000;

/** The libp2p gossip, plus what tests and diagnostics need beyond {@link Gossip}. */
export interface Libp2pGossip extends Gossip {
  /** The pnet protector's counts; undefined without a keyring (open network). */
  pnet(): PnetCounts | undefined;
  /** The addresses this node listens on, with its `/p2p/<id>`. */
  multiaddrs(): string[];
  /** Peer ids with an open connection to this node, configured or not (diagnostics, tests). */
  connectedPeerIds(): string[];
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
  if (isMultiaddrText(text)) {
    const ma = multiaddr(text);
    const p2p = ma.getComponents().find((c) => c.name === 'p2p');
    return { ma, peerId: p2p?.value };
  }
  // Port 0 is allowed: a listen address may ask for any free port.
  const hp = splitHostPort(text, { allowPortZero: true });
  if (typeof hp === 'string') throw new Error(`invalid peer address ${JSON.stringify(addr)}: ${hp}`);
  return { ma: multiaddr(`/${hostKind(hp.host)}/${hp.host}/tcp/${hp.port}`), peerId: undefined };
}

/** The part of gossipsub's implementation that its interface type omits. */
interface AsyncValidation {
  reportMessageValidationResult(msgId: string, propagationSource: string, acceptance: TopicValidatorResult): void;
}

/** Gossipsub's read-error hook (private in its types; kept "for testing purposes to spy on the error handling"). */
interface ReadErrorHook {
  handlePeerReadStreamError(err: unknown, peerId: PeerId): void;
}

/** The IP of an `/ip4/…` or `/ip6/…` multiaddr; undefined for `/dns…` and others. */
function literalIp(ma: Multiaddr): string | undefined {
  const c = ma.getComponents()[0];
  return c !== undefined && (c.name === 'ip4' || c.name === 'ip6') ? c.value : undefined;
}

/** The hostname of a `/dns/…`, `/dns4/…` or `/dns6/…` multiaddr. */
function dnsHost(ma: Multiaddr): string | undefined {
  const c = ma.getComponents()[0];
  return c !== undefined && (c.name === 'dns' || c.name === 'dns4' || c.name === 'dns6') ? c.value : undefined;
}

async function defaultResolve(host: string): Promise<string[]> {
  return (await lookup(host, { all: true })).map((a) => a.address);
}

/**
 * Gossipsub's drops before our validator, from its own metrics hooks
 * (`metricsRegister`): every metric is a no-op except these.
 *
 * | gossipsub metric                          | drop reason   | counted per |
 * |-------------------------------------------|---------------|-------------|
 * | gossipsub_pre_validation_duplicate_total  | duplicate     | message     |
 * | gossipsub_msg_received_invalid_total      | bad-signature | message     |
 * |   (error = a ValidateError, not reject/ignore/blacklisted, which our validator already counted) |
 * | gossipsub_rpc_rcv_not_accepted_total      | graylisted    | RPC         |
 * | gossipsub_rpc_data_err_count_total        | malformed     | RPC         |
 *
 * Frames above gossipsub's `maxInboundDataLength` end the peer's stream
 * instead; {@link createLibp2pGossip} counts those as `oversized`.
 */
function dropMetricsRegister(count: (reason: DropReason, n: number) => void): MetricsRegister {
  const valueOf = (a: unknown, b: unknown): number => (typeof a === 'number' ? a : typeof b === 'number' ? b : 1);
  const watched: Record<string, (labels: Record<string, unknown>, n: number) => void> = {
    gossipsub_pre_validation_duplicate_total: (_l, n) => count('duplicate', n),
    gossipsub_msg_received_invalid_total: (l, n) => {
      if (l.error !== 'reject' && l.error !== 'ignore' && l.error !== 'blacklisted') count('bad-signature', n);
    },
    gossipsub_rpc_rcv_not_accepted_total: (_l, n) => count('graylisted', n),
    gossipsub_rpc_data_err_count_total: (_l, n) => count('malformed', n),
  };
  const gauge = (name: string) => {
    const hit = watched[name];
    return {
      inc(a?: unknown, b?: unknown): void {
        if (hit === undefined) return;
        const labels = typeof a === 'object' && a !== null ? (a as Record<string, unknown>) : {};
        hit(labels, valueOf(a, b));
      },
      set(): void {},
      addCollect(): void {},
    };
  };
  const histogram = { startTimer: () => () => undefined, observe(): void {}, reset(): void {} };
  // The generic signatures of MetricsRegister cannot be met by one untyped object.
  return {
    gauge: (config: { name: string }) => gauge(config.name),
    histogram: () => histogram,
    avgMinMax: () => ({ set(): void {} }),
  } as unknown as MetricsRegister;
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
      // do not blame the peer that relayed it. (An unknown sender that is
      // its own propagation source is judged by the PeerGate instead.)
      return TopicValidatorResult.Ignore;
  }
}

interface PeerEntry {
  readonly addr: string;
  readonly ma: Multiaddr;
  /** IPs this entry may connect from: literal, or resolved from its hostname (see refreshIps). */
  ips: readonly string[];
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
 *   secret's ({@link MultiKeyPnet}), so nodes with none of them
 *   cannot even finish a handshake.
 * - Messages: StrictSign (origin = signed peer id), sealed with the keyring,
 *   checked by {@link validateMessage} inside gossipsub's topic validator,
 *   so a dropped message is neither delivered nor forwarded. Nothing thrown.
 * - Senders: peer ids pinned with `/p2p/` plus ids learned when our dial to
 *   a configured address succeeds. A peer that dialled us first is accepted
 *   once our own dial to its configured address reaches it (at most one
 *   redial period later); until then its messages are `unknown-sender`.
 *   A peer is never made known because it connected to us: with
 *   `host:port` peers that would admit any key-holder.
 * - Admission ({@link PeerGate}): inbound connections from IPs that are
 *   not configured peers (hostnames resolved at start and before each
 *   dial) are refused before the protector reads a byte; ids that are not
 *   configured are refused after noise once every entry's id is known, and
 *   graylisted (app-specific score) and disconnected when they send.
 *   The pnet handshake has a 1 s deadline, pending inbound upgrades are
 *   capped at {@link MAX_PENDING_INBOUND}, new connections per remote IP at
 *   {@link INBOUND_PER_IP_PER_SECOND}/s, the whole inbound upgrade at
 *   {@link INBOUND_UPGRADE_TIMEOUT_MS}.
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
  const signalTopic = opts.signalTopic ?? DEFAULT_SIGNAL_TOPIC;
  const speaksSignals = opts.signals ?? true;
  const now = opts.now ?? Date.now;
  const log = opts.logger.child({ component: 'gossip' });
  const baseDelay = opts.redialIntervalMs ?? 1000;
  const maxDelay = Math.max(baseDelay, opts.maxRedialIntervalMs ?? 10_000);
  const dialTimeoutMs = opts.dialTimeoutMs ?? 5000;
  const self = peerIdFromPrivateKey(opts.privateKey);
  const selfId = self.toString();

  const listen = parsePeerAddress(opts.listen);
  const resolve = opts.resolve ?? defaultResolve;
  const gate = new PeerGate();
  const entries: PeerEntry[] = opts.peers.map((addr) => {
    const parsed = parsePeerAddress(addr);
    return {
      addr,
      ma: parsed.ma,
      pinned: parsed.peerId !== undefined,
      id: parsed.peerId,
      peerId: parsed.peerId !== undefined ? peerIdFromString(parsed.peerId) : undefined,
      ips: literalIp(parsed.ma) !== undefined ? [literalIp(parsed.ma) as string] : [],
      lastHeard: undefined,
      delayMs: baseDelay,
      timer: undefined,
      dialing: false,
    };
  });

  const drops = emptyDropCounts();
  const refreshGate = (): void => {
    gate.update({
      ips: entries.flatMap((e) => e.ips),
      ids: entries.flatMap((e) => (e.id !== undefined && e.id !== selfId ? [e.id] : [])),
      complete: entries.every((e) => e.id !== undefined),
    });
  };
  refreshGate();

  /** Resolve a hostname entry's IPs for the gater; keeps the last answer when resolution fails. */
  async function refreshIps(e: PeerEntry): Promise<void> {
    const host = dnsHost(e.ma);
    if (host === undefined) return;
    try {
      const ips = await resolve(host);
      if (ips.join() !== e.ips.join()) {
        e.ips = ips;
        refreshGate();
        log.debug({ addr: e.addr, ips }, 'peer hostname resolved');
      }
    } catch (err) {
      log.debug(
        { addr: e.addr, err: err instanceof Error ? err.message : String(err) },
        'peer hostname did not resolve; its inbound connections are refused until it does',
      );
    }
  }

  const remoteIp = (maConn: MultiaddrConnection): string | undefined => literalIp(maConn.remoteAddr);
  let refusedAddresses = 0;
  let refusedPeers = 0;

  // Dial with the first secret's swarm key, accept any configured one: no
  // connection gap while crypto_key rotates (see pnet.ts). Kept for pnet().
  const protector =
    opts.keyring !== undefined
      ? new MultiKeyPnet({
          psks: opts.keyring.swarmKeys(),
          logger: log,
          ...(opts.handshakeTimeoutMs !== undefined ? { timeoutMs: opts.handshakeTimeoutMs } : {}),
        })
      : undefined;

  const node = await createLibp2p({
    start: false,
    privateKey: opts.privateKey,
    addresses: { listen: [listen.ma.toString()] },
    connectionManager: {
      maxIncomingPendingConnections: MAX_PENDING_INBOUND,
      inboundConnectionThreshold: INBOUND_PER_IP_PER_SECOND,
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS,
    },
    connectionGater: {
      // Before the protector: costs the outsider its TCP handshake only.
      denyInboundConnection: (maConn: MultiaddrConnection): boolean => {
        const ip = remoteIp(maConn);
        if (ip !== undefined && gate.allowsAddress(ip)) return false;
        refusedAddresses++;
        log.debug(
          { remote: maConn.remoteAddr.toString(), refused: refusedAddresses },
          'inbound connection from an address that is not a configured peer; refused',
        );
        return true;
      },
      // After noise, before the muxer: the remote id is authenticated here.
      denyInboundEncryptedConnection: (peerId: PeerId): boolean => {
        if (gate.allowsPeer(peerId.toString(), now())) return false;
        refusedPeers++;
        log.debug({ peer: peerId.toString(), refused: refusedPeers }, 'inbound connection from a peer id that is not configured; refused');
        return true;
      },
    },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    // The monitor's liveness check (a stream negotiation per connection) is
    // what closes connections to a peer that vanished without a FIN; every
    // 10 s (the default) it was ~130 B/s per agent of the 1 KB/s budget.
    connectionMonitor: { pingInterval: 30_000 },
    streamMuxers: [yamux()],
    ...(protector !== undefined ? { connectionProtector: () => protector } : {}),
    services: {
      identify: identify(),
      pubsub: gossipsub({
        globalSignaturePolicy: 'StrictSign',
        emitSelf: false,
        allowPublishToZeroTopicPeers: true,
        // A node of the version before signals allowed only `topic`: a
        // subscription to the signal topic is ignored there, so nothing is
        // ever published to it and its verdict batches flow unchanged.
        allowedTopics: speaksSignals ? [topic, signalTopic] : [topic],
        // Peers come from configuration only.
        doPX: false,
        // Relay only after reportMessageValidationResult (see relayDelayMs)…
        asyncValidation: true,
        // …and announce IDONTWANT for every message, not only large ones.
        idontwantMinDataSize: 0,
        // Unconfigured senders fall below the graylist threshold: gossipsub
        // then drops their RPCs before decoding messages (PeerGate.score).
        scoreParams: { appSpecificScore: (id: string) => gate.score(id, now()) },
        // Only to count what gossipsub drops before our validator.
        metricsRegister: dropMetricsRegister((reason, n) => {
          drops[reason] += n;
        }),
        metricsTopicStrToLabel: new Map([
          [topic, topic],
          [signalTopic, signalTopic],
        ]),
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

  const readHook = pubsub as unknown as Partial<ReadErrorHook>;
  if (typeof readHook.handlePeerReadStreamError === 'function') {
    const original = readHook.handlePeerReadStreamError.bind(pubsub);
    readHook.handlePeerReadStreamError = (err: unknown, peerId: PeerId): void => {
      const name = err instanceof Error ? err.name : '';
      if (name === 'InvalidDataLengthError' || name === 'InvalidDataLengthLengthError') drop('oversized', undefined, peerId.toString());
      original(err, peerId);
    };
  }

  const handlers: ObservationHandler[] = [];
  const signalHandlers: SignalHandler[] = [];
  const acceptedSignals = new WeakMap<Message, Signal>();
  const accepted = new WeakMap<Message, ObservationBatch>();
  let seq = Math.floor(now() * 1000);
  let running = false;
  let stopController = new AbortController();

  const isAllowedSender = (id: string): boolean => id !== selfId && entries.some((e) => e.id === id);
  const validation = validationContext(opts, topic, isAllowedSender);
  const signalValidation = validationContext(opts, signalTopic, isAllowedSender);

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
      const res = validateMessage(from, msg.data, now(), validation);
      if (!res.ok) {
        drop(res.reason, from, via);
        if (res.reason === 'unknown-sender' && !gate.isConfigured(via)) return judgeStranger(propagationSource);
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

  if (speaksSignals) {
    pubsub.topicValidators.set(signalTopic, (propagationSource: PeerId, msg: Message): TopicValidatorResult => {
      const via = propagationSource.toString();
      try {
        if (msg.type !== 'signed') {
          drop('unsigned', undefined, via);
          return TopicValidatorResult.Reject;
        }
        const from = msg.from.toString();
        const res = validateSignal(from, msg.data, now(), signalValidation);
        if (!res.ok) {
          drop(res.reason, from, via);
          if (res.reason === 'unknown-sender' && !gate.isConfigured(via)) return judgeStranger(propagationSource);
          return acceptance(res.reason);
        }
        acceptedSignals.set(msg, res.signal);
        return TopicValidatorResult.Accept;
      } catch (err) {
        drop('malformed', undefined, via);
        log.debug({ err }, 'gossip signal validator failed');
        return TopicValidatorResult.Ignore;
      }
    });
  }

  /** An accepted message: queue its relay, note who was heard; returns the sender and when. */
  function admit(msgId: string, source: string, sender: string): { from: string; at: number } {
    pendingRelays.push({ msgId, source });
    if (relayTimer === undefined && running) {
      relayTimer = setTimeout(flushRelays, relayDelayMs);
      relayTimer.unref?.();
    }
    const at = now();
    for (const e of entries) if (e.id === sender) e.lastHeard = at;
    return { from: sender, at };
  }

  pubsub.addEventListener('gossipsub:message', (evt) => {
    const { msg, msgId, propagationSource } = evt.detail;
    if (msg.type !== 'signed') return;
    const signal = acceptedSignals.get(msg);
    if (signal !== undefined) {
      acceptedSignals.delete(msg);
      const { from, at } = admit(msgId, propagationSource.toString(), msg.from.toString());
      for (const h of signalHandlers) {
        try {
          h(from, signal, at);
        } catch (err) {
          log.error({ err, from }, 'signal handler threw');
        }
      }
      return;
    }
    const batch = accepted.get(msg);
    if (batch === undefined) return;
    accepted.delete(msg);
    const { from, at } = admit(msgId, propagationSource.toString(), msg.from.toString());
    for (const h of handlers) {
      try {
        h(from, batch, at);
      } catch (err) {
        log.error({ err, from }, 'observation handler threw');
      }
    }
  });

  /** A message whose direct sender is not configured: ignore, or reject and hang up (see PeerGate). */
  function judgeStranger(peer: PeerId): TopicValidatorResult {
    const verdict = gate.strike(peer.toString(), now());
    if (verdict.disconnect) hangUp(peer, 'peer id is not configured; disconnected');
    return verdict.reject ? TopicValidatorResult.Reject : TopicValidatorResult.Ignore;
  }

  function hangUp(peer: PeerId, why: string): void {
    if (!running || node.getConnections(peer).length === 0) return;
    log.info({ peer: peer.toString() }, why);
    node.hangUp(peer).catch((err: unknown) => log.debug({ err, peer: peer.toString() }, 'hang-up failed'));
  }

  /** After the set of known ids grows: close connections the gate now refuses. */
  function sweep(): void {
    for (const conn of node.getConnections()) {
      if (!gate.allowsPeer(conn.remotePeer.toString(), now())) hangUp(conn.remotePeer, 'peer id is not configured; disconnected');
    }
  }

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
      await refreshIps(e);
      const signal = AbortSignal.any([AbortSignal.timeout(dialTimeoutMs), stopController.signal]);
      const conn = await node.dial(e.ma, { signal });
      const remote = conn.remotePeer.toString();
      if (remote === selfId) {
        // Our own address in the peer list: harmless, nothing to dial.
        log.warn({ addr: e.addr }, 'configured peer is this agent itself; not dialling it');
        await conn.close().catch(() => undefined);
        e.id = selfId;
        e.dialing = false;
        refreshGate();
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
        refreshGate();
        sweep();
      }
      log.info({ addr: e.addr, peer: remote }, 'connected to peer');
      e.delayMs = baseDelay;
    } catch (err) {
      if (!running) return;
      const message = err instanceof Error ? err.message : String(err);
      if (/dial (?:ourself|self)/i.test(message)) {
        log.warn({ addr: e.addr }, 'configured peer is this agent itself; not dialling it');
        e.id = selfId;
        refreshGate();
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

  // Outbound connections and ones accepted while ids were incomplete.
  node.addEventListener('peer:connect', (evt) => {
    if (!gate.allowsPeer(evt.detail.toString(), now())) hangUp(evt.detail, 'peer id is not configured; disconnected');
  });

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
      await Promise.all(entries.map(refreshIps));
      try {
        await node.start();
      } catch (err) {
        await Promise.resolve(node.stop()).catch(() => undefined);
        const text = err instanceof Error ? `${err.name} ${err.message}` : String(err);
        if (!/listen/i.test(text)) throw err;
        throw new GossipListenError(`cannot listen on ${opts.listen} for gossip: ${listenFailure(err)}`, { cause: err });
      }
      running = true;
      pubsub.subscribe(topic);
      if (speaksSignals) pubsub.subscribe(signalTopic);
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

    ...(speaksSignals
      ? {
          async publishSignal(signal: Signal): Promise<number> {
            const data = wrapSignal(seq++, now(), signal, opts.keyring, signalTopic);
            if (!running) return 0;
            try {
              const res = await pubsub.publish(signalTopic, data);
              return res.recipients.length;
            } catch (err) {
              log.debug({ err: err instanceof Error ? err.message : String(err) }, 'gossip signal publish failed');
              return 0;
            }
          },
          onSignals(handler: SignalHandler): void {
            signalHandlers.push(handler);
          },
        }
      : {}),

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

    pnet() {
      return protector?.counts();
    },

    multiaddrs() {
      return node.getMultiaddrs().map(String);
    },

    connectedPeerIds() {
      return [
        ...new Set(
          node
            .getConnections()
            .filter((c) => c.status === 'open')
            .map((c) => c.remotePeer.toString()),
        ),
      ];
    },
  };
}
