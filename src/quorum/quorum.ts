import type { Observation, Verdict } from '../model.js';

/**
 * Cluster agreement over the agents' latest observations.
 *
 * A pure state machine: `step(state, event, now, opts)` returns the next
 * state and the cluster verdicts that changed. One vote per agent (its
 * latest observation of the IP); a vote older than `freshnessMs` does not
 * count; an agent that left has no votes.
 *
 * | own verdict | fresh peer votes agreeing      | cluster verdict becomes |
 * |-------------|--------------------------------|-------------------------|
 * | down        | >= minPeersAgree say down      | down                    |
 * | up          | >= minPeersAgree say up        | up                      |
 * | any other case (unknown, or too few agree)   | unchanged (sticky)      |
 *
 * So a partitioned agent that alone sees an IP down never takes it out,
 * an agent that restarts is `unknown` (it changes nothing) until its own
 * detector and its peers agree again, and `minPeersAgree = 0` is the
 * single-node behaviour.
 */
export interface QuorumOptions {
  readonly minPeersAgree: number;
  /** A peer's vote counts for this long after it was received. */
  readonly freshnessMs: number;
}

export interface Vote {
  readonly verdict: Verdict;
  /** When it was last received (this agent's clock): freshness. */
  readonly at: number;
  /**
   * When the voter's vote turned to this verdict, as the voter reports it
   * (its clock; 0 = long ago or not said): writer order.
   */
  readonly since: number;
}

export interface ClusterVerdict {
  readonly verdict: Verdict;
  /** When the cluster verdict last changed; undefined while unknown. */
  readonly since: number | undefined;
  /** Agents (this one is `self`) whose agreement made the verdict, sorted. */
  readonly agreed: readonly string[];
}

export interface QuorumState {
  /** This agent's id (its libp2p peer id, or a fixed name in single node). */
  readonly self: string;
  /** The managed IPs; observations of other IPs are ignored. */
  readonly ips: ReadonlySet<string>;
  /** This agent's own votes (`at` and `since`: when it cast the current one). */
  readonly local: ReadonlyMap<string, Vote>;
  /** peer → ip → latest vote. */
  readonly votes: ReadonlyMap<string, ReadonlyMap<string, Vote>>;
  readonly cluster: ReadonlyMap<string, ClusterVerdict>;
}

export type QuorumEvent =
  /** This agent's own verdict for an IP. */
  | { readonly type: 'local'; readonly ip: string; readonly verdict: Verdict }
  /** Several of this agent's own votes at once (one probe round): one copy of the state, not one per IP. */
  | { readonly type: 'locals'; readonly votes: ReadonlyArray<{ readonly ip: string; readonly verdict: Verdict }> }
  /** A peer's observations; `full` replaces all its votes, otherwise they are merged. */
  | {
      readonly type: 'observations';
      readonly peer: string;
      readonly observations: readonly Observation[];
      readonly full: boolean;
      /** The sender's send time: for a change, when the peer's vote turned (it publishes at once). */
      readonly sentAt?: number;
    }
  /** A peer left (disconnected): its votes no longer count. */
  | { readonly type: 'peer-left'; readonly peer: string }
  /** Time passed: votes may have gone stale. */
  | { readonly type: 'tick' }
  /** The managed IPs changed (config reload). */
  | { readonly type: 'targets'; readonly ips: readonly string[] };

/**
 * One agreeing agent and when its vote turned to the verdict: the voter's
 * `since` (its own clock, clamped to this agent's now; `self`'s is this
 * agent's clock). undefined: not known (a peer's vote that turned long ago,
 * learnt from a full batch, or never said when).
 */
export interface AgreedVote {
  readonly agent: string;
  readonly since: number | undefined;
}

export interface VerdictChange {
  readonly ip: string;
  readonly from: Verdict;
  readonly to: Verdict;
  readonly agreed: readonly string[];
  /** The agents of `agreed`, in the same order, each with when its vote turned: the audit log's record of why. */
  readonly turned: readonly AgreedVote[];
}

export interface QuorumStep {
  readonly state: QuorumState;
  readonly changes: readonly VerdictChange[];
}

const UNKNOWN: ClusterVerdict = Object.freeze({ verdict: 'unknown', since: undefined, agreed: [] });

export function initialQuorum(self: string, ips: readonly string[]): QuorumState {
  return { self, ips: new Set(ips), local: new Map(), votes: new Map(), cluster: new Map() };
}

export function clusterVerdict(state: QuorumState, ip: string): ClusterVerdict {
  return state.cluster.get(ip) ?? UNKNOWN;
}

/** Peers whose fresh vote on `ip` is `verdict`, sorted. */
function agreeingPeers(state: QuorumState, ip: string, verdict: Verdict, now: number, freshnessMs: number): string[] {
  const out: string[] = [];
  for (const [peer, votes] of state.votes) {
    const v = votes.get(ip);
    if (v && v.verdict === verdict && now - v.at <= freshnessMs && v.at <= now + freshnessMs) out.push(peer);
  }
  return out.sort();
}

function evaluate(state: QuorumState, ip: string, now: number, opts: QuorumOptions): ClusterVerdict | undefined {
  const own = state.local.get(ip)?.verdict ?? 'unknown';
  if (own === 'unknown') return undefined;
  const peers = agreeingPeers(state, ip, own, now, opts.freshnessMs);
  if (peers.length < opts.minPeersAgree) return undefined;
  return { verdict: own, since: now, agreed: [state.self, ...peers].sort() };
}

/** When `agent`'s current vote on `ip` turned; 0 (long ago or not said) is unknown. */
function agreedVote(state: QuorumState, ip: string, agent: string): AgreedVote {
  const vote = agent === state.self ? state.local.get(ip) : state.votes.get(agent)?.get(ip);
  return { agent, since: vote !== undefined && vote.since > 0 ? vote.since : undefined };
}

function reevaluate(state: QuorumState, ips: Iterable<string>, now: number, opts: QuorumOptions): QuorumStep {
  let cluster: Map<string, ClusterVerdict> | undefined;
  const changes: VerdictChange[] = [];
  for (const ip of ips) {
    if (!state.ips.has(ip)) continue;
    const current = clusterVerdict(state, ip);
    const next = evaluate(state, ip, now, opts);
    if (!next || next.verdict === current.verdict) continue;
    cluster ??= new Map(state.cluster);
    cluster.set(ip, next);
    changes.push({ ip, from: current.verdict, to: next.verdict, agreed: next.agreed, turned: next.agreed.map((agent) => agreedVote(state, ip, agent)) });
  }
  return { state: cluster ? { ...state, cluster } : state, changes };
}

export function step(state: QuorumState, event: QuorumEvent, now: number, opts: QuorumOptions): QuorumStep {
  switch (event.type) {
    case 'local':
      return step(state, { type: 'locals', votes: [{ ip: event.ip, verdict: event.verdict }] }, now, opts);
    case 'locals': {
      const votes = event.votes.filter((v) => state.ips.has(v.ip));
      if (votes.length === 0) return { state, changes: [] };
      const local = new Map(state.local);
      for (const v of votes) {
        const prev = state.local.get(v.ip);
        local.set(v.ip, { verdict: v.verdict, at: now, since: prev?.verdict === v.verdict ? prev.since : now });
      }
      return reevaluate(
        { ...state, local },
        votes.map((v) => v.ip),
        now,
        opts,
      );
    }
    case 'observations': {
      if (event.peer === state.self) return { state, changes: [] };
      const before = state.votes.get(event.peer);
      const mine = new Map<string, Vote>(event.full || !before ? [] : before);
      for (const o of event.observations) {
        if (!state.ips.has(o.ip)) continue;
        const prev = before?.get(o.ip);
        // Order votes by when they turned at the sender, not when they arrived
        // here, so agents that turn within the gossip delay still agree on
        // the order (a sender clock ahead of ours is clamped to now). A change
        // batch turned at its send time; a full batch says when, for a recent
        // turn, and otherwise it turned long ago (0).
        const turned = Math.min(o.turnedAt ?? (event.full ? 0 : (event.sentAt ?? now)), now);
        mine.set(o.ip, { verdict: o.verdict, at: now, since: prev?.verdict === o.verdict ? prev.since : turned });
      }
      const votes = new Map(state.votes);
      votes.set(event.peer, mine);
      return reevaluate({ ...state, votes }, state.ips, now, opts);
    }
    case 'peer-left': {
      if (!state.votes.has(event.peer)) return { state, changes: [] };
      const votes = new Map(state.votes);
      votes.delete(event.peer);
      return reevaluate({ ...state, votes }, state.ips, now, opts);
    }
    case 'tick':
      return reevaluate(state, state.ips, now, opts);
    case 'targets': {
      const ips = new Set(event.ips);
      const keep = <V>(m: ReadonlyMap<string, V>): Map<string, V> => new Map([...m].filter(([ip]) => ips.has(ip)));
      const votes = new Map([...state.votes].map(([peer, v]) => [peer, keep(v)] as const));
      return reevaluate({ ...state, ips, local: keep(state.local), cluster: keep(state.cluster), votes }, ips, now, opts);
    }
  }
}

/**
 * The verdict DNS may act on now: this agent's own vote, when at least
 * `minPeersAgree` fresh peer votes agree with it; otherwise unknown (hold:
 * keep whatever DNS has). Unlike the sticky cluster verdict, it never acts on
 * an agreement that has gone stale, so two agents that disagree cannot undo
 * each other's writes.
 */
export function supportedVerdict(state: QuorumState, ip: string, now: number, opts: QuorumOptions): Verdict {
  const own = state.local.get(ip)?.verdict ?? 'unknown';
  if (own === 'unknown') return 'unknown';
  return agreeingPeers(state, ip, own, now, opts.freshnessMs).length >= opts.minPeersAgree ? own : 'unknown';
}

/**
 * This agent's rank (0-based, by id) among the agents that agree with its
 * vote on `ip`. Non-writers wait `grace × (1 + rank)`, so if two ever both
 * believe the other is the writer they do not both write at the same moment.
 */
export function agreeingRank(state: QuorumState, ip: string, now: number, opts: QuorumOptions): number {
  const own = state.local.get(ip);
  if (!own || own.verdict === 'unknown') return 0;
  return agreeingPeers(state, ip, own.verdict, now, opts.freshnessMs).filter((p) => p < state.self).length;
}

/**
 * A turn time as writer election compares it: turns older than the
 * freshness window all count as "long ago" (0, ties broken by id). Full
 * batches carry only recent turn times, so this is the resolution at which
 * every agent knows every other agent's turn, and all of them compute the
 * same order: after a healed partition each side learns the other's old
 * turn from a full batch, and both agree on one writer instead of each
 * waiting for the other.
 */
function turnKey(since: number, now: number, opts: QuorumOptions): number {
  return since < now - opts.freshnessMs ? 0 : since;
}

/**
 * One writer: the agent that completed the quorum writes DNS.
 *
 * The agents whose fresh vote agrees with this agent's are ordered by when
 * their vote turned to this verdict (ties by id); the one at position
 * `minPeersAgree` is the first that could see agreement, so it acts at
 * once. The others see the same order (votes reach everyone within
 * milliseconds, while detectors flip an interval apart) and leave the
 * change to it; they write only once it has been pending longer than a
 * grace period (the caller's rule), so a dead writer delays a change, never
 * loses it. If two agents ever both write, reconciliation keeps DNS right.
 *
 * | agent | vote turned down at | order | minPeersAgree = 1 → writer |
 * |-------|---------------------|-------|----------------------------|
 * | c     | t = 0.0 s           | 0     |                            |
 * | b     | t = 0.4 s           | 1     | b (it completed the quorum)|
 * | a     | t = 0.9 s           | 2     |                            |
 *
 * Turn times older than the freshness window compare equal ({@link turnKey}).
 */
export function isDesignatedWriter(state: QuorumState, ip: string, now: number, opts: QuorumOptions): boolean {
  const own = state.local.get(ip);
  if (!own || own.verdict === 'unknown') return false;
  if (supportedVerdict(state, ip, now, opts) !== own.verdict) return false;
  const voters: Array<{ id: string; since: number }> = [{ id: state.self, since: turnKey(own.since, now, opts) }];
  for (const peer of agreeingPeers(state, ip, own.verdict, now, opts.freshnessMs)) {
    voters.push({ id: peer, since: turnKey(state.votes.get(peer)!.get(ip)!.since, now, opts) });
  }
  voters.sort((x, y) => x.since - y.since || (x.id < y.id ? -1 : x.id > y.id ? 1 : 0));
  const writer = voters[Math.min(opts.minPeersAgree, voters.length - 1)];
  return writer?.id === state.self;
}
