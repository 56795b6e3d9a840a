/**
 * Who uses which part of 198.18.0.0/15 (the lab range, blackholed first: see
 * ./netns.ts): one entry per test file or bench scenario, so parallel files
 * never share a namespace name, a link name or a /24. A file takes its entry
 * from here (`createNsLab({ ...LABS['e2e/cluster'], count: 3 })`,
 * `labSubnet(LABS['e2e/status'].subnetIndex)`); a new one adds a row.
 * test/unit/support/labs.test.ts checks that rows never collide and that
 * every name fits Linux's 15 characters.
 *
 * `prefix` names the namespaces and links (`<prefix>-<k>`, `<prefix>h<k>`,
 * `<prefix>n<k>`); a row without one only takes addresses of its /24
 * (blackholed, never answering) and creates no namespace.
 */
export interface LabSlot {
  /** 1..8 of [a-z0-9]. */
  readonly prefix?: string;
  /** The /24 inside 198.18.0.0/15 (0..511), see `labSubnet`. */
  readonly subnetIndex: number;
}

export const LABS = {
  'e2e/single-node': { prefix: 'gae', subnetIndex: 11 },
  'e2e/cluster': { prefix: 'gcl', subnetIndex: 21 },
  'e2e/route53': { prefix: 'gr5', subnetIndex: 41 },
  'e2e/route53-cluster': { prefix: 'gr5c', subnetIndex: 42 },
  /** IPv4 and IPv6 (2001:db8:47::/48) on each host. */
  'e2e/ipv6': { prefix: 'gv6', subnetIndex: 71 },
  /** HTTP(S) servers inside the namespaces, one behaviour per host. */
  'e2e/http': { prefix: 'ght', subnetIndex: 51 },
  'e2e/recheck': { prefix: 'grk', subnetIndex: 61 },
  /** The control endpoint reached from a namespace (non-loopback), and the drain cluster. */
  'e2e/control': { prefix: 'gct', subnetIndex: 111 },
  /** The status page in a real browser. */
  'e2e/page': { prefix: 'gpg', subnetIndex: 81 },
  /** Two primaries and a standby. */
  'e2e/standby': { prefix: 'gsb', subnetIndex: 91 },
  /** Canaries and a dead target that nobody holds. */
  'e2e/operations': { subnetIndex: 131 },
  /** A dead target that nobody holds. */
  'e2e/status': { subnetIndex: 137 },
  /** A dead target that nobody holds. */
  'e2e/audit': { subnetIndex: 139 },
  'bench/latency': { prefix: 'gbl', subnetIndex: 300 },
  'bench/gossip': { prefix: 'gbg', subnetIndex: 301 },
  'bench/latency-route53': { prefix: 'gbr', subnetIndex: 303 },
  'bench/http': { prefix: 'gbh', subnetIndex: 302 },
  'bench/failover': { prefix: 'gbf', subnetIndex: 304 },
  'bench/loss': { prefix: 'gbo', subnetIndex: 305 },
  /** One namespace holding 250 addresses of the /24 (not createNsLab's /30s); host 0's names. */
  'bench/dead': { prefix: 'gbd', subnetIndex: 316 },
  'probe/icmp': { prefix: 'upicmp', subnetIndex: 500 },
  'probe/tcp': { prefix: 'uptcp', subnetIndex: 501 },
  /** A silent host (link down) for connect timeouts, and the blackhole. */
  'probe/http': { prefix: 'uphttp', subnetIndex: 506 },
  /** A /24 put on probe/icmp's first host link: addresses on-link that nobody answers for. */
  'probe/icmp on-link': { subnetIndex: 502 },
  'probe/netns': { prefix: 'upns', subnetIndex: 503 },
  'probe/netns leftovers': { prefix: 'upnl', subnetIndex: 504 },
  'probe/netns listener': { prefix: 'upnt', subnetIndex: 505 },
} as const satisfies Record<string, LabSlot>;

export type LabName = keyof typeof LABS;
