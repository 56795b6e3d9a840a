import type { Applied, Change, DnsProvider, DnsRecord, NewRecord } from './types.js';

/**
 * Dry-run: plans like the real thing, never mutates.
 *
 * `apply` makes no change and says so ({@link Applied} `dryRun`); the
 * controller logs each one as `would remove A test.example.com 203.0.113.7`.
 * The inner provider's `apply` is unreachable from here, so no mutating API
 * call can happen. With credentials, records are read from the real API
 * (which the would-be changes do not touch: `listed` false); without, from a
 * simulated zone that starts with every configured record present and
 * follows the would-be changes (`listed` true, so each is reported once).
 */
export class DryRunProvider implements DnsProvider {
  readonly name: string;
  private readonly reader: Pick<DnsProvider, 'listRecords'>;
  private readonly simulated: SimulatedRecords | undefined;

  constructor(inner: DnsProvider | undefined, seed: readonly NewRecord[]) {
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

  async apply(changes: readonly Change[]): Promise<Applied> {
    this.simulated?.apply(changes);
    return { dryRun: true, listed: this.simulated !== undefined };
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
