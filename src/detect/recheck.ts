/**
 * Rapid rechecks: when an IP's verdict may be about to change, probe it
 * every `recheck_interval` instead of once per `interval`, so the streak
 * that decides reaches the threshold in a fraction of a round.
 *
 * Why: a miss is only known when `timeout` expires, so counting the
 * threshold at the round rate costs `threshold × interval` (6 s with the
 * shipped 2 s × 3). An episode starts when the outcome that would begin a
 * streak is *suspected* (a reply `suspect_after` overdue, a peer's suspect
 * message, a down IP that answers) and sends its probes pipelined: one does
 * not wait for the previous one's timeout. The detector still counts every
 * result in send order; this module only decides when to send.
 *
 * A pure state machine with time passed in (no timers, no I/O):
 *
 * | event                         | episode of the IP                        | effect                                  |
 * |-------------------------------|------------------------------------------|-----------------------------------------|
 * | begin(ip, direction)          | none → open, next send now               | none (a later `due` sends)              |
 * | begin(ip, direction)          | open                                     | none (one episode per IP)               |
 * | due(now)                      | open, next ≤ now, in flight < max, token | send; next += recheck; in flight + 1    |
 * | due(now)                      | no token left (global cap)               | wait; counted as capped                 |
 * | answered(ip, ok) against dir. | open                                     | stops sending; closes when none in flight |
 * | answered(ip, ok) along dir.   | open                                     | in flight − 1                           |
 * | begin with the round in flight| none → open, in flight 1, sent 1         | the suspect round probe counts          |
 * | sent ≥ maxSends               | open                                     | stops sending; closes when none in flight |
 * | end(ip)                       | open                                     | closed (the detector reached a verdict) |
 *
 * `direction` is what the episode looks for: `down` (misses, from up or
 * unknown) or `up` (successes, from down). An outcome against it means the
 * streak is broken (the detector will see it in send order), so sending
 * more is waste.
 *
 * Bounds: at most `maxInFlight` rechecks of one IP are in flight, an
 * episode sends at most `maxSends`, and every recheck takes a token from
 * one bucket refilled at `maxPerSecond` (burst: one second's worth), so
 * 10,000 flapping targets or loss everywhere cost at most that many extra
 * probes per second.
 */

export type RecheckDirection = 'down' | 'up';

/** Why an episode began (status and logs). */
export type RecheckCause = 'suspect' | 'peer' | 'answer';

export interface RecheckOptions {
  /** Time between two rechecks of one IP (`recheck_interval`); 0 turns rechecks off. */
  readonly recheckIntervalMs: number;
  /** Rechecks of one IP in flight at once. */
  readonly maxInFlight: number;
  /** Rechecks one episode sends at most. */
  readonly maxSends: number;
  /** Global cap on rechecks per second (`max_recheck_rate`). */
  readonly maxPerSecond: number;
}

export interface Episode {
  readonly direction: RecheckDirection;
  readonly cause: RecheckCause;
  readonly since: number;
  /** When the next recheck may go. */
  readonly nextAt: number;
  readonly inFlight: number;
  readonly sent: number;
  /** An outcome against the direction arrived, or maxSends was reached: no more sends. */
  readonly stopping: boolean;
  /** The round's probe that made the IP suspect is still in flight (counted in inFlight and sent). */
  readonly roundInFlight: boolean;
}

export interface RecheckState {
  readonly episodes: ReadonlyMap<string, Episode>;
  /** Tokens in the global bucket at `tokensAt`. */
  readonly tokens: number;
  readonly tokensAt: number;
}

export function initialRechecks(now: number, opts: RecheckOptions): RecheckState {
  return { episodes: new Map(), tokens: opts.maxPerSecond, tokensAt: now };
}

export function rechecksEnabled(opts: RecheckOptions): boolean {
  return opts.recheckIntervalMs > 0;
}

/**
 * Opens an episode for `ip` unless one is open (or rechecks are off). Its
 * first recheck goes `recheck_interval` after the IP's last probe
 * (`lastSentAt`, any kind) at the earliest, so consecutive probes of an IP
 * are never closer than that while it is rechecked (the round skips IPs
 * with an open episode): see {@link shortestFailingOutageMs}.
 */
export function begin(
  state: RecheckState,
  ip: string,
  direction: RecheckDirection,
  cause: RecheckCause,
  now: number,
  opts: RecheckOptions,
  lastSentAt?: number,
  roundInFlight = false,
): RecheckState {
  if (!rechecksEnabled(opts) || state.episodes.has(ip)) return state;
  const episodes = new Map(state.episodes);
  const nextAt = lastSentAt === undefined ? now : Math.max(now, lastSentAt + opts.recheckIntervalMs);
  // A suspect round probe is the episode's first probe: it counts against both bounds.
  const n = roundInFlight ? 1 : 0;
  episodes.set(ip, { direction, cause, since: now, nextAt, inFlight: n, sent: n, stopping: false, roundInFlight });
  return { ...state, episodes };
}

export interface DueResult {
  readonly state: RecheckState;
  /** IPs to probe now (one recheck each). */
  readonly send: readonly string[];
  /** Rechecks that were due but held back by the global cap. */
  readonly capped: number;
  /** When `due` should run next; undefined when no episode can send. */
  readonly wakeAt: number | undefined;
}

/** The rechecks to send at `now`, longest waiting first (so the global cap starves no one). */
export function due(state: RecheckState, now: number, opts: RecheckOptions): DueResult {
  const refill = Math.max(0, now - state.tokensAt) * (opts.maxPerSecond / 1000);
  let tokens = Math.min(opts.maxPerSecond, state.tokens + refill);
  const send: string[] = [];
  let capped = 0;
  let wakeAt: number | undefined;
  const wake = (at: number): void => {
    wakeAt = wakeAt === undefined ? at : Math.min(wakeAt, at);
  };
  // Only the episodes that may send now are sorted, and the map is copied
  // only when one does: `due` runs after every answer that belongs to an
  // episode, and a copy and sort of every episode each time was most of
  // what the observer allocated at 10,000 targets.
  const ready: Array<readonly [string, Episode]> = [];
  for (const entry of state.episodes) {
    const e = entry[1];
    if (e.stopping || e.inFlight >= opts.maxInFlight) continue; // an answer (or the timeout) wakes it
    if (e.nextAt > now) wake(e.nextAt);
    else ready.push(entry);
  }
  ready.sort((a, b) => a[1].nextAt - b[1].nextAt);
  let episodes: Map<string, Episode> | undefined;
  for (const [ip, e] of ready) {
    if (tokens < 1) {
      capped++;
      wake(now + Math.ceil((1 - tokens) / (opts.maxPerSecond / 1000)));
      continue;
    }
    tokens -= 1;
    const sent = e.sent + 1;
    const next: Episode = { ...e, sent, inFlight: e.inFlight + 1, nextAt: now + opts.recheckIntervalMs, stopping: sent >= opts.maxSends };
    // (a sent episode cannot be at maxSends yet: `stopping` was checked above)
    (episodes ??= new Map(state.episodes)).set(ip, next);
    send.push(ip);
    if (!next.stopping && next.inFlight < opts.maxInFlight) wake(next.nextAt);
  }
  return { state: { episodes: episodes ?? state.episodes, tokens, tokensAt: now }, send, capped, wakeAt };
}

/**
 * An outcome of a probe of `ip` arrived: a recheck's (`recheck`: its slot
 * is freed) or the round's. One against the episode's direction stops it.
 */
export function answered(state: RecheckState, ip: string, ok: boolean, recheck: boolean): RecheckState {
  const e = state.episodes.get(ip);
  if (!e) return state;
  const freed = recheck || e.roundInFlight;
  const inFlight = freed ? Math.max(0, e.inFlight - 1) : e.inFlight;
  const roundInFlight = recheck ? e.roundInFlight : false;
  const against = e.direction === 'down' ? ok : !ok;
  const stopping = e.stopping || against;
  const episodes = new Map(state.episodes);
  if (stopping && inFlight === 0) episodes.delete(ip);
  else episodes.set(ip, { ...e, inFlight, stopping, roundInFlight });
  return { ...state, episodes };
}

/** A probe was not sent after all (no observation): its slot is freed, nothing is learnt. */
export function unsent(state: RecheckState, ip: string): RecheckState {
  const e = state.episodes.get(ip);
  if (!e) return state;
  const episodes = new Map(state.episodes);
  const inFlight = Math.max(0, e.inFlight - 1);
  if (e.stopping && inFlight === 0) episodes.delete(ip);
  else episodes.set(ip, { ...e, inFlight });
  return { ...state, episodes };
}

/** Closes the episode of `ip` (its verdict changed, or it was removed). */
export function end(state: RecheckState, ip: string): RecheckState {
  if (!state.episodes.has(ip)) return state;
  const episodes = new Map(state.episodes);
  episodes.delete(ip);
  return { ...state, episodes };
}

/** Keeps only the episodes of `ips` (a reload removed the others); all of them go when rechecks are turned off. */
export function retain(state: RecheckState, ips: ReadonlySet<string>, opts: RecheckOptions): RecheckState {
  const keep = rechecksEnabled(opts);
  const episodes = new Map([...state.episodes].filter(([ip]) => keep && ips.has(ip)));
  return { ...state, episodes, tokens: Math.min(state.tokens, opts.maxPerSecond) };
}

/**
 * How overdue a reply must be before its IP is suspect: a few times the
 * IP's last RTT, at least `suspectAfterMs`, always below the timeout (a
 * probe that is suspect only at its timeout is just a miss).
 */
const SUSPECT_RTT_FACTOR = 4;

export function suspectDelayMs(lastRttMs: number | undefined, suspectAfterMs: number, timeoutMs: number): number {
  const adaptive = lastRttMs === undefined ? 0 : Math.ceil(SUSPECT_RTT_FACTOR * lastRttMs);
  return Math.min(Math.max(suspectAfterMs, adaptive), Math.max(1, timeoutMs - 1));
}

/**
 * The shortest total outage that can make an agent count
 * `failureThreshold` misses in a row, whatever its phase: the streak's
 * probes must all find the IP silent, and no two consecutive probes of one
 * IP are closer than `recheck_interval` (an episode's first recheck waits
 * that long after the IP's last probe, later ones are that far apart, and
 * rounds skip IPs being rechecked), so the streak spans at least
 * (threshold − 1) × recheck_interval. Without rechecks the probes are a
 * round apart: (threshold − 1) × interval. Every agent of a cluster obeys
 * the same bound, so a shorter blip never changes DNS.
 */
export function shortestFailingOutageMs(c: { readonly failureThreshold: number; readonly intervalMs: number; readonly recheckIntervalMs: number }): number {
  const gaps = c.failureThreshold - 1;
  if (gaps <= 0) return 0;
  return gaps * (c.recheckIntervalMs > 0 ? Math.min(c.recheckIntervalMs, c.intervalMs) : c.intervalMs);
}

/** The trade-off in one sentence, from {@link shortestFailingOutageMs} (check-config and the start-up log say it). */
export function failoverSentence(c: { readonly failureThreshold: number; readonly intervalMs: number; readonly recheckIntervalMs: number }): string {
  const s = shortestFailingOutageMs(c) / 1000;
  const how = c.recheckIntervalMs > 0 ? '(failure_threshold − 1) × recheck_interval' : '(failure_threshold − 1) × interval, rechecks off';
  return `failover: an IP silent for longer than ${s} s can be taken out of DNS; blips up to ${s} s never change DNS (${how})`;
}
