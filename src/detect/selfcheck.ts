import type { SelfCheckState, Verdict } from '../model.js';

/**
 * Observer self-check: is this agent's own view trustworthy?
 *
 * An agent whose own network is failing sees everything down; its down
 * votes must not count as evidence. Pure: verdicts in, state out.
 *
 * | condition                                                        | state            |
 * |------------------------------------------------------------------|------------------|
 * | the last round had targets but not one observation (EMFILE...)   | no-observations  |
 * | canaries configured and every one of them is down                | canaries-failing |
 * | >= freezeMinTargets IPs and more than freezeShare of them down   | too-many-down    |
 * | otherwise                                                        | healthy          |
 *
 * While not healthy, the agent's down votes become abstentions (unknown):
 * a real outage seen by other, healthy agents still fails over.
 *
 * no-observations: when no probe of a round could be sent (this host ran
 * out of file descriptors, buffers, memory or ports: see
 * src/probe/local.ts), the verdicts are only as fresh as the last round
 * that could probe. The detector keeps them as they were; the agent stops
 * voting down on them until probes go out again (the first round with one
 * observation ends it).
 */
export interface SelfCheckInput {
  readonly targets: readonly Verdict[];
  readonly canaries: readonly Verdict[];
  readonly freezeMinTargets: number;
  readonly freezeShare: number;
  /**
   * Set when the last probe round had targets and not one observation: the
   * reasons (`EMFILE`, `EMFILE, ENOBUFS`, `round-failed`). Undefined otherwise.
   */
  readonly noObservation?: string;
}

export interface SelfCheckResult {
  readonly state: SelfCheckState;
  readonly detail: string;
}

export function selfCheck(input: SelfCheckInput): SelfCheckResult {
  const { canaries, targets } = input;
  if (input.noObservation !== undefined) {
    return { state: 'no-observations', detail: `no probe could be sent: ${input.noObservation}` };
  }
  if (canaries.length > 0 && canaries.every((v) => v === 'down')) {
    return { state: 'canaries-failing', detail: `all ${canaries.length} canaries are down: this agent's own network looks broken` };
  }
  const down = targets.filter((v) => v === 'down').length;
  if (targets.length >= input.freezeMinTargets && down / targets.length > input.freezeShare) {
    return { state: 'too-many-down', detail: `${down} of ${targets.length} IPs look down at once (more than ${Math.round(input.freezeShare * 100)}%)` };
  }
  return { state: 'healthy', detail: canaries.length > 0 ? 'canaries reachable' : 'ok' };
}

/** The vote this agent casts: its verdict, except that a sick observer abstains instead of voting down. */
export function effectiveVote(verdict: Verdict, state: SelfCheckState): Verdict {
  return verdict === 'down' && state !== 'healthy' ? 'unknown' : verdict;
}
