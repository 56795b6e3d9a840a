import type { TargetState } from '../detect/detector.js';
import type { Episode } from '../detect/recheck.js';
import type { PeerStatus } from '../gossip/types.js';
import type { SelfCheckState, Verdict } from '../model.js';
import type { DnsChangeSettledEvent } from '../events.js';
import type { DrainEntry, DrainSource } from '../drain/types.js';
import { clusterVerdict, type ClusterVerdict, type QuorumState } from '../quorum/quorum.js';

/**
 * The status view model: what `GET /status`, `goavail status` and the
 * metrics read. The observer and the controller hand over plain state
 * ({@link ObserverState}, {@link ControllerState}); {@link agentStatus}
 * turns it into this view, English `why` sentences included. Pure.
 */

/** What the agent last did to DNS, for logs and status. */
export interface DnsActivity {
  readonly at: number;
  readonly ok: boolean;
  readonly changes: readonly string[];
  readonly error?: string;
}

export interface PeerObservation {
  readonly peer: string;
  readonly verdict: Verdict;
  /** How long ago it arrived (ms). */
  readonly ageMs: number;
  /** Whether it still counts (younger than the freshness window). */
  readonly fresh: boolean;
}

export interface TargetStatus {
  readonly ip: string;
  /** This agent's own detector. */
  readonly local: TargetState;
  /** The vote it casts (its verdict, or unknown while the self-check abstains). */
  readonly vote: Verdict;
  /** Each peer's latest observation. */
  readonly peers: readonly PeerObservation[];
  readonly cluster: ClusterVerdict;
  /** hostname → whether DNS held a record for this IP at the last read (undefined: not read yet). */
  readonly inDns: Readonly<Record<string, boolean | undefined>>;
  readonly lastAction: LastAction | undefined;
  /** For an IP out of DNS: why (which agents agreed, since when). */
  readonly why: string | undefined;
  /** https: the certificate seen at the last handshake (expiresAt as ISO 8601); absent for other types. */
  readonly cert?: { readonly expiresAt: string; readonly daysLeft: number; readonly warning: boolean };
  /**
   * While the IP is suspect (a recheck episode is open): what it looks for,
   * why it began, how long ago, the rechecks sent and in flight, and the
   * streak so far (local.misses or local.successes). Absent otherwise.
   */
  readonly suspect?: SuspectView | undefined;
  /** The drain in force on this IP (it counts as down for DNS; `local`, `peers` and `cluster` still show its real health), or null. */
  readonly drained?: DrainedView | null;
}

/** A drain as /status shows it on its IP (times in ms since the epoch, as the rest of /status). */
export interface DrainedView {
  readonly by: string;
  readonly at: number;
  readonly until: number | null;
  readonly reason: string;
  readonly source: DrainSource;
}

/** The drains an agent knows, for the status view. */
export interface DrainsState {
  /** The drains in force now, by IP (operator and maintenance). */
  readonly active: ReadonlyMap<string, DrainEntry>;
  /** Active drains and live tombstones, sorted by IP. */
  readonly list: readonly DrainEntry[];
}

/** https: the certificate a target served at its last handshake. */
export interface CertView {
  /** notAfter, ms since the epoch. */
  readonly expiresAt: number;
  /** Whole days left at that handshake (negative: expired). */
  readonly daysLeft: number;
  /** Expires within cert_min_days: the warning was raised (the check does not fail for it). */
  readonly warning: boolean;
}

export interface SuspectView {
  readonly direction: 'down' | 'up';
  readonly cause: 'suspect' | 'peer' | 'answer';
  readonly sinceMs: number;
  readonly rechecksSent: number;
  readonly inFlight: number;
  readonly streak: number;
}

export interface LastAction {
  readonly summary: string;
  readonly at: number;
}

export interface SelfCheckView {
  readonly state: SelfCheckState;
  readonly since: number | undefined;
  readonly detail: string;
}

export interface AgentStatus {
  readonly id: string;
  readonly dryRun: boolean;
  readonly startedAt: number | undefined;
  readonly configFile: string;
  readonly running: boolean;
  /** Last completed probe round (ms). */
  readonly lastRoundAt: number | undefined;
  readonly intervalMs: number;
  readonly minPeersAgree: number;
  readonly freshnessMs: number;
  readonly selfCheck: SelfCheckView;
  readonly targets: readonly TargetStatus[];
  readonly canaries: ReadonlyArray<{ readonly ip: string; readonly state: TargetState }>;
  readonly peers: readonly PeerStatus[];
  readonly lastReconcile: DnsActivity | undefined;
  readonly consecutiveReconcileFailures: number;
  readonly held: readonly string[];
  /** Route 53: the last change polled to INSYNC (or given up on) and the time it took; absent until one is. */
  readonly lastChangeSettled?: DnsChangeSettledEvent;
  /** Active drains and live tombstones (undrains kept until the drain would have ended), sorted by IP. */
  readonly drains?: readonly DrainEntry[];
}

/** The observer's plain state (probe loop, detectors, self-check, votes, quorum). */
export interface ObserverState {
  readonly id: string;
  readonly lastRoundAt: number | undefined;
  readonly intervalMs: number;
  readonly minPeersAgree: number;
  readonly freshnessMs: number;
  readonly selfCheck: SelfCheckView;
  /** ip → detector, in configured order. */
  readonly targets: ReadonlyMap<string, TargetState>;
  /** ip → the vote last cast. */
  readonly votes: ReadonlyMap<string, Verdict>;
  readonly canaries: ReadonlyMap<string, TargetState>;
  /** https: ip → the certificate seen at its last handshake. */
  readonly certs?: ReadonlyMap<string, CertView>;
  readonly quorum: QuorumState;
  readonly peers: readonly PeerStatus[];
  /** ip → its open recheck episode (src/detect/recheck.ts). */
  readonly rechecks?: ReadonlyMap<string, Episode>;
  /** Rechecks sent since start (extra probes). */
  readonly recheckProbes?: number;
  readonly maxRecheckRate?: number;
}

/** The controller's plain state (what it read from DNS, what it did). */
export interface ControllerState {
  readonly hostnames: readonly string[];
  /** hostname → the IPs its records pointed at, at the last read (undefined: not read yet). */
  readonly lastRead: ReadonlyMap<string, ReadonlySet<string>> | undefined;
  /** ip → the last change made (or, in dry-run, that would have been). */
  readonly lastActions: ReadonlyMap<string, LastAction>;
  readonly lastReconcile: DnsActivity | undefined;
  readonly consecutiveReconcileFailures: number;
  /** Removals held back by the keep-last-record policy, `A www.example.com 203.0.113.7`. */
  readonly held: readonly string[];
}

export interface AgentMeta {
  /** The last written change the provider saw become live (Route 53: INSYNC), and how long it took. */
  readonly lastChangeSettled?: DnsChangeSettledEvent | undefined;
  readonly dryRun: boolean;
  readonly startedAt: number | undefined;
  readonly configFile: string;
  readonly running: boolean;
}

export function agentStatus(meta: AgentMeta, o: ObserverState, c: ControllerState, now: number, drains?: DrainsState): AgentStatus {
  const targets: TargetStatus[] = [...o.targets].map(([ip, local]) => {
    const cluster = clusterVerdict(o.quorum, ip);
    const peers: PeerObservation[] = [];
    for (const [peer, votes] of o.quorum.votes) {
      const v = votes.get(ip);
      if (v) peers.push({ peer, verdict: v.verdict, ageMs: now - v.at, fresh: now - v.at <= o.freshnessMs });
    }
    const inDns: Record<string, boolean | undefined> = {};
    for (const h of c.hostnames) inDns[h] = c.lastRead?.get(h)?.has(ip) ?? (c.lastRead ? false : undefined);
    const d = drains?.active.get(ip);
    const e = o.rechecks?.get(ip);
    const suspect: SuspectView | undefined = e && {
      direction: e.direction,
      cause: e.cause,
      sinceMs: now - e.since,
      rechecksSent: e.sent,
      inFlight: e.inFlight,
      streak: e.direction === 'down' ? local.misses : local.successes,
    };
    const status: TargetStatus = {
      ip,
      local,
      vote: o.votes.get(ip) ?? local.verdict,
      peers,
      cluster,
      inDns,
      lastAction: c.lastActions.get(ip),
      why: whyOut(inDns, cluster, now, d),
      ...(suspect ? { suspect } : {}),
      ...(drains ? { drained: d ? { by: d.by, at: d.at, until: d.until ?? null, reason: d.reason, source: d.source } : null } : {}),
    };
    const cert = o.certs?.get(ip);
    return cert ? { ...status, cert: { expiresAt: new Date(cert.expiresAt).toISOString(), daysLeft: cert.daysLeft, warning: cert.warning } } : status;
  });
  return {
    id: o.id,
    dryRun: meta.dryRun,
    startedAt: meta.startedAt,
    configFile: meta.configFile,
    running: meta.running,
    lastRoundAt: o.lastRoundAt,
    intervalMs: o.intervalMs,
    minPeersAgree: o.minPeersAgree,
    freshnessMs: o.freshnessMs,
    selfCheck: { ...o.selfCheck },
    targets,
    canaries: [...o.canaries].map(([ip, state]) => ({ ip, state })),
    peers: o.peers,
    lastReconcile: c.lastReconcile,
    consecutiveReconcileFailures: c.consecutiveReconcileFailures,
    held: c.held,
    ...(meta.lastChangeSettled ? { lastChangeSettled: meta.lastChangeSettled } : {}),
    ...(drains ? { drains: drains.list } : {}),
  };
}

/**
 * For an IP missing from DNS under some hostname: why.
 *
 * | missing somewhere | cluster verdict | why                                          |
 * |-------------------|-----------------|----------------------------------------------|
 * | no                | any             | undefined                                    |
 * | yes               | down            | down by agreement of …, since …              |
 * | yes               | up              | up: the record will be (re)created …         |
 * | yes               | unknown         | not seen in DNS; verdict unknown …           |
 * | yes, drained      | any             | drained by …, since …, until … (reason)      |
 * | no, drained       | any             | the same; still in DNS (keep-last, or the    |
 * |                   |                 | next reconcile removes it)                   |
 */
export function whyOut(inDns: Readonly<Record<string, boolean | undefined>>, cluster: ClusterVerdict, now: number, drained?: DrainEntry): string | undefined {
  const out = Object.values(inDns).some((v) => v === false);
  if (drained) {
    const who = drained.source === 'maintenance' ? 'a maintenance window' : drained.by || drained.origin;
    const until = drained.until === undefined ? 'until undrained' : `until ${new Date(drained.until).toISOString()}`;
    const line = `drained by ${who} since ${new Date(drained.at).toISOString()}, ${until}${drained.reason ? ` (${drained.reason})` : ''}`;
    const read = Object.values(inDns).some((v) => v !== undefined);
    return out || !read ? line : `${line}; still in DNS (keep-last keeps the last record, or the next reconcile removes it)`;
  }
  if (!out) return undefined;
  if (cluster.verdict === 'down') return `down by agreement of ${cluster.agreed.join(', ')} since ${new Date(cluster.since ?? now).toISOString()}`;
  if (cluster.verdict === 'up') return 'up: the record will be (re)created on the next reconcile';
  return 'not seen in DNS; verdict unknown so goavail leaves it as it is';
}
