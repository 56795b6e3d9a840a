import '../../../src/gossip/polyfill.js';
import { randomBytes } from 'node:crypto';
import { PROTOCOL_ID } from '@libp2p/multistream-select';
import { preSharedKey } from '@libp2p/pnet';
import { multiaddrConnectionPair } from '@libp2p/utils';
import { describe, expect, it } from 'vitest';
import { Keyring, swarmKeyFromSecret } from '../../../src/gossip/keyring.js';
import { decodeSwarmKey, MSS_HEADER, MultiKeyPnet, PnetKeyMismatchError, PNET_NONCE_BYTES } from '../../../src/gossip/pnet.js';
import { collect, hex, NEW, OLD, randomSwarmKey, xsalsa20 } from '../../support/pnet.js';

// The multi-key pnet protector against in-memory connection pairs: exact
// bytes and stats, no timers. Its deadlines and real libp2p nodes are in
// test/integration/gossip/pnet.test.ts.

/** Lets the pair deliver what was sent before the next write. */
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('decodeSwarmKey and Keyring.swarmKeys', () => {
  it('decodes the key bytes of a pnet v1 key', () => {
    const psk = randomSwarmKey();
    const line = Buffer.from(psk).toString('utf8').split('\n')[2] as string;
    expect(hex(decodeSwarmKey(psk))).toBe(line.toLowerCase());
    expect(decodeSwarmKey(psk)).toHaveLength(32);
    // \r\n line ends and upper-case hex, as pnet accepts them
    expect(hex(decodeSwarmKey(Buffer.from(`/key/swarm/psk/1.0.0/\r\n/base16/\r\n${line.toUpperCase()}\n`)))).toBe(line.toLowerCase());
  });

  it.each([
    ['empty', ''],
    ['wrong tag', `/key/swarm/psk/2.0.0/\n/base16/\n${'ab'.repeat(32)}`],
    ['other codec', `/key/swarm/psk/1.0.0/\n/base64/\n${'ab'.repeat(32)}`],
    ['short key', `/key/swarm/psk/1.0.0/\n/base16/\n${'ab'.repeat(31)}`],
    ['not hex', `/key/swarm/psk/1.0.0/\n/base16/\n${'zz'.repeat(32)}`],
    ['trailing junk', `/key/swarm/psk/1.0.0/\n/base16/\n${'ab'.repeat(32)}\nextra`],
  ])('refuses %s', (_name, text) => {
    expect(() => decodeSwarmKey(Buffer.from(text))).toThrow(/invalid swarm key/);
  });

  it('the keyring gives one swarm key per secret, first first, identical to swarmKeyFromSecret', () => {
    const keys = Keyring.fromSecrets([NEW, OLD]).swarmKeys();
    expect(keys.map(hex)).toEqual([hex(swarmKeyFromSecret(NEW)), hex(swarmKeyFromSecret(OLD))]);
    expect(hex(Keyring.fromSecrets([NEW, OLD]).swarmKey())).toBe(hex(swarmKeyFromSecret(NEW)));
    // copies: mutating one does not change the keyring
    (keys[0] as Uint8Array).fill(0);
    expect(hex(Keyring.fromSecrets([NEW, OLD]).swarmKeys()[0] as Uint8Array)).toBe(hex(swarmKeyFromSecret(NEW)));
  });

  it('refuses an empty key list or a malformed key at construction', () => {
    expect(() => new MultiKeyPnet({ psks: [] })).toThrow(/at least one/);
    expect(() => new MultiKeyPnet({ psks: [randomSwarmKey(), Buffer.from('nope')] })).toThrow(/invalid swarm key/);
  });

  it('MSS_HEADER is what multistream-select writes first', () => {
    const text = `${PROTOCOL_ID}\n`;
    expect(Buffer.from(MSS_HEADER).toString('latin1')).toBe(String.fromCharCode(text.length) + text);
    expect(MSS_HEADER).toHaveLength(20);
  });
});

describe('MultiKeyPnet on an in-memory connection pair', () => {
  const k1 = randomSwarmKey();
  const k2 = randomSwarmKey();
  const k3 = randomSwarmKey();

  it('accepts a stock pnet dialer using its second key; both directions carry data', async () => {
    const [out, inb] = multiaddrConnectionPair();
    const p = new MultiKeyPnet({ psks: [k1, k2] });
    const accepting = p.protect(inb, { signal: AbortSignal.timeout(5000) });
    const dialer = await preSharedKey({ psk: k2 })().protect(out, { signal: AbortSignal.timeout(5000) });
    const payload = randomBytes(100_000);
    // header and payload in one write, then more in small pieces
    dialer.send(Buffer.concat([MSS_HEADER, payload.subarray(0, 50_000)]));
    const box = await accepting;
    const gotIn = collect(box, 20 + payload.length);
    for (let off = 50_000; off < payload.length; off += 777) dialer.send(payload.subarray(off, Math.min(off + 777, payload.length)));
    expect((await gotIn).equals(Buffer.concat([MSS_HEADER, payload]))).toBe(true);
    const reply = randomBytes(30_000);
    const gotOut = collect(dialer, reply.length);
    box.send(reply);
    expect((await gotOut).equals(reply)).toBe(true);
    expect(p.stats()).toEqual({ outbound: 0, inbound: [0, 1], rejected: 0, failed: 0 });
  });

  it('takes the header one byte at a time, and bytes that arrived with the nonce', async () => {
    const [out, inb] = multiaddrConnectionPair();
    const p = new MultiKeyPnet({ psks: [k1, k2, k3] });
    const accepting = p.protect(inb, { signal: AbortSignal.timeout(5000) });
    const nonceP = collect(out, PNET_NONCE_BYTES);
    // a raw dialer: nonce, header and payload in one write...
    const nonce = randomBytes(PNET_NONCE_BYTES);
    const enc = xsalsa20(nonce, decodeSwarmKey(k3));
    const payload = randomBytes(1000);
    out.send(Buffer.concat([nonce, enc.update(Buffer.concat([MSS_HEADER, payload]))]));
    const box = await accepting;
    expect((await collect(box, 20 + payload.length)).equals(Buffer.concat([MSS_HEADER, payload]))).toBe(true);
    // ...and the reply is keyed with the matched key and the listener's nonce
    const listenerNonce = (await nonceP).subarray(0, PNET_NONCE_BYTES);
    const dec = xsalsa20(listenerNonce, decodeSwarmKey(k3));
    const gotOut = collect(out, 5);
    box.send(Buffer.from('hello'));
    expect(Buffer.from(dec.update(await gotOut)).toString()).toBe('hello');

    // byte by byte
    const [out2, inb2] = multiaddrConnectionPair();
    const accepting2 = p.protect(inb2, { signal: AbortSignal.timeout(5000) });
    const nonce2 = randomBytes(PNET_NONCE_BYTES);
    const enc2 = xsalsa20(nonce2, decodeSwarmKey(k1));
    const wire = Buffer.concat([nonce2, enc2.update(Buffer.concat([MSS_HEADER, Buffer.from('after')]))]);
    for (const byte of wire) {
      out2.send(Uint8Array.of(byte));
      await tick();
    }
    const box2 = await accepting2;
    expect((await collect(box2, 25)).toString('latin1')).toBe(Buffer.concat([MSS_HEADER, Buffer.from('after')]).toString('latin1'));
    expect(p.stats()).toEqual({ outbound: 0, inbound: [1, 0, 1], rejected: 0, failed: 0 });
  });

  it('dials with the first key only: a stock listener on the first key reads it, one on the second does not', async () => {
    for (const [listenerKey, readable] of [
      [k1, true],
      [k2, false],
    ] as const) {
      const [out, inb] = multiaddrConnectionPair();
      const p = new MultiKeyPnet({ psks: [k1, k2] });
      const accepting = preSharedKey({ psk: listenerKey })().protect(inb, { signal: AbortSignal.timeout(5000) });
      const dialer = await p.protect(out, { signal: AbortSignal.timeout(5000) });
      const box = await accepting;
      const got = collect(box, 20);
      dialer.send(MSS_HEADER);
      expect((await got).equals(Buffer.from(MSS_HEADER))).toBe(readable);
      expect(p.stats()).toEqual({ outbound: 1, inbound: [0, 0], rejected: 0, failed: 0 });
    }
  });

  it('a dialer with none of the keys: rejected and aborted after its first 20 bytes', async () => {
    const [out, inb] = multiaddrConnectionPair();
    const p = new MultiKeyPnet({ psks: [k1, k2] });
    const accepting = p.protect(inb, { signal: AbortSignal.timeout(5000) });
    const dialer = await preSharedKey({ psk: k3 })().protect(out, { signal: AbortSignal.timeout(5000) });
    dialer.send(MSS_HEADER);
    await expect(accepting).rejects.toBeInstanceOf(PnetKeyMismatchError);
    expect(inb.status).toBe('aborted');
    expect(p.stats()).toEqual({ outbound: 0, inbound: [0, 0], rejected: 1, failed: 0 });
    expect(p.counts()).toEqual({ outbound: 0, inbound: [0, 0], rejects: { 'no-matching-key': 1, timeout: 0, aborted: 0, closed: 0, error: 0 } });
  });

  it('random bytes after the nonce: rejected', async () => {
    const [out, inb] = multiaddrConnectionPair();
    const p = new MultiKeyPnet({ psks: [k1] });
    const accepting = p.protect(inb, { signal: AbortSignal.timeout(5000) });
    out.send(randomBytes(PNET_NONCE_BYTES + 20));
    await expect(accepting).rejects.toBeInstanceOf(PnetKeyMismatchError);
    expect(inb.status).toBe('aborted');
    expect(p.stats().rejected).toBe(1);
  });
});
