import type { Verdict } from '../model.js';

/**
 * Standby IPs: published only while too few primaries are up.
 *
 * Pure: the controller passes `now`, the verdicts DNS follows (a drained IP
 * is `down` there) and when each one turned ({@link trackTurns}); it gets
 * back, per standby IP, whether its records should be in DNS, and when to
 * look again for a failback that is not due yet. Counted per hostname (every
 * hostname has the same IPs, so one answer serves them all), over all
 * primaries whatever their family.
 *
 * With P the primaries, `up`/`unknown`/`down` counts of their verdicts, and
 * `steady` the primaries up for at least failback_delay:
 *
 * | primaries                               | standby verdict | presence            |
 * |-----------------------------------------|-----------------|---------------------|
 * | up + unknown < min_active (short)       | up              | in                  |
 * | short                                   | down            | out                 |
 * | short                                   | unknown         | hold (keep what is) |
 * | not short, steady < min_active          | down            | out                 |
 * | not short, steady < min_active          | up or unknown   | hold; look again when steady would reach min_active |
 * | steady ≥ min_active (failback)          | any             | out                 |
 *
 * So an unknown primary (every IP right after a restart) counts as if it
 * were up: only primaries down by verdict bring a standby in. A standby
 * that is in stays in until enough primaries have *stayed* up for
 * failback_delay; one that is out does not come in during that wait either
 * (hold keeps what DNS has). Keep-last (src/dns/plan.ts) still applies to
 * the removals this asks for.
 */
export type Presence = 'in' | 'out' | 'hold';

/** The verdict an IP was last known to have (up or down) and when it turned to it (ms). */
export interface Turn {
  readonly verdict: 'up' | 'down';
  readonly since: number;
}

/**
 * Each IP's last known verdict and when the controller first saw it.
 *
 * | verdict now | remembered          | remembered next      |
 * |-------------|---------------------|----------------------|
 * | up / down   | none, or the other  | that verdict, now    |
 * | up / down   | the same            | unchanged            |
 * | unknown     | any                 | unchanged (a lapse of agreement does not restart the failback clock) |
 * | (IP gone)   | any                 | dropped              |
 */
export function trackTurns(prev: ReadonlyMap<string, Turn>, verdicts: ReadonlyMap<string, Verdict>, now: number): Map<string, Turn> {
  const next = new Map<string, Turn>();
  for (const [ip, v] of verdicts) {
    const p = prev.get(ip);
    if (v === 'unknown') {
      if (p) next.set(ip, p);
    } else next.set(ip, p?.verdict === v ? p : { verdict: v, since: now });
  }
  return next;
}

export interface StandbyInput {
  readonly now: number;
  readonly primaryIps: readonly string[];
  readonly standbyIps: readonly string[];
  readonly minActive: number;
  readonly failbackDelayMs: number;
  /** The verdicts DNS follows; missing = unknown. */
  readonly verdicts: ReadonlyMap<string, Verdict>;
  /** {@link trackTurns} of those verdicts. */
  readonly turns: ReadonlyMap<string, Turn>;
}

/** What made a standby change due, for writer election: the IP whose turn did, and when it became due. */
export interface Trigger {
  readonly ip: string;
  readonly at: number;
}

export interface StandbyDecision {
  /** Per standby IP. */
  readonly presence: ReadonlyMap<string, Presence>;
  /** Fewer than min_active primaries could be up (up + unknown): standbys that are up come in. */
  readonly failover: boolean;
  /** Enough primaries up, but not for failback_delay yet: when the failback is due (ms, absolute), if it can be. */
  readonly failbackAt: number | undefined;
  /** Per standby IP whose presence is in or out, what made it so. */
  readonly triggers: ReadonlyMap<string, Trigger>;
}

export function decideStandby(input: StandbyInput): StandbyDecision {
  const { now, minActive, failbackDelayMs } = input;
  const presence = new Map<string, Presence>();
  const triggers = new Map<string, Trigger>();
  if (input.standbyIps.length === 0) return { presence, failover: false, failbackAt: undefined, triggers };
  const verdictOf = (ip: string): Verdict => input.verdicts.get(ip) ?? 'unknown';
  const sinceOf = (ip: string): number => input.turns.get(ip)?.since ?? now;
  let possible = 0;
  let lastDown: Trigger | undefined;
  const upSince: Array<{ ip: string; since: number }> = [];
  for (const ip of input.primaryIps) {
    const v = verdictOf(ip);
    if (v !== 'down') possible++;
    if (v === 'down' && (!lastDown || sinceOf(ip) > lastDown.at)) lastDown = { ip, at: sinceOf(ip) };
    if (v === 'up') upSince.push({ ip, since: sinceOf(ip) });
  }
  const failover = possible < minActive;
  upSince.sort((a, b) => a.since - b.since || (a.ip < b.ip ? -1 : 1));
  // The min_active-th primary to have come up: failback is due failback_delay after it did.
  const pivot = upSince.length >= minActive ? upSince[minActive - 1] : undefined;
  const dueAt = pivot && pivot.since + failbackDelayMs;
  const failback = !failover && dueAt !== undefined && dueAt <= now;
  for (const ip of input.standbyIps) {
    const v = verdictOf(ip);
    const own: Trigger = { ip, at: sinceOf(ip) };
    if (failback) {
      presence.set(ip, 'out');
      triggers.set(ip, { ip: pivot!.ip, at: dueAt! });
    } else if (v === 'down') {
      presence.set(ip, 'out');
      triggers.set(ip, own);
    } else if (failover && v === 'up') {
      presence.set(ip, 'in');
      triggers.set(ip, lastDown && lastDown.at > own.at ? lastDown : own);
    } else presence.set(ip, 'hold');
  }
  return { presence, failover, failbackAt: failover || failback ? undefined : dueAt, triggers };
}

/**
 * The decision as the planner's verdicts for the standby IPs: in → up
 * (create if missing), out → down (delete), hold → unknown (keep what is).
 */
export function presenceVerdicts(verdicts: ReadonlyMap<string, Verdict>, decision: StandbyDecision): Map<string, Verdict> {
  const out = new Map(verdicts);
  for (const [ip, p] of decision.presence) out.set(ip, p === 'in' ? 'up' : p === 'out' ? 'down' : 'unknown');
  return out;
}
