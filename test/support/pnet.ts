import { createRequire } from 'node:module';
import type { MessageStream } from '@libp2p/interface';
import { generateKey } from '@libp2p/pnet';
import { Keyring } from '../../src/gossip/keyring.js';

// Shared by the pnet unit and integration tests: keys, rotation phases and
// a byte collector for in-memory or real streams.

export interface XSalsa20 {
  update(input: Uint8Array): Uint8Array;
}
export const xsalsa20 = createRequire(import.meta.url)('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => XSalsa20;

export const OLD = 'old-cluster-secret';
export const NEW = 'new-cluster-secret';
export const PHASES = {
  old: [OLD],
  'old,new': [OLD, NEW],
  'new,old': [NEW, OLD],
  new: [NEW],
} as const;
export type Phase = keyof typeof PHASES;
export const swarmKeys = (phase: Phase): Uint8Array[] => Keyring.fromSecrets(PHASES[phase]).swarmKeys();

export function randomSwarmKey(): Uint8Array {
  const k = new Uint8Array(95);
  generateKey(k);
  return k;
}

/** Everything `stream` delivers until `n` bytes have arrived. */
export function collect(stream: MessageStream, n: number, timeoutMs = 10_000): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let got = 0;
    const timer = setTimeout(() => reject(new Error(`collected ${got}/${n} bytes before the timeout`)), timeoutMs);
    stream.addEventListener('message', (evt) => {
      const b = Buffer.from(evt.data.subarray());
      parts.push(b);
      got += b.length;
      if (got >= n) {
        clearTimeout(timer);
        resolve(Buffer.concat(parts));
      }
    });
  });
}

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
