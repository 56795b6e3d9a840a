import { describe, expect, it } from 'vitest';
import { checkPeerAddress, hostKind, splitHostPort } from '../../../src/net/hostport.js';

describe('splitHostPort', () => {
  it.each([
    ['198.51.100.1:7946', { host: '198.51.100.1', port: 7946 }],
    ['[2001:db8::1]:7946', { host: '2001:db8::1', port: 7946 }],
    ['agent-a.example.net:1', { host: 'agent-a.example.net', port: 1 }],
    ['localhost:65535', { host: 'localhost', port: 65535 }],
    ['198.51.100.1', 'port is missing'],
    ['2001:db8::1:7946', 'must be in brackets'],
    ['[2001:db8::1]7946', 'must be "[IPv6]:port"'],
    ['[198.51.100.1]:7946', 'is not an IPv6 address'],
    ['198.51.100:7946', 'is not an IPv4 address'],
    [':7946', 'host is missing'],
    ['198.51.100.1:', 'is not a number'],
    ['198.51.100.1:http', 'is not a number'],
    ['198.51.100.1:0', 'outside 1..65535'],
    ['198.51.100.1:65536', 'outside 1..65535'],
    ['bad_host:7946', 'not an IP address or a valid DNS name'],
  ])('%s → %j', (text, expected) => {
    const r = splitHostPort(text);
    if (typeof expected === 'string') expect(r).toEqual(expect.stringContaining(expected));
    else expect(r).toEqual(expected);
  });

  it('allows port 0 only when asked (a listen address: any free port)', () => {
    expect(splitHostPort('127.0.0.1:0', { allowPortZero: true })).toEqual({ host: '127.0.0.1', port: 0 });
    expect(splitHostPort('127.0.0.1:0')).toBe('port 0 is outside 1..65535');
  });
});

describe('hostKind', () => {
  it.each([
    ['198.51.100.1', 'ip4'],
    ['2001:db8::1', 'ip6'],
    ['agent-a.example.net', 'dns'],
  ])('%s → %s', (host, kind) => {
    expect(hostKind(host)).toBe(kind);
  });
});

describe('checkPeerAddress', () => {
  it.each([
    ['127.0.0.1:4001', undefined],
    ['[::1]:4001', undefined],
    ['/ip4/127.0.0.1/tcp/4001', undefined],
    ['127.0.0.1', 'must be "host:port", "[IPv6]:port" or a multiaddr: must be "host:port" (the port is missing)'],
    ['127.0.0.1:0', 'must be "host:port", "[IPv6]:port" or a multiaddr: port 0 is outside 1..65535'],
    ['/ip4/127.0.0.1/tcpp/4001', expect.stringMatching(/^is not a valid multiaddr \(/)],
  ])('%s → %s', (text, expected) => {
    expect(checkPeerAddress(text)).toEqual(expected);
  });
});
