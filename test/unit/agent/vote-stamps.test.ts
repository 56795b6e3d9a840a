import { afterEach, describe, expect, it, vi } from 'vitest';
import { Agent } from '../../../src/agent.js';
import { emptyDropCounts } from '../../../src/gossip/validate.js';
import type { Gossip, Observation, ObservationBatch, PeerStatus } from '../../../src/gossip/types.js';
import { silentLogger } from '../../../src/log.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';
import { FakeProber } from '../../support/fake-prober.js';

/**
 * Writer election orders votes by when they turned, each agent using its
 * own stamp for its own vote and the sender's stamp for a peer's. The two
 * must be the same instant, whatever runs between the turn and the publish,
 * and a full batch must repeat it for a peer that missed the change message.
 */
const A = '203.0.113.1';
const B = '203.0.113.2';

/** A gossip seam that records what the agent publishes (stamping sentAt as the real ones do when not given). */
class RecordingGossip implements Gossip {
  readonly selfId = 'self';
  readonly sent: ObservationBatch[] = [];
  async start(): Promise<void> {}
  async stop(): Promise<void> {}
  async publish(observations: readonly Observation[], full: boolean, sentAt = Date.now()): Promise<number> {
    this.sent.push({ seq: this.sent.length, sentAt, full, observations: [...observations] });
    return 1;
  }
  onObservations(): void {}
  peers(): PeerStatus[] {
    return [];
  }
  drops() {
    return emptyDropCounts();
  }
}

afterEach(() => {
  vi.useRealTimers();
});

describe('vote stamps on the wire', () => {
  it('a change batch is stamped with the instant the vote turned, even when watchers take 40 ms in between; the next full batch repeats it', async () => {
    vi.useFakeTimers({ now: 1_760_000_000_000 });
    const gossip = new RecordingGossip();
    const prober = new FakeProber();
    let turnedBefore: number | undefined;
    const agent = new Agent({
      config: testConfig({ ips: [A, B], intervalMs: 1000, failureThreshold: 2, minPeersAgree: 0, peers: ['127.0.0.1:7000'] }),
      logger: silentLogger(),
      dryRun: false,
      createProber: () => prober,
      createProvider: () => new FakeDns([]),
      gossip,
      selfId: 'self',
      events: {
        // a slow watcher (a notification, a metric) between the turn and the publish
        clusterVerdict: (e) => {
          turnedBefore ??= e.at;
          vi.setSystemTime(Date.now() + 40);
        },
      },
    });
    agent.start();
    await vi.advanceTimersByTimeAsync(2500); // two rounds: A and B turn up
    const change = gossip.sent.find((b) => !b.full && b.observations.some((o) => o.ip === A && o.verdict === 'up'));
    expect(change, 'a change batch for A').toBeDefined();
    expect(turnedBefore).toBeDefined();
    expect(change!.sentAt).toBe(turnedBefore); // not 40 ms later

    await vi.advanceTimersByTimeAsync(10_000); // the full-state round
    const full = gossip.sent.find((b) => b.full);
    expect(full, 'a full batch').toBeDefined();
    expect(full!.observations.find((o) => o.ip === A)).toEqual({ ip: A, verdict: 'up', turnedAt: change!.sentAt });

    // once the turn is older than the freshness window, full batches say "long ago" (no turn time)
    await vi.advanceTimersByTimeAsync(60_000);
    const late = gossip.sent.filter((b) => b.full).at(-1)!;
    expect(late.observations.find((o) => o.ip === A)).toEqual({ ip: A, verdict: 'up' });
    await agent.stop();
  });
});
