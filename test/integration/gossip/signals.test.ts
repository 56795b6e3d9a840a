import { generateKeyPair } from '@libp2p/crypto/keys';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Keyring } from '../../../src/gossip/keyring.js';
import { createLibp2pGossip, type Libp2pGossip } from '../../../src/gossip/node.js';
import type { ObservationBatch, Signal } from '../../../src/gossip/types.js';
import { silentLogger } from '../../../src/log.js';
import { waitFor } from '../../support/kit.js';
import { freePort } from '../../support/net.js';

/*
 * A rolling upgrade over real libp2p on 127.0.0.1: two nodes that speak
 * signals and one of the version before them (signals: false: only the
 * observation topic allowed and subscribed, as that version did). The new
 * nodes exchange suspects and drains; the old one keeps receiving every
 * verdict batch from them and drops nothing. No timing assertions.
 */
const SECRET = 'rolling-upgrade-secret-0123456789';
const IP = '198.18.7.1';

interface Node {
  gossip: Libp2pGossip;
  batches: Array<{ from: string; batch: ObservationBatch }>;
  signals: Array<{ from: string; signal: Signal }>;
}

describe('signals during a rolling upgrade (libp2p)', () => {
  const nodes: Node[] = [];

  beforeAll(async () => {
    const ports = [await freePort(), await freePort(), await freePort()];
    for (let i = 0; i < 3; i++) {
      const gossip = await createLibp2pGossip({
        listen: `127.0.0.1:${ports[i]}`,
        peers: ports.filter((_, j) => j !== i).map((p) => `127.0.0.1:${p}`),
        privateKey: await generateKeyPair('Ed25519'),
        keyring: Keyring.fromSecrets([SECRET]),
        isKnownIp: (ip) => ip === IP,
        logger: silentLogger(),
        redialIntervalMs: 250,
        signals: i < 2,
      });
      const n: Node = { gossip, batches: [], signals: [] };
      gossip.onObservations((from, batch) => n.batches.push({ from, batch }));
      gossip.onSignals?.((from, signal) => n.signals.push({ from, signal }));
      await gossip.start();
      nodes.push(n);
    }
  }, 30_000);

  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.gossip.stop()));
  });

  it('new nodes get suspects, the old node never does and keeps reading verdicts; nothing is dropped', async () => {
    const [a, b, old] = nodes as [Node, Node, Node];
    expect(old.gossip.publishSignal).toBeUndefined();
    await waitFor(
      'b hears a suspect from a',
      async () => {
        await a.gossip.publishSignal!({ kind: 'suspect', ips: [IP] });
        return b.signals.some((s) => s.from === a.gossip.selfId && s.signal.kind === 'suspect' && s.signal.ips.includes(IP));
      },
      { timeoutMs: 20_000, everyMs: 200 },
    );
    // Many more suspects, then verdicts: the old node reads every verdict batch from a.
    for (let i = 0; i < 20; i++) await a.gossip.publishSignal!({ kind: 'suspect', ips: [IP] });
    await waitFor(
      'old hears a down verdict from a',
      async () => {
        await a.gossip.publish([{ ip: IP, verdict: 'down' }], false);
        return old.batches.some((m) => m.from === a.gossip.selfId && m.batch.observations.some((o) => o.ip === IP && o.verdict === 'down'));
      },
      { timeoutMs: 20_000, everyMs: 200 },
    );
    // A drain set by a (its origin is a's signed peer id) reaches b; one claiming another origin is rejected, not delivered.
    const drain = {
      ip: IP,
      drained: true,
      at: Date.now(),
      origin: a.gossip.selfId,
      until: undefined,
      by: 'alice',
      reason: 'kernel',
      source: 'operator' as const,
    };
    await waitFor(
      'b hears a drain from a',
      async () => {
        await a.gossip.publishSignal!({ kind: 'drain', relay: false, entries: [drain] });
        return b.signals.some((s) => s.from === a.gossip.selfId && s.signal.kind === 'drain' && s.signal.entries[0]?.by === 'alice');
      },
      { timeoutMs: 20_000, everyMs: 200 },
    );
    await a.gossip.publishSignal!({ kind: 'drain', relay: false, entries: [{ ...drain, origin: b.gossip.selfId }] });
    await waitFor('b rejects a drain whose origin is not its sender', () => b.gossip.drops().malformed === 1, { timeoutMs: 20_000, everyMs: 100 });
    expect(b.signals.filter((s) => s.signal.kind === 'drain' && s.signal.entries[0]?.origin === b.gossip.selfId)).toEqual([]);
    expect(old.signals).toEqual([]);
    for (const n of nodes) {
      const d = n.gossip.drops();
      expect({
        malformed: n === b ? d.malformed - 1 : d.malformed,
        'bad-version': d['bad-version'],
        'bad-tag': d['bad-tag'],
        'unknown-kind': d['unknown-kind'],
      }).toEqual({
        malformed: 0,
        'bad-version': 0,
        'bad-tag': 0,
        'unknown-kind': 0,
      });
    }
  }, 60_000);
});
