/**
 * `host:port` text: the config's listen and status addresses, the peers, the
 * `status --addr` flag and the gossip layer's listen/dial addresses all
 * parse it here, with one set of rules and one set of messages.
 */
import { isIP } from 'node:net';
import { multiaddr } from '@multiformats/multiaddr';
import { checkDnsName } from './dnsname.js';
import { truncate } from './text.js';

const MAX_PORT = 65535;

export interface HostPort {
  /** IPv4 or IPv6 literal (no brackets) or a DNS name, as written. */
  readonly host: string;
  readonly port: number;
}

/**
 * Splits `host:port` (`[v6]:port` for IPv6); a string result is the reason it
 * is not valid. The host is an IPv4 address, a bracketed IPv6 address or a
 * DNS name. Port 0 ("any free port") only with `allowPortZero`.
 */
export function splitHostPort(text: string, opts: { allowPortZero?: boolean } = {}): HostPort | string {
  let host: string;
  let portText: string;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0 || text[close + 1] !== ':') return 'must be "[IPv6]:port"';
    host = text.slice(1, close);
    portText = text.slice(close + 2);
    if (isIP(host) !== 6) return `"${truncate(host, 40)}" is not an IPv6 address`;
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return 'must be "host:port" (the port is missing)';
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    if (host.includes(':')) return 'an IPv6 address must be in brackets, e.g. "[2001:db8::1]:7946"';
    if (host === '') return 'must be "host:port" (the host is missing)';
    if (isIP(host) !== 4) {
      if (/^[0-9.]+$/.test(host)) return `"${truncate(host, 40)}" is not an IPv4 address`;
      const reason = checkDnsName(host.toLowerCase().replace(/\.$/, ''));
      if (reason) return `host "${truncate(host, 40)}" is not an IP address or a valid DNS name (${reason})`;
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) return `port "${truncate(portText, 20)}" is not a number`;
  const port = Number(portText);
  const min = opts.allowPortZero ? 0 : 1;
  if (port < min || port > MAX_PORT) return `port ${port} is outside ${min}..${MAX_PORT}`;
  return { host, port };
}

/** The kind of a {@link HostPort} host: an IPv4 or IPv6 literal, or a DNS name. */
export function hostKind(host: string): 'ip4' | 'ip6' | 'dns' {
  const family = isIP(host);
  return family === 4 ? 'ip4' : family === 6 ? 'ip6' : 'dns';
}

/** Whether a peer address is written as a multiaddr rather than `host:port`. */
export function isMultiaddrText(text: string): boolean {
  return text.startsWith('/');
}

/**
 * Why `text` is not a peer address (`host:port`, `[IPv6]:port` or a
 * multiaddr); undefined when it is one.
 */
export function checkPeerAddress(text: string): string | undefined {
  if (isMultiaddrText(text)) {
    try {
      multiaddr(text);
      return undefined;
    } catch (err) {
      return `is not a valid multiaddr (${err instanceof Error ? err.message : String(err)})`;
    }
  }
  const hp = splitHostPort(text);
  return typeof hp === 'string' ? `must be "host:port", "[IPv6]:port" or a multiaddr: ${hp}` : undefined;
}
