import type { WriterStanding } from '../model.js';
import { endedAt, isActive } from './state.js';
import type { DrainEntry } from './types.js';

/**
 * Writer election for the DNS change a drain causes, under the same rule
 * as a verdict's (src/dns/policies.ts writeDelay): one designated writer
 * acts after the settle, every other agent only after grace × (1 + rank),
 * counted from when the change became due (`since`).
 *
 * The writer is the agent that set the entry (its `origin`: the drain's for
 * the removal and for the re-add at its expiry, the undrain's for the
 * re-add after an undrain), while it is connected; otherwise (it left, or
 * a maintenance window, which every agent computes alike) the agent with
 * the lowest id among this one and its connected peers. Ranks order the
 * others by id, so two agents never both step in at the same moment.
 *
 * | entry                          | base (verdict) standing      | standing                                 |
 * |--------------------------------|------------------------------|------------------------------------------|
 * | drain in force                 | any                          | since = at, drain writer                 |
 * | ended (undrain, expiry) at t   | since undefined or ≤ t       | since = t, drain writer                  |
 * | ended at t                     | since > t (verdict changed)  | base: the verdict's writer decides       |
 * | none                           | any                          | base                                     |
 */
export function drainStanding(entry: DrainEntry | undefined, base: WriterStanding, self: string, connected: readonly string[], now: number): WriterStanding {
  if (!entry) return base;
  let since: number;
  if (isActive(entry, now)) since = entry.at;
  else {
    const ended = endedAt(entry, now);
    if (ended === undefined || (base.since !== undefined && base.since > ended)) return base;
    since = ended;
  }
  const ids = [...new Set([self, ...connected])].sort();
  const writer = ids.includes(entry.origin) ? entry.origin : ids[0]!;
  const others = ids.filter((id) => id !== writer);
  return { since, designated: writer === self, rank: Math.max(0, others.indexOf(self)) };
}
