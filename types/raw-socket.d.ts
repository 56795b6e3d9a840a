/**
 * Ambient types for `raw-socket` 1.8 (no types package exists). Only what
 * goavail uses is declared; see node_modules/raw-socket/README.md and
 * index.js.
 */
declare module 'raw-socket' {
  import type { EventEmitter } from 'node:events';

  export const AddressFamily: { readonly IPv4: 1; readonly IPv6: 2 };
  export const Protocol: { readonly ICMP: 1; readonly ICMPv6: 58 };

  export interface SocketOptions {
    protocol?: number;
    addressFamily?: number;
    /** Receive buffer size in bytes; default 4096. */
    bufferSize?: number;
  }

  /**
   * The native socket under `Socket`: non-blocking, `send` and `recv` are
   * one `sendto`/`recvfrom` each, synchronous, and throw on error
   * (including EAGAIN). The callback runs before they return.
   */
  export interface SocketWrap {
    send(buffer: Buffer, offset: number, length: number, address: string, callback: (bytes: number) => void): void;
    recv(buffer: Buffer, callback: (buffer: Buffer, bytes: number, source: string) => void): void;
  }

  export interface Socket extends EventEmitter {
    readonly wrap: SocketWrap;
    /** The receive buffer `message` events are views of. */
    readonly buffer: Buffer;
    /** Queues a packet; it is sent when the socket is writable, one per event-loop turn. */
    send(buffer: Buffer, offset: number, length: number, address: string, afterCallback: (error: Error | null, bytes: number) => void): this;
    setOption(level: number, option: number, value: number): void;
    close(): this;
    on(event: 'message', listener: (buffer: Buffer, source: string) => void): this;
    on(event: 'error', listener: (error: Error) => void): this;
    on(event: 'close', listener: () => void): this;
  }

  export function createSocket(options?: SocketOptions): Socket;

  const raw: { AddressFamily: typeof AddressFamily; Protocol: typeof Protocol; createSocket: typeof createSocket };
  export default raw;
}
