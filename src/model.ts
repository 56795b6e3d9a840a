/**
 * The words every stage shares: a leaf module (it imports nothing), so
 * probe, detect, gossip, quorum, dns, status and the agent can all name
 * them without importing one another.
 */

/**
 * What an agent (or the cluster) believes about one IP. A start-up agent is
 * `unknown` until a threshold is reached; DNS is never changed for an
 * unknown IP.
 */
export type Verdict = 'unknown' | 'up' | 'down';

/**
 * The observer self-check: while not healthy, this agent's down votes are
 * abstentions. no-observations: the last round could send no probe at all
 * (EMFILE...: see src/detect/selfcheck.ts).
 */
export type SelfCheckState = 'healthy' | 'no-observations' | 'canaries-failing' | 'too-many-down';

/** What a probe asks (the config's `type`): ICMP echo, a TCP connect, or an HTTP(S) request. */
export type ProbeType = 'ip' | 'tcp' | 'http' | 'https';

/** A/AAAA only: goavail never looks at other record types. */
export type RecordType = 'A' | 'AAAA';

/** Why a DNS call failed (see DnsError in src/dns/types.ts). */
export type DnsErrorKind = 'auth' | 'rate-limit' | 'server' | 'timeout' | 'network' | 'not-found' | 'conflict' | 'bad-request' | 'bad-response';

/** One agent's local verdict on one IP. */
export interface Observation {
  readonly ip: string;
  readonly verdict: Verdict;
  /**
   * When the sender's vote turned to this verdict (its clock, ms), for
   * writer election. Absent in a change batch: the vote turned at `sentAt`.
   * In a full batch the sender gives it only for a recent turn (within the
   * freshness window); absent there means "turned long ago". So a receiver
   * that missed the change message (a partition, a restart) still orders
   * the vote as the sender does.
   */
  readonly turnedAt?: number;
}

/** An opaque timer handle from a {@link Scheduler}. */
export type TimerHandle = unknown;

/**
 * Time, injected: the observer and the controller read the clock and set
 * timers only through this, so tests drive them with fake timers or a
 * hand-made scheduler, and nothing in the pipeline calls setTimeout itself.
 */
export interface Scheduler {
  now(): number;
  setTimer(fn: () => void, ms: number): TimerHandle;
  clearTimer(handle: TimerHandle | undefined): void;
}

/** Where this agent stands for writing one IP's records (writer election's input, from quorum). */
export interface WriterStanding {
  /** When the cluster verdict last changed; undefined while unknown. */
  readonly since: number | undefined;
  /** Whether this agent completed the quorum (src/quorum/quorum.ts isDesignatedWriter). */
  readonly designated: boolean;
  /** This agent's rank (0-based, by id) among the agents that agree (agreeingRank). */
  readonly rank: number;
}
