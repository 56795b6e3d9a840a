import './polyfill.js';
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import type { AbortOptions, ConnectionProtector, MessageStream, MultiaddrConnection } from '@libp2p/interface';
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils';
import type { Logger } from '../log.js';
import { PNET_REJECT_REASONS, type PnetCounts, type PnetRejectReason } from './types.js';

/**
 * A libp2p private-network connection protector that accepts every
 * configured swarm key, so `crypto_key` rotation has no connection gap.
 *
 * Why: `@libp2p/pnet` takes one pre-shared key. During a rotation
 * `[old]` → `[old, new]` → `[new, old]` → `[new]`, an agent that has moved to
 * `[new, old]` could not open connections with one still on `[old, new]`.
 *
 * The wire format is pnet's, byte for byte (so a stock `@libp2p/pnet` peer
 * holding one of our keys interoperates): each side sends a random 24-byte
 * nonce, then everything is XSalsa20(key, own nonce) in each direction.
 *
 * | role (multistream-select) | key                                             |
 * |---------------------------|-------------------------------------------------|
 * | dialer (writes first)     | the first key, exactly as pnet                  |
 * | listener (reads first)    | the key under which the dialer's first 20 bytes |
 * |                           | decrypt to `\x13/multistream/1.0.0\n`           |
 * | listener, no key matches  | connection aborted (an outsider or garbage)     |
 *
 * The listener can wait for those 20 bytes because it has nothing to say
 * first: after pnet, libp2p's upgrader runs multistream-select, whose
 * listener (`handle`) reads the dialer's header before writing anything,
 * and whose dialer (`select`) writes the header (a varint length 0x13, then
 * `/multistream/1.0.0\n`) as its first bytes. Both key streams of the
 * connection then use the matched key, so the reply reaches a dialer that
 * only knows that key. A wrong key yields those 20 bytes only by chance
 * (2^-160).
 *
 * Every read is bounded by `timeoutMs` (1 s by default, as pnet's own
 * deadline) and by the signal libp2p passes (the dial signal; the inbound
 * upgrade timeout), whichever fires first. libp2p's inbound upgrade timeout
 * is 10 s by default: waiting that long for the nonce let a silent outsider
 * hold a pending inbound slot for 10 s with one idle TCP connection.
 *
 * Limits: the listener side relies on the dialer's first plaintext being
 * multistream-select, which holds for every transport that negotiates its
 * encrypter (TCP here). Transports with native encryption and no
 * negotiation (WebRTC, WebTransport) do not combine with pnet anyway.
 */
export interface MultiKeyPnetInit {
  /**
   * pnet v1 swarm keys (95 bytes: `/key/swarm/psk/1.0.0/\n/base16/\n<64 hex>`),
   * first one first: the first protects connections this node dials, every
   * one is accepted from a dialer. At least one.
   */
  readonly psks: readonly Uint8Array[];
  /** Deadline for the nonce exchange (and the listener's header read), on top of libp2p's signal; default 1000 ms, as pnet. */
  readonly timeoutMs?: number;
  /** Rejected and failed handshakes are logged at debug. */
  readonly logger?: Logger;
}

/** What the protector has seen, for diagnostics and tests. */
export interface MultiKeyPnetStats {
  /** Connections we dialled that completed the nonce exchange (always under the first key). */
  readonly outbound: number;
  /** Accepted connections per key index (0 = first key): non-zero beyond 0 means a rotation is under way. */
  readonly inbound: readonly number[];
  /** Accepted connections whose first bytes matched no key: outsiders or garbage. Aborted. */
  readonly rejected: number;
  /** Handshakes that failed otherwise: timeout, reset, EOF before the nonce or header. Aborted. */
  readonly failed: number;
}

/** Thrown from `protect` when an inbound connection matches no configured key. */
export class PnetKeyMismatchError extends Error {
  override readonly name = 'PnetKeyMismatchError';
}

/** XSalsa20 nonce length, as pnet's NONCE_LENGTH. */
export const PNET_NONCE_BYTES = 24;
/** The first 20 plaintext bytes every multistream-select dialer sends: varint 19, `/multistream/1.0.0\n`. */
export const MSS_HEADER: Uint8Array = Uint8Array.from(Buffer.from('\x13/multistream/1.0.0\n', 'latin1'));

const DEFAULT_TIMEOUT_MS = 1000;

/** The part of the `xsalsa20` package (pnet's own cipher dependency) used here. */
interface XSalsa20 {
  update(input: Uint8Array, output?: Uint8Array): Uint8Array;
  /** Returns the instance's slot in the module's shared WebAssembly memory; unusable afterwards. */
  finalize(): void;
}
type XSalsa20Factory = (nonce: Uint8Array, key: Uint8Array) => XSalsa20;

// `xsalsa20` (the cipher @libp2p/pnet uses) is CommonJS without type
// declarations; it is a direct dependency in package.json.
const xsalsa20 = createRequire(import.meta.url)('xsalsa20') as XSalsa20Factory;

/**
 * The 32 key bytes of a pnet v1 swarm key. Accepts `\n` or `\r\n` line ends
 * as pnet does, but insists on the base16 codec and exactly 64 hex digits.
 */
export function decodeSwarmKey(psk: Uint8Array): Uint8Array {
  const lines = Buffer.from(psk)
    .toString('utf8')
    .split(/\r\n|\r|\n/);
  const [tag, codec, hex] = lines;
  if (tag !== '/key/swarm/psk/1.0.0/' || codec !== '/base16/' || hex === undefined || !/^[0-9a-fA-F]{64}$/.test(hex) || lines.slice(3).some((l) => l !== '')) {
    throw new Error('pnet: invalid swarm key (expected /key/swarm/psk/1.0.0/, /base16/, 64 hex digits)');
  }
  return Uint8Array.from(Buffer.from(hex, 'hex'));
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

interface BoxInit {
  readonly maConn: MultiaddrConnection;
  /** Decrypts what the remote sends; already advanced past `firstData`, when given. */
  readonly inbound: XSalsa20;
  readonly outbound: XSalsa20;
  /** Plaintext already read and decrypted during the handshake, delivered first. */
  readonly firstData: Uint8Array | undefined;
  readonly log: MultiaddrConnection['log'];
}

type SendData = Parameters<AbstractMultiaddrConnection['sendData']>[0];

/**
 * The connection after the nonce exchange: XOR with XSalsa20 both ways.
 * Mirrors `BoxMessageStream` of @libp2p/pnet 3.x (not exported by it), plus
 * the bytes read ahead by the listener, and it hands its cipher slots back
 * to `xsalsa20` when it closes (pnet keeps them forever: 128 bytes of
 * WebAssembly memory per connection).
 */
class PskBoxStream extends AbstractMultiaddrConnection {
  readonly #maConn: MultiaddrConnection;
  #inbound: XSalsa20 | undefined;
  #outbound: XSalsa20 | undefined;

  constructor(init: BoxInit) {
    super({ log: init.log, remoteAddr: init.maConn.remoteAddr, direction: init.maConn.direction });
    this.#maConn = init.maConn;
    this.#inbound = init.inbound;
    this.#outbound = init.outbound;
    // Before any listener exists this only queues the bytes; they are
    // delivered ahead of anything decrypted below, which arrives no earlier
    // than the next microtask.
    if (init.firstData !== undefined) this.onData(init.firstData);
    this.#maConn.addEventListener('message', (evt) => {
      const xor = this.#inbound;
      if (xor === undefined) return;
      const data = evt.data;
      if (data instanceof Uint8Array) {
        this.onData(xor.update(data));
      } else {
        for (const buf of data) this.onData(xor.update(buf));
      }
    });
    this.#maConn.addEventListener('drain', () => {
      this.onMuxerDrain();
    });
    this.#maConn.addEventListener('close', (evt) => {
      if (evt.error != null) {
        if (evt.local === true) this.abort(evt.error);
        else this.onRemoteReset();
      } else {
        this.onTransportClosed();
      }
    });
    // Once closed, nothing is sent (writeStatus is closed) and late inbound
    // bytes are ignored above, so the cipher slots can be reused.
    this.addEventListener('close', () => {
      this.#inbound?.finalize();
      this.#outbound?.finalize();
      this.#inbound = undefined;
      this.#outbound = undefined;
    });
  }

  override async sendClose(options?: AbortOptions): Promise<void> {
    await this.#maConn.close(options);
  }

  override sendData(data: SendData): { sentBytes: number; canSendMore: boolean } {
    const xor = this.#outbound;
    if (xor === undefined) throw new Error('pnet: connection closed');
    return { sentBytes: data.byteLength, canSendMore: this.#maConn.send(xor.update(data.subarray())) };
  }

  override sendReset(err: Error): void {
    this.#maConn.abort(err);
  }

  override sendPause(): void {
    this.#maConn.pause();
  }

  override sendResume(): void {
    this.#maConn.resume();
  }
}

/** See {@link MultiKeyPnetInit}. Use through {@link multiKeyPreSharedKey} or as `connectionProtector: () => protector`. */
export class MultiKeyPnet implements ConnectionProtector {
  readonly [Symbol.toStringTag] = 'goavail/multi-key-pnet';
  readonly #keys: readonly Uint8Array[];
  readonly #timeoutMs: number;
  readonly #logger: Logger | undefined;
  #outbound = 0;
  readonly #inbound: number[];
  #rejected = 0;
  #failed = 0;
  readonly #rejects = Object.fromEntries(PNET_REJECT_REASONS.map((r) => [r, 0])) as Record<PnetRejectReason, number>;

  /** Throws on an empty list or a malformed key: configuration errors. */
  constructor(init: MultiKeyPnetInit) {
    if (init.psks.length === 0) throw new Error('pnet: at least one swarm key is required');
    this.#keys = init.psks.map(decodeSwarmKey);
    this.#timeoutMs = init.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#logger = init.logger;
    this.#inbound = this.#keys.map(() => 0);
  }

  stats(): MultiKeyPnetStats {
    return { outbound: this.#outbound, inbound: [...this.#inbound], rejected: this.#rejected, failed: this.#failed };
  }

  /** Accepts per key index and rejects by reason (the `rejected` and `failed` of {@link stats}, split by why), for /metrics. */
  counts(): PnetCounts {
    return { outbound: this.#outbound, inbound: [...this.#inbound], rejects: { ...this.#rejects } };
  }

  async protect(connection: MessageStream, options?: AbortOptions & { initiator?: boolean }): Promise<MessageStream> {
    // libp2p hands the transport's MultiaddrConnection in; the interface says
    // MessageStream, pnet makes the same assumption.
    const maConn = connection as MultiaddrConnection;
    const log = maConn.log.newScope('pnet');
    const deadline = AbortSignal.timeout(this.#timeoutMs);
    const signal = options?.signal !== undefined ? AbortSignal.any([options.signal, deadline]) : deadline;
    // The multistream-select listener: an accepted connection, or a dialled
    // one that libp2p told not to act as the initiator.
    const listener = maConn.direction === 'inbound' || options?.initiator === false;
    const bytes = byteStream(maConn);
    const localNonce = Uint8Array.from(randomBytes(PNET_NONCE_BYTES));
    let remoteNonce: Uint8Array;
    let header: Uint8Array | undefined;
    try {
      const [nonce] = await Promise.all([bytes.read({ bytes: PNET_NONCE_BYTES, signal }), bytes.write(localNonce, { signal })]);
      remoteNonce = nonce.subarray();
      if (listener) header = (await bytes.read({ bytes: MSS_HEADER.length, signal })).subarray();
    } catch (err) {
      this.#failed++;
      this.#rejects[deadline.aborted ? 'timeout' : options?.signal?.aborted === true ? 'aborted' : 'closed']++;
      const e = err instanceof Error ? err : new Error(String(err));
      this.#logger?.debug({ remote: maConn.remoteAddr?.toString(), listener, err: e.message, failed: this.#failed }, 'pnet handshake failed');
      maConn.abort(e);
      throw e;
    }

    try {
      return this.#box(maConn, bytes, log, remoteNonce, localNonce, header);
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (e instanceof PnetKeyMismatchError) {
        this.#rejects['no-matching-key']++;
      } else {
        this.#failed++; // not expected: xsalsa20 allocation
        this.#rejects.error++;
      }
      maConn.abort(e); // never leave the socket open
      throw e;
    }
  }

  /**
   * The boxed stream: under the first key when we dial (`header`
   * undefined), else under the key that decrypts `header` to
   * {@link MSS_HEADER}; throws {@link PnetKeyMismatchError} when none does.
   */
  #box(
    maConn: MultiaddrConnection,
    bytes: ReturnType<typeof byteStream>,
    log: MultiaddrConnection['log'],
    remoteNonce: Uint8Array,
    localNonce: Uint8Array,
    header: Uint8Array | undefined,
  ): MessageStream {
    let keyIndex = 0;
    let inbound: XSalsa20 | undefined;
    let firstData: Uint8Array | undefined;
    if (header === undefined) {
      this.#outbound++;
    } else {
      for (let i = 0; i < this.#keys.length && inbound === undefined; i++) {
        const xor = xsalsa20(remoteNonce, this.#keys[i] as Uint8Array);
        const plain = xor.update(header);
        if (equalBytes(plain, MSS_HEADER)) {
          keyIndex = i;
          inbound = xor;
          firstData = plain;
        } else {
          xor.finalize();
        }
      }
      if (inbound === undefined) {
        this.#rejected++;
        this.#logger?.debug({ remote: maConn.remoteAddr?.toString(), rejected: this.#rejected }, 'pnet: inbound connection matches no swarm key; closed');
        throw new PnetKeyMismatchError('pnet: the remote uses none of the configured swarm keys');
      }
      this.#inbound[keyIndex] = (this.#inbound[keyIndex] ?? 0) + 1;
      if (keyIndex > 0) log('accepted a dialer using swarm key #%d', keyIndex);
    }
    const key = this.#keys[keyIndex] as Uint8Array;
    inbound ??= xsalsa20(remoteNonce, key);
    const outbound = xsalsa20(localNonce, key);
    // Gives anything read beyond the nonce (and header) back to maConn,
    // where the box's message listener picks it up after firstData.
    bytes.unwrap();
    log('exchanged nonces');
    return new PskBoxStream({ maConn, inbound, outbound, firstData, log });
  }
}

/**
 * `connectionProtector` for `createLibp2p`, in the shape of pnet's
 * `preSharedKey`: `connectionProtector: multiKeyPreSharedKey({ psks })`.
 */
export function multiKeyPreSharedKey(init: MultiKeyPnetInit): () => MultiKeyPnet {
  const protector = new MultiKeyPnet(init);
  return () => protector;
}
