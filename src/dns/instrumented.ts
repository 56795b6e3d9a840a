import type { AgentEvents } from '../events.js';
import { DnsError, type Applied, type Change, type DnsProvider, type DnsRecord } from './types.js';

/** Reports every call through the DNS seam (operation, result, duration) to the agent's events. */
export class InstrumentedProvider implements DnsProvider {
  readonly name: string;
  constructor(
    private readonly inner: DnsProvider,
    private readonly events: AgentEvents,
    private readonly now: () => number = Date.now,
  ) {
    this.name = inner.name;
  }

  listRecords(names: readonly string[], signal?: AbortSignal): Promise<DnsRecord[]> {
    return this.time('list', () => this.inner.listRecords(names, signal));
  }

  apply(changes: readonly Change[], signal?: AbortSignal): Promise<Applied | void> {
    return this.time('apply', () => this.inner.apply(changes, signal));
  }

  private async time<T>(op: 'list' | 'apply', fn: () => Promise<T>): Promise<T> {
    const t0 = this.now();
    try {
      const v = await fn();
      this.events.dnsCall?.({ op, result: 'ok', durationMs: this.now() - t0 });
      return v;
    } catch (err) {
      this.events.dnsCall?.({ op, result: err instanceof DnsError ? err.kind : 'error', durationMs: this.now() - t0 });
      throw err;
    }
  }
}
