import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonicalIPv6, normaliseIp as configIp } from '../../../src/config/validate.js';
import { normaliseIp as cloudflareIp } from '../../../src/dns/cloudflare.js';
import { canonicalIp as gossipIp } from '../../../src/gossip/codec.js';

/**
 * Three places turn IP text into a canonical form: the config (what is
 * managed), the Cloudflare provider (record content) and the gossip codec
 * (observations). A record or a vote only matches a configured IP if all
 * three agree, so this checks they do.
 */
function fromConfig(ip: string): string | undefined {
  const r = configIp(ip);
  return typeof r === 'object' ? r.ip : undefined;
}

function randomV6(): string {
  const b = randomBytes(16);
  // runs of zero groups, so compression is exercised
  const zeroFrom = b[0]! % 8;
  const zeroLen = b[1]! % 5;
  const groups: string[] = [];
  for (let g = 0; g < 8; g++) {
    const v = g >= zeroFrom && g < zeroFrom + zeroLen ? 0 : b.readUInt16BE(g * 2);
    groups.push(v.toString(16).padStart(b[g]! % 2 ? 4 : 1, '0'));
  }
  const text = groups.join(':');
  return b[15]! % 2 ? text.toUpperCase() : text;
}

describe('canonical IP forms agree (config, Cloudflare, gossip)', () => {
  it.each([
    ['2001:DB8::1', '2001:db8::1'],
    ['2001:db8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['::1', '::1'],
    ['fe80::', 'fe80::'],
    ['203.0.113.9', '203.0.113.9'],
  ])('%s → %s', (input, canonical) => {
    expect(fromConfig(input)).toBe(canonical);
    expect(cloudflareIp(input)).toBe(canonical);
    expect(gossipIp(input)).toBe(canonical);
  });

  it('on 2,000 random IPv6 addresses', () => {
    for (let i = 0; i < 2000; i++) {
      const ip = randomV6();
      const c = canonicalIPv6(ip);
      expect(cloudflareIp(ip), ip).toBe(c);
      expect(gossipIp(ip), ip).toBe(c);
    }
  });
});
