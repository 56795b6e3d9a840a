import { describe, expect, it } from 'vitest';
import { canonicalIp, canonicalIpOrText, parseTargetIp, unmappedIp } from '../../../src/net/ip.js';

/**
 * src/net/ip.ts is the one place IP text becomes canonical: the config (what
 * is managed, via parseTargetIp), the Cloudflare provider (record content,
 * via canonicalIpOrText), the gossip codec (observations) and the peer gate
 * (via unmappedIp) all call canonicalIp, so a record or a vote matches a
 * configured IP by construction. This table pins the one function.
 */
describe('canonicalIp', () => {
  it.each([
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['::FFFF:C000:0201', '::ffff:192.0.2.1'],
    ['203.0.113.9', '203.0.113.9'],
    ['fe80::1%eth0', undefined], // zone ids are refused
    ['203.0.113.09', undefined],
    [' 203.0.113.9', undefined],
    ['example.com', undefined],
    ['', undefined],
  ])('%j → %j', (input, canonical) => {
    expect(canonicalIp(input)).toBe(canonical);
  });
});

describe('canonicalIpOrText (DNS record content)', () => {
  it.each([
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    [' 192.0.2.1 ', '192.0.2.1'],
    [' not an ip ', 'not an ip'],
  ])('%j → %j', (input, want) => {
    expect(canonicalIpOrText(input)).toBe(want);
  });
});

describe('unmappedIp (peer gate)', () => {
  it.each([
    ['::FFFF:198.18.0.1', '198.18.0.1'],
    ['::ffff:c612:0001', '198.18.0.1'],
    ['2001:DB8::1', '2001:db8::1'],
    ['198.18.0.1', '198.18.0.1'],
    ['x', undefined],
  ])('%j → %j', (input, want) => {
    expect(unmappedIp(input)).toBe(want);
  });
});

describe('canonicalIp: IPv6 in RFC 5952 form', () => {
  const cases: ReadonlyArray<readonly [string, string]> = [
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'], // tie: first run
    ['2001:db8:0:0:1:0:0:0', '2001:db8:0:0:1::'], // longest run wins
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // a single zero group stays
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['fe80:0:0:0:0:0:0:0', 'fe80::'],
    ['::ffff:192.0.2.1', '::ffff:192.0.2.1'],
    ['::FFFF:c000:0201', '::ffff:192.0.2.1'],
    ['64:ff9b::192.0.2.1', '64:ff9b::c000:201'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ['1:0:0:2:0:0:0:3', '1:0:0:2::3'],
  ];
  it.each(cases)('%s → %s', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });

  it('agrees with the WHATWG URL serialiser on random addresses', () => {
    // Zero-heavy random groups exercise the run selection; the URL parser
    // writes the same RFC 5952 form except for IPv4-mapped addresses.
    let seed = 42;
    const rnd = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let n = 0; n < 2000; n++) {
      const groups = Array.from({ length: 8 }, () => (rnd() < 0.5 ? 0 : Math.floor(rnd() * 0x10000)));
      const text = groups
        .map((g) =>
          g
            .toString(16)
            .padStart(rnd() < 0.5 ? 4 : 1, '0')
            .toUpperCase(),
        )
        .join(':');
      if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) continue;
      const oracle = new URL(`http://[${text}]/`).hostname.slice(1, -1);
      expect(canonicalIp(text), text).toBe(oracle);
    }
  });
});

describe('parseTargetIp', () => {
  it.each([
    ['192.0.2.1', { ip: '192.0.2.1', family: 4 }],
    ['2001:DB8::1', { ip: '2001:db8::1', family: 6 }],
    ['192.0.2.256', 'is not an IPv4 or IPv6 address'],
    ['192.0.2', 'is not an IPv4 or IPv6 address'],
    [' 192.0.2.1', 'is not an IPv4 or IPv6 address'],
    ['example.com', 'is not an IPv4 or IPv6 address'],
  ])('%s → %j', (input, expected) => {
    expect(parseTargetIp(input)).toEqual(expected);
  });
});
