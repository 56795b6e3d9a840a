import type { Logger } from '../log.js';
import { describeChange } from './plan.js';
import type { Change, DnsProvider, DnsRecord, NewRecord } from './types.js';

/**
 * Dry-run: plans like the real thing, never mutates.
 *
 * `apply` only logs `would remove A test.example.com 203.0.113.7` for each
 * change; the inner provider's `apply` is unreachable from here, so no
 * mutating API call can happen. With credentials, records are read from the
 * real API; without, from a simulated zone that starts with every configured
 * record present and follows the would-be changes (so each is logged once).
 */
export class DryRunProvider implements DnsProvider {
  readonly name: string;
  private readonly reader: Pick<DnsProvider, 'listRecords'>;
  private readonly simulated: SimulatedRecords | undefined;

  constructor(private readonly logger: Logger, inner: DnsProvider | undefined, seed: readonly NewRecord[]) {
    this.name = `dry-run(${inner?.name ?? 'simulated'})`;
    if (inner) {
      this.reader = inner;
    } else {
      this.simulated = new SimulatedRecords(seed);
      this.reader = this.simulated;
    }
  }

  listRecords(names: readonly string[], signal?: AbortSignal): Promise<DnsRecord[]> {
    return this.reader.listRecords(names, signal);
  }

  async apply(changes: readonly Change[]): Promise<void> {
    for (const change of changes) {
      this.logger.info({ action: change.op, type: change.record.type, hostname: change.record.name, ip: change.record.content, dryRun: true }, `would ${describeChange(change)}`);
    }
    this.simulated?.apply(changes);
  }

  /** Records the simulation holds now (undefined when reading a real API). */
  simulatedRecords(): DnsRecord[] | undefined {
    return this.simulated?.all();
  }
}

/** An in-memory zone used by dry-run without credentials. */
class SimulatedRecords {
  private records: DnsRecord[];
  private next = 1;
  constructor(seed: readonly NewRecord[]) {
    this.records = seed.map((r) => ({ ...r, id: `sim-${this.next++}` }));
  }
  async listRecords(names: readonly string[]): Promise<DnsRecord[]> {
    const wanted = new Set(names);
    return this.records.filter((r) => wanted.has(r.name));
  }
  apply(changes: readonly Change[]): void {
    for (const c of changes) {
      if (c.op === 'delete') this.records = this.records.filter((r) => r.id !== c.record.id);
      else this.records.push({ ...c.record, id: `sim-${this.next++}` });
    }
  }
  all(): DnsRecord[] {
    return [...this.records];
  }
}
