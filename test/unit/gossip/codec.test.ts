import { describe, expect, it } from 'vitest';
import { canonicalIp, CODEC_VERSION, decodeBatch, encodeBatch } from '../../../src/gossip/codec.js';
import type { Observation, ObservationBatch } from '../../../src/gossip/types.js';

const T = 1_760_000_000_000;

/** Observations as a sorted list of "ip=verdict", since decoding groups them. */
function norm(obs: readonly Observation[]): string[] {
  return obs.map((o) => `${o.ip}=${o.verdict}`).sort();
}

function ipv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

describe('encodeBatch / decodeBatch round trip', () => {
  const cases: Array<[string, ObservationBatch]> = [
    ['empty delta', { seq: 0, sentAt: 0, full: false, observations: [] }],
    ['empty full', { seq: 1, sentAt: T, full: true, observations: [] }],
    ['max safe seq and sentAt', { seq: Number.MAX_SAFE_INTEGER, sentAt: Number.MAX_SAFE_INTEGER, full: false, observations: [] }],
    ['Date.now()*1000 seq', { seq: T * 1000 + 17, sentAt: T, full: true, observations: [{ ip: '198.18.0.1', verdict: 'up' }] }],
    [
      'all verdicts, both families, edge addresses',
      {
        seq: 42,
        sentAt: T,
        full: true,
        observations: [
          { ip: '0.0.0.0', verdict: 'unknown' },
          { ip: '255.255.255.255', verdict: 'down' },
          { ip: '198.18.0.2', verdict: 'up' },
          { ip: '198.18.0.1', verdict: 'up' },
          { ip: '127.0.0.1', verdict: 'down' },
          { ip: '::1', verdict: 'up' },
          { ip: '::', verdict: 'unknown' },
          { ip: 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', verdict: 'down' },
          { ip: '2001:db8::1', verdict: 'down' },
          { ip: '2001:db8::2', verdict: 'down' },
          { ip: '::ffff:198.18.0.1', verdict: 'up' },
        ],
      },
    ],
  ];
  it.each(cases)('%s', (_name, batch) => {
    const bytes = encodeBatch(batch);
    const back = decodeBatch(bytes);
    expect(back).toBeDefined();
    expect(back?.seq).toBe(batch.seq);
    expect(back?.sentAt).toBe(batch.sentAt);
    expect(back?.full).toBe(batch.full);
    expect(norm(back?.observations ?? [])).toEqual(norm(batch.observations));
    // canonical: encoding the decoded batch gives the same bytes
    expect(Buffer.from(encodeBatch(back as ObservationBatch)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('returns IPv6 in canonical text whatever the input spelling', () => {
    const back = decodeBatch(
      encodeBatch({
        seq: 1,
        sentAt: T,
        full: false,
        observations: [
          { ip: '2001:0DB8:0000:0000:0000:0000:0000:0001', verdict: 'up' },
          { ip: '0:0:0:0:0:ffff:c612:1', verdict: 'down' },
        ],
      }),
    );
    expect(norm(back?.observations ?? [])).toEqual(['2001:db8::1=up', '::ffff:198.18.0.1=down']);
  });
});

describe('sizes', () => {
  it('1,000 IPv4 observations cost at most 4 bytes each, clustered ones 1', () => {
    const clustered = Array.from({ length: 1000 }, (_, i) => ({ ip: ipv4(0xc6120000 + i), verdict: 'up' as const }));
    const spread = Array.from({ length: 1000 }, (_, i) => ({
      ip: ipv4((i * 4_294_967) >>> 0),
      verdict: (['up', 'down', 'unknown'] as const)[i % 3] as Observation['verdict'],
    }));
    const c = encodeBatch({ seq: T * 1000, sentAt: T, full: true, observations: clustered });
    const s = encodeBatch({ seq: T * 1000, sentAt: T, full: true, observations: spread });
    // header 18, 6 group counts (1 byte each, 2 for a count ≥ 128), the
    // first address of a group as a full varint (≤ 5 bytes), then deltas.
    expect(c.length).toBe(18 + 7 + 5 + 999);
    expect(s.length).toBeLessThanOrEqual(18 + 9 + 3 * 5 + 4 * 997);
    console.info(`codec: 1000 IPv4 clustered ${c.length} B, spread over the address space ${s.length} B`);
  });

  it('an IPv6 observation costs 16 bytes', () => {
    const obs = Array.from({ length: 100 }, (_, i) => ({ ip: `2001:db8::${(i + 1).toString(16)}`, verdict: 'up' as const }));
    expect(encodeBatch({ seq: 1, sentAt: T, full: true, observations: obs }).length).toBe(18 + 6 + 1600);
  });
});

describe('encodeBatch refuses invalid local input', () => {
  it.each([
    ['not an IP', { ip: 'example.com', verdict: 'up' }],
    ['IPv4 with leading zero', { ip: '01.2.3.4', verdict: 'up' }],
    ['zone id', { ip: 'fe80::1%eth0', verdict: 'up' }],
    ['bad verdict', { ip: '198.18.0.1', verdict: 'sideways' }],
  ])('%s', (_n, o) => {
    expect(() => encodeBatch({ seq: 1, sentAt: T, full: false, observations: [o as Observation] })).toThrow();
  });
  it('the same IP twice, even spelled differently', () => {
    expect(() =>
      encodeBatch({
        seq: 1,
        sentAt: T,
        full: false,
        observations: [
          { ip: '198.18.0.1', verdict: 'up' },
          { ip: '198.18.0.1', verdict: 'down' },
        ],
      }),
    ).toThrow(/twice/);
    expect(() =>
      encodeBatch({
        seq: 1,
        sentAt: T,
        full: false,
        observations: [
          { ip: '2001:db8::1', verdict: 'up' },
          { ip: '2001:DB8:0::1', verdict: 'down' },
        ],
      }),
    ).toThrow(/twice/);
  });
  it.each([-1, 1.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN])('seq %s', (seq) => {
    expect(() => encodeBatch({ seq, sentAt: T, full: false, observations: [] })).toThrow(RangeError);
  });
});

describe('decodeBatch rejects malformed input', () => {
  const valid = encodeBatch({
    seq: 7,
    sentAt: T,
    full: true,
    observations: [
      { ip: '198.18.0.1', verdict: 'up' },
      { ip: '198.18.0.9', verdict: 'down' },
      { ip: '2001:db8::1', verdict: 'up' },
    ],
  });
  const header = (flags = 0, seq = 1n, sentAt = BigInt(T)): number[] => {
    const b = Buffer.alloc(18);
    b[0] = CODEC_VERSION;
    b[1] = flags;
    b.writeBigUInt64BE(seq, 2);
    b.writeBigUInt64BE(sentAt, 10);
    return [...b];
  };
  const cases: Array<[string, Uint8Array]> = [
    ['empty', new Uint8Array(0)],
    ['wrong codec version', Uint8Array.of(2, ...valid.subarray(1))],
    ['reserved flag bit', Uint8Array.from([...header(0x02), 0, 0, 0, 0, 0, 0])],
    ['seq above 2^53-1', Uint8Array.from([...header(0, 2n ** 53n), 0, 0, 0, 0, 0, 0])],
    ['sentAt above 2^53-1', Uint8Array.from([...header(0, 1n, 2n ** 64n - 1n), 0, 0, 0, 0, 0, 0])],
    ['trailing byte', Uint8Array.of(...valid, 0)],
    ['missing group counts', Uint8Array.from(header())],
    ['absurd IPv4 count', Uint8Array.from([...header(), 0xff, 0xff, 0xff, 0xff, 0x0f, 0, 0, 0, 0, 0])],
    ['absurd IPv6 count', Uint8Array.from([...header(), 0, 0, 0, 0x7f, 0, 0, ...new Uint8Array(32)])],
    ['count larger than the bytes left', Uint8Array.from([...header(), 5, 1, 1, 1, 0, 0, 0, 0, 0])],
    ['non-minimal varint', Uint8Array.from([...header(), 0x80, 0x00, 0, 0, 0, 0, 0])],
    ['varint over 2^32', Uint8Array.from([...header(), 1, 0xff, 0xff, 0xff, 0xff, 0x1f, 0, 0, 0, 0, 0])],
    ['IPv4 delta overflows 255.255.255.255', Uint8Array.from([...header(), 2, 0xfe, 0xff, 0xff, 0xff, 0x0f, 5, 0, 0, 0, 0, 0])],
    ['same IPv4 in two verdict groups', Uint8Array.from([...header(), 1, 7, 1, 7, 0, 0, 0, 0])],
    ['IPv6 not ascending', Uint8Array.from([...header(), 0, 0, 0, 2, ...new Uint8Array(15), 2, ...new Uint8Array(15), 1, 0, 0])],
    ['IPv6 repeated', Uint8Array.from([...header(), 0, 0, 0, 2, ...new Uint8Array(15), 1, ...new Uint8Array(15), 1, 0, 0])],
    ['same IPv6 in two verdict groups', Uint8Array.from([...header(), 0, 0, 0, 1, ...new Uint8Array(15), 1, 1, ...new Uint8Array(15), 1, 0])],
  ];
  it.each(cases)('%s → undefined', (_n, bytes) => {
    expect(decodeBatch(bytes)).toBeUndefined();
  });

  it('the hand-built header is right (so the cases above test what they say)', () => {
    expect(decodeBatch(Uint8Array.from([...header(0x01), 0, 0, 0, 0, 0, 0]))).toEqual({ seq: 1, sentAt: T, full: true, observations: [] });
    expect(decodeBatch(Uint8Array.from([...header(), 2, 7, 0, 0, 0, 0, 0, 0]))?.observations).toEqual([
      { ip: '0.0.0.7', verdict: 'unknown' },
      { ip: '0.0.0.8', verdict: 'unknown' },
    ]);
  });

  it('every truncation of a valid batch is rejected', () => {
    for (let n = 0; n < valid.length; n++) expect(decodeBatch(valid.subarray(0, n)), `length ${n}`).toBeUndefined();
  });

  it('never throws on thousands of random buffers, including ones with a valid header', () => {
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      const len = i % 300;
      const buf = new Uint8Array(len);
      for (let j = 0; j < len; j++) buf[j] = Math.floor(Math.random() * 256);
      if (i % 2 === 0 && len > 18) buf.set(header(i % 4 === 0 ? 1 : 0), 0);
      expect(() => decodeBatch(buf)).not.toThrow();
      if (decodeBatch(buf) !== undefined) decoded++;
    }
    // Random bytes almost never form an exact batch; the point is no throw.
    expect(decoded).toBeLessThan(5000);
  });

  it('never throws on bit flips of a valid batch', () => {
    for (let i = 0; i < valid.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const t = valid.slice();
        t[i] = (t[i] as number) ^ (1 << bit);
        expect(() => decodeBatch(t)).not.toThrow();
      }
    }
  });
});

describe('canonicalIp', () => {
  it.each([
    ['198.18.0.1', '198.18.0.1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:0', '::'],
    ['::ffff:c612:1', '::ffff:198.18.0.1'],
    ['::198.18.0.1', '::c612:1'],
    ['fe80::1%eth0', undefined],
    ['198.18.0.256', undefined],
    ['host', undefined],
  ])('%s → %s', (input, out) => {
    expect(canonicalIp(input)).toBe(out);
  });
});

describe('turn times (writer election after a missed change message)', () => {
  const withTurns: ObservationBatch = {
    seq: 7,
    sentAt: T,
    full: true,
    observations: [
      { ip: '198.18.0.9', verdict: 'down', turnedAt: T - 1500 },
      { ip: '198.18.0.1', verdict: 'up' },
      { ip: '2001:db8::7', verdict: 'down', turnedAt: T },
      { ip: '198.18.0.3', verdict: 'up', turnedAt: T - 40_000 },
    ],
  };
  const turns = (b: ObservationBatch | undefined): string[] =>
    (b?.observations ?? [])
      .filter((o) => o.turnedAt !== undefined)
      .map((o) => `${o.ip}@${T - o.turnedAt!}`)
      .sort();

  it('round-trips turnedAt for the observations that carry it, and only those', () => {
    const bytes = encodeBatch(withTurns);
    expect(bytes[1]).toBe(0b11); // full + turns
    const back = decodeBatch(bytes);
    expect(turns(back)).toEqual(['198.18.0.3@40000', '198.18.0.9@1500', '2001:db8::7@0']);
    expect(norm(back!.observations)).toEqual(norm(withTurns.observations));
    expect(Buffer.from(encodeBatch(back!)).equals(Buffer.from(bytes))).toBe(true);
  });

  it('a batch without turn times is byte for byte the format before them (flag bit 1 clear, no section)', () => {
    const plain = { ...withTurns, observations: withTurns.observations.map(({ ip, verdict }) => ({ ip, verdict })) };
    const bytes = encodeBatch(plain);
    expect(bytes[1]).toBe(0b01);
    // the section: count (1) + three index deltas (3) + ages 40,000, 1,500 and 0 ms (3 + 2 + 1)
    expect(bytes.length).toBe(encodeBatch(withTurns).length - (1 + 3 + 6));
  });

  it('encodeBatch refuses a turn after sentAt or further back than 2³²−1 ms', () => {
    expect(() => encodeBatch({ ...withTurns, observations: [{ ip: '198.18.0.1', verdict: 'up', turnedAt: T + 1 }] })).toThrow(RangeError);
    expect(() => encodeBatch({ ...withTurns, observations: [{ ip: '198.18.0.1', verdict: 'up', turnedAt: T - 2 ** 32 }] })).toThrow(RangeError);
  });

  /** One full batch of 198.18.0.1 (up) and 198.18.0.2 (up), then a hand-built turns section. */
  function handBuilt(section: number[]): Uint8Array {
    const base = encodeBatch({
      seq: 1,
      sentAt: 5000,
      full: true,
      observations: [
        { ip: '198.18.0.1', verdict: 'up' },
        { ip: '198.18.0.2', verdict: 'up' },
      ],
    });
    const out = new Uint8Array([...base, ...section]);
    out[1] = 0b11;
    return out;
  }
  it.each([
    ['a valid section (the cases below differ from it in one way)', [2, 0, 10, 0, 20], true],
    ['the flag without a section', [], false],
    ['a section of zero turns', [0], false],
    ['more turns than observations', [3, 0, 1, 0, 1, 0, 1], false],
    ['an index past the observations', [1, 2, 10], false],
    ['a second index past the observations (deltas only rise)', [2, 1, 10, 0, 10], false],
    ['an age before the epoch', [1, 0, 0xa0, 0x28], false],
    ['a truncated entry', [1, 0], false],
    ['trailing bytes after the section', [1, 0, 10, 0], false],
  ] as Array<[string, number[], boolean]>)('%s', (_name, section, ok) => {
    expect(decodeBatch(handBuilt(section)) !== undefined).toBe(ok);
  });

  it('a section after a batch without the flag is trailing garbage', () => {
    const base = encodeBatch({ seq: 1, sentAt: 5000, full: true, observations: [{ ip: '198.18.0.1', verdict: 'up' }] });
    expect(decodeBatch(new Uint8Array([...base, 1, 0, 10]))).toBeUndefined();
  });
});
