import type { Change, DnsProvider, DnsRecord, NewRecord } from '../../src/dns/types.js';

/** An in-memory DnsProvider that records every call and can fail on demand. */
export class FakeDns implements DnsProvider {
  readonly name = 'fake';
  records: DnsRecord[] = [];
  readonly applied: Change[][] = [];
  listCalls = 0;
  /** Errors thrown by the next calls, in order. */
  readonly failNext: Error[] = [];
  private next = 1;

  constructor(seed: readonly NewRecord[] = []) {
    for (const r of seed) this.add(r);
  }

  add(r: NewRecord): DnsRecord {
    const rec = { ...r, id: `fake-${this.next++}` };
    this.records.push(rec);
    return rec;
  }

  contents(name: string): string[] {
    return this.records
      .filter((r) => r.name === name)
      .map((r) => r.content)
      .sort();
  }

  async listRecords(names: readonly string[]): Promise<DnsRecord[]> {
    this.listCalls += 1;
    const err = this.failNext.shift();
    if (err) throw err;
    return this.records.filter((r) => names.includes(r.name)).map((r) => ({ ...r }));
  }

  async apply(changes: readonly Change[]): Promise<void> {
    const err = this.failNext.shift();
    if (err) throw err;
    this.applied.push([...changes]);
    for (const c of changes) {
      if (c.op === 'delete') {
        if (!this.records.some((r) => r.id === c.record.id)) throw new Error(`no record ${c.record.id}`);
        this.records = this.records.filter((r) => r.id !== c.record.id);
      } else {
        this.add(c.record);
      }
    }
  }
}
