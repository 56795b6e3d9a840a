/**
 * Ambient types for `net-ping` 1.2 (no types package exists). Only what
 * goavail uses is declared; see node_modules/net-ping/README.md.
 */
declare module 'net-ping' {
  import type { EventEmitter } from 'node:events';

  export const NetworkProtocol: { readonly IPv4: 1; readonly IPv6: 2 };
  export type NetworkProtocol = (typeof NetworkProtocol)[keyof typeof NetworkProtocol];

  export interface SessionOptions {
    networkProtocol?: NetworkProtocol;
    /** Bytes per echo request, at least 12; default 16. */
    packetSize?: number;
    /** Re-sends after a timeout; default 1 (so a miss takes timeout × 2). */
    retries?: number;
    /**
     * Identifier written into every request; replies are matched on
     * (sessionId, sequence) only, so each session needs its own. 1..65534;
     * 0 or absent means `process.pid % 65535`.
     */
    sessionId?: number;
    /** Per-request timeout in ms, read when a request is queued; default 2000. */
    timeout?: number;
    ttl?: number;
  }

  /** The raw-socket `Socket` under a session, as far as goavail touches it. */
  export interface RawSocket {
    setOption(level: number, option: number, value: number): void;
    getOption(level: number, option: number, buffer: Buffer, length: number): number;
  }

  export type PingCallback = (error: Error | null, target: string, sent?: Date, rcvd?: Date) => void;

  export interface Session extends EventEmitter {
    /** Per-request timeout in ms; a request copies it when queued. */
    timeout: number;
    retries: number;
    readonly sessionId: number;
    /** Next sequence number (1..65535); internal, but writable. */
    nextId: number;
    /**
     * Internal hook net-ping calls just before a request leaves (after waiting
     * in raw-socket's send queue); an instance may wrap it.
     */
    onBeforeSocketSend(req: { readonly callback: PingCallback; readonly target: string }): void;
    pingHost(target: string, callback: PingCallback): this;
    /** Closes the raw socket; every outstanding request fails with "Socket forcibly closed". */
    close(): this;
    getSocket(): RawSocket;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'close', listener: () => void): this;
  }

  /** Opens a raw socket at once; throws (e.g. "Operation not permitted") when it cannot. */
  export function createSession(options?: SessionOptions): Session;

  export class RequestTimedOutError extends Error {}
  export class DestinationUnreachableError extends Error { readonly source: string; }
  export class PacketTooBigError extends Error { readonly source: string; }
  export class ParameterProblemError extends Error { readonly source: string; }
  export class RedirectReceivedError extends Error { readonly source: string; }
  export class SourceQuenchError extends Error { readonly source: string; }
  export class TimeExceededError extends Error { readonly source: string; }

  const netPing: {
    NetworkProtocol: typeof NetworkProtocol;
    createSession: typeof createSession;
    RequestTimedOutError: typeof RequestTimedOutError;
    DestinationUnreachableError: typeof DestinationUnreachableError;
    PacketTooBigError: typeof PacketTooBigError;
    ParameterProblemError: typeof ParameterProblemError;
    RedirectReceivedError: typeof RedirectReceivedError;
    SourceQuenchError: typeof SourceQuenchError;
    TimeExceededError: typeof TimeExceededError;
  };
  export default netPing;
}
