import type { Change } from './types.js';

/**
 * Changes per batch request by default: the size external-dns sends
 * Cloudflare (`defaultBatchChangeSize = 200`); larger batches are refused
 * or time out on big zones.
 */
export const DEFAULT_BATCH_CHANGES = 200;

/**
 * A plan split into requests of at most `max` changes.
 *
 * Why groups: one request is one transaction, two requests are not. If the
 * create of `www A 192.0.2.2` went in one request and the delete of
 * `www A 192.0.2.1` in another, a failure between them could leave the name
 * with a record too many or — with the order reversed — none at all. So the
 * unit of splitting is the (name, type) group: every change of one group goes
 * in the same request, whatever its size.
 *
 * | rule                                           | why                                          |
 * |------------------------------------------------|----------------------------------------------|
 * | a (name, type) group is never split            | each name changes in one transaction         |
 * | groups keep the order of their first change    | the plan's order is the order sent           |
 * | groups are packed in order while ≤ max fit     | few requests, no reordering to fill gaps     |
 * | a group larger than max goes alone, whole      | over the limit beats a name without records  |
 * | within a request, creates come before deletes  | applied one by one, a name never goes empty  |
 */
export function splitChanges(changes: readonly Change[], max: number = DEFAULT_BATCH_CHANGES): Change[][] {
  const limit = Math.max(1, Math.floor(max));
  const groups = new Map<string, Change[]>();
  for (const c of changes) {
    const key = `${c.record.type} ${c.record.name}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = []));
    g.push(c);
  }
  const requests: Change[][] = [];
  let current: Change[] = [];
  for (const g of groups.values()) {
    if (current.length > 0 && current.length + g.length > limit) {
      requests.push(current);
      current = [];
    }
    current.push(...g);
  }
  if (current.length > 0) requests.push(current);
  return requests.map((r) => [...r.filter((c) => c.op === 'create'), ...r.filter((c) => c.op === 'delete')]);
}
