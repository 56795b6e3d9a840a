/**
 * Round phases: agents started together probe in step, so an outage can
 * wait a whole interval before anyone notices it. Each agent starts its
 * rounds at its own offset within the interval, on a grid aligned to the
 * clock (agents' clocks agree to well under a round, as replay protection
 * already requires):
 *
 * | what this agent knows                | offset                                       |
 * |--------------------------------------|----------------------------------------------|
 * | its id only (no peer id learnt yet)  | hash(id) mod interval                        |
 * | the ids of its N − 1 peers           | rank of its id among all N × interval / N    |
 *
 * With the ids known, N agents probe evenly spread: someone probes within
 * interval / N of any moment. Every agent computes the same ranks from the
 * same ids, so the offsets do not collide.
 */

/** FNV-1a over the id's UTF-16 code units: stable across processes and versions. */
export function idHash(id: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** This agent's round offset in ms within `intervalMs` (see the table above). */
export function phaseOffsetMs(selfId: string, peerIds: readonly string[], intervalMs: number): number {
  const ids = [...new Set([selfId, ...peerIds])].sort();
  if (ids.length <= 1) return idHash(selfId) % Math.max(1, Math.round(intervalMs));
  const rank = ids.indexOf(selfId);
  return Math.round((rank * intervalMs) / ids.length);
}

/**
 * When the round after one that started at `lastStart` begins: the first
 * grid point (`offset` + k × interval, in clock ms) at least half an
 * interval after it. On the grid that is exactly one interval later; a
 * change of offset (a peer's id learnt, a reload) moves the phase within
 * one round, never with a gap shorter than half or longer than one and a
 * half intervals.
 */
export function nextRoundAt(lastStart: number, offsetMs: number, intervalMs: number): number {
  const earliest = lastStart + intervalMs / 2;
  const k = Math.ceil((earliest - offsetMs) / intervalMs);
  return offsetMs + k * intervalMs;
}
