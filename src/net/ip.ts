import { isIP, isIPv4, isIPv6 } from 'node:net';

/**
 * IP address text and bytes, and the one canonical text form the project
 * compares addresses in: dotted-quad IPv4, RFC 5952 IPv6 (lower case,
 * longest zero run compressed, `::ffff:a.b.c.d` for IPv4-mapped). Used by
 * the gossip codec (observations on the wire) and the ICMP prober (reply
 * sources and the addresses ICMP errors quote).
 */

export type Family = 4 | 6;

export interface ParsedIp {
  readonly family: Family;
  /** IPv4: the address as a uint32. */
  readonly v4: number;
  /** IPv6: the 16 address bytes. */
  readonly v6: Uint8Array | undefined;
}

function parseIpv4(s: string): number | undefined {
  if (!isIPv4(s)) return undefined;
  const parts = s.split('.');
  let n = 0;
  for (const p of parts) n = n * 256 + Number(p);
  return n;
}

function parseIpv6(s: string): Uint8Array | undefined {
  if (!isIPv6(s) || s.includes('%')) return undefined;
  let text = s.toLowerCase();
  const out = new Uint8Array(16);
  // A trailing dotted quad fills the last 4 bytes.
  let tail: number | undefined;
  const lastColon = text.lastIndexOf(':');
  const last = text.slice(lastColon + 1);
  if (last.includes('.')) {
    tail = parseIpv4(last);
    if (tail === undefined) return undefined;
    text = text.slice(0, lastColon + 1) + '0:0';
  }
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const head = halves[0] === '' ? [] : (halves[0] as string).split(':');
  const rest = halves.length === 2 ? (halves[1] === '' ? [] : (halves[1] as string).split(':')) : [];
  const groups: number[] = [];
  if (halves.length === 2) {
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    for (const g of head) groups.push(parseInt(g, 16));
    for (let i = 0; i < fill; i++) groups.push(0);
    for (const g of rest) groups.push(parseInt(g, 16));
  } else {
    for (const g of head) groups.push(parseInt(g, 16));
  }
  if (groups.length !== 8 || groups.some((g) => !Number.isInteger(g) || g < 0 || g > 0xffff)) return undefined;
  groups.forEach((g, i) => {
    out[i * 2] = g >> 8;
    out[i * 2 + 1] = g & 0xff;
  });
  if (tail !== undefined) {
    out[12] = (tail >>> 24) & 0xff;
    out[13] = (tail >>> 16) & 0xff;
    out[14] = (tail >>> 8) & 0xff;
    out[15] = tail & 0xff;
  }
  return out;
}

export function parseIp(s: string): ParsedIp | undefined {
  const v4 = parseIpv4(s);
  if (v4 !== undefined) return { family: 4, v4, v6: undefined };
  const v6 = parseIpv6(s);
  if (v6 !== undefined) return { family: 6, v4: 0, v6 };
  return undefined;
}

export function formatIpv4(n: number): string {
  return `${(n >>> 24) & 0xff}.${(n >>> 16) & 0xff}.${(n >>> 8) & 0xff}.${n & 0xff}`;
}

/** RFC 5952 text of 16 address bytes. */
export function formatIpv6(b: Uint8Array): string {
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push(((b[i * 2] as number) << 8) | (b[i * 2 + 1] as number));
  // IPv4-mapped ::ffff:a.b.c.d (RFC 5952 §5).
  if (groups.slice(0, 5).every((g) => g === 0) && groups[5] === 0xffff) {
    return `::ffff:${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
  }
  // Longest run of ≥ 2 zero groups, the first one on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/**
 * The canonical text of an IP address, the form {@link decodeBatch}
 * returns; `undefined` when `ip` is not an IPv4/IPv6 literal (zone ids are
 * refused). Use it to normalise configured IPs before comparing.
 */
export function canonicalIp(ip: string): string | undefined {
  const p = parseIp(ip);
  if (p === undefined) return undefined;
  return p.family === 4 ? formatIpv4(p.v4) : formatIpv6(p.v6 as Uint8Array);
}

/**
 * {@link canonicalIp} of trimmed text; text that is not an address is
 * returned trimmed, unchanged otherwise (DNS record content that may be
 * anything).
 */
export function canonicalIpOrText(text: string): string {
  const s = text.trim();
  return canonicalIp(s) ?? s;
}

/**
 * The canonical text with IPv4-mapped IPv6 (`::ffff:a.b.c.d`) folded into the
 * IPv4 address, so a peer's socket address compares with its configured
 * IPv4; undefined when `ip` is not an IP literal.
 */
export function unmappedIp(ip: string): string | undefined {
  const c = canonicalIp(ip);
  if (c === undefined) return undefined;
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(c);
  return m ? m[1] : c;
}

/**
 * A configured target address (probed and published in DNS): validated and
 * canonicalised; a string result is the reason it cannot be one. Refused:
 * anything `isIP` refuses (leading zeros, surrounding spaces), the
 * unspecified addresses, zone indexes, and IPv4-mapped IPv6 written with a
 * dotted quad.
 */
export function parseTargetIp(text: string): { ip: string; family: Family } | string {
  const family = isIP(text);
  if (family === 4) {
    if (text === '0.0.0.0') return 'must not be the unspecified address 0.0.0.0 (a ping to it answers from this machine)';
    return { ip: text, family: 4 };
  }
  if (family === 6) {
    if (text.includes('%')) return 'must not carry a zone index (%…): it has no meaning in DNS';
    const ip = canonicalIp(text) as string;
    if (ip === '::') return 'must not be the unspecified address :: (a ping to it answers from this machine)';
    if (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(text)) {
      return 'must not be an IPv4-mapped IPv6 address (::ffff:a.b.c.d): write the IPv4 address itself';
    }
    return { ip, family: 6 };
  }
  return 'is not an IPv4 or IPv6 address';
}

/** The address family of an IP literal (zone index allowed, as node:net reads it); undefined for anything else. */
export function ipFamily(s: string): Family | undefined {
  const f = isIP(s);
  return f === 4 || f === 6 ? f : undefined;
}
