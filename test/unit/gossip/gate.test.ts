import { describe, expect, it } from 'vitest';
import { PeerGate, REFUSED_PEER_SCORE } from '../../../src/gossip/gate.js';

// The admission rules of the gossip node, with time passed in (see the
// table in src/gossip/gate.ts).

const T = 1_700_000_000_000;

function gate(complete: boolean, opts: ConstructorParameters<typeof PeerGate>[0] = {}): PeerGate {
  const g = new PeerGate({ strikeLimit: 3, boxMs: 60_000, ...opts });
  g.update({ ips: ['127.0.0.1', '::1', '192.0.2.7'], ids: ['peer-a', 'peer-b'], complete });
  return g;
}

describe('PeerGate addresses', () => {
  it.each([
    ['127.0.0.1', true],
    ['::ffff:127.0.0.1', true], // IPv4-mapped, as a dual-stack listener reports it
    ['::1', true],
    ['0:0:0:0:0:0:0:1', true], // other text form of ::1
    ['192.0.2.7', true],
    ['127.0.0.50', false], // loopback, but not a configured peer's address
    ['192.0.2.8', false],
    ['not-an-ip', false],
    ['', false],
  ])('%j → %s', (ip, allowed) => {
    expect(gate(false).allowsAddress(ip)).toBe(allowed);
  });

  it('refuses every address when no peer is configured', () => {
    const g = new PeerGate();
    expect(g.allowsAddress('127.0.0.1')).toBe(false);
  });
});

describe('PeerGate ids', () => {
  it.each([
    // complete, id, allowed
    [true, 'peer-a', true],
    [true, 'stranger', false],
    [false, 'peer-a', true],
    [false, 'stranger', true], // may be a host:port peer not reached yet
  ])('complete=%s %s → %s', (complete, id, allowed) => {
    const g = gate(complete);
    expect(g.allowsPeer(id, T)).toBe(allowed);
    expect(g.score(id, T)).toBe(allowed ? 0 : REFUSED_PEER_SCORE);
  });

  it('ids complete: the first message of a stranger is rejected and it is disconnected', () => {
    expect(gate(true).strike('stranger', T)).toEqual({ reject: true, disconnect: true });
  });

  it('ids incomplete: ignored up to strikeLimit, then rejected, disconnected and refused for boxMs', () => {
    const g = gate(false);
    const verdicts = [1, 2, 3, 4, 5].map((i) => g.strike('stranger', T + i));
    expect(verdicts).toEqual([
      { reject: false, disconnect: false },
      { reject: false, disconnect: false },
      { reject: false, disconnect: false },
      { reject: true, disconnect: true },
      { reject: true, disconnect: true },
    ]);
    expect(g.allowsPeer('stranger', T + 10)).toBe(false);
    expect(g.score('stranger', T + 10)).toBe(REFUSED_PEER_SCORE);
    expect(g.allowsPeer('stranger', T + 4 + 60_000)).toBe(true); // box over
    // still over the limit: its next message boxes it again
    expect(g.strike('stranger', T + 4 + 60_001)).toEqual({ reject: true, disconnect: true });
    // other strangers are judged separately
    expect(g.allowsPeer('other', T + 10)).toBe(true);
  });

  it('learning that a boxed id is a configured peer lifts the box at once', () => {
    const g = gate(false);
    for (let i = 0; i < 5; i++) g.strike('peer-c', T);
    expect(g.allowsPeer('peer-c', T)).toBe(false);
    g.update({ ips: ['127.0.0.1'], ids: ['peer-a', 'peer-b', 'peer-c'], complete: true });
    expect(g.allowsPeer('peer-c', T)).toBe(true);
    expect(g.strike('peer-c', T)).toEqual({ reject: false, disconnect: false });
    expect(g.tracked()).toBe(0);
  });

  it('tracks a bounded number of strangers (oldest forgotten first)', () => {
    const g = gate(false, { maxTracked: 100 });
    for (let i = 0; i < 10_000; i++) g.strike(`stranger-${i}`, T);
    expect(g.tracked()).toBe(100);
  });
});
