import { closeSync, fstatSync, fsyncSync, openSync, readSync, writeSync } from 'node:fs';
import type { AgentEvents, ClusterVerdictEvent, DnsChangeEvent } from '../events.js';
import type { Logger } from '../log.js';
import { appendEntry, headOf, type AuditFields, type AuditKey, type ChainHead } from './chain.js';

/** How much of the file's end is read at start to find the last entry. */
const TAIL_BYTES = 64 * 1024;

export interface AuditLogOptions {
  readonly file: string;
  readonly key: AuditKey;
  readonly logger: Logger;
  /** This agent's id (its peer id, or the host name alone). */
  readonly agentId: () => string;
  readonly provider: string;
  /** Counts entries written and write failures (for /metrics). */
  readonly onWrite?: (ok: boolean) => void;
}

/** One agreeing agent in an audit line: who, and when its vote turned (ISO, the voter's clock; null: not known). */
export interface AuditVote {
  readonly agent: string;
  readonly since: string | null;
}

/** The last cluster verdict of an IP as the audit log keeps it: why a change happened. */
export interface VerdictContext {
  readonly verdict: string;
  readonly agreed: readonly AuditVote[];
  readonly at: number;
}

/** What an audit line says about a cluster verdict: every agreeing agent, with its turn time where known. */
export function verdictContext(e: ClusterVerdictEvent): VerdictContext {
  const turned = new Map((e.turned ?? []).map((t) => [t.agent, t.since]));
  const agreed = e.agreed.map((agent) => {
    const since = turned.get(agent);
    return { agent, since: since !== undefined && Number.isFinite(since) ? new Date(since).toISOString() : null };
  });
  return { verdict: e.to, agreed, at: e.at };
}

/**
 * The fields of one audit line (the chain adds v, seq, keyId, prev, mac).
 * `agreed` lists `{ agent, since }`; lines written before turn times were
 * recorded list bare agent ids. Both verify alike: the mac covers the line
 * as written, whatever it holds.
 */
export function auditFields(e: DnsChangeEvent, v: VerdictContext | undefined, agent: string, provider: string): AuditFields {
  return {
    at: new Date(e.at).toISOString(),
    agent,
    provider,
    dryRun: e.dryRun,
    change: { op: e.op, type: e.type, hostname: e.hostname, ip: e.ip },
    verdict: v?.verdict ?? 'unknown',
    agreed: v?.agreed ?? [],
    verdictAt: v !== undefined ? new Date(v.at).toISOString() : null,
    writer: agent,
    result: e.dryRun ? 'not sent (dry-run)' : 'applied',
  };
}

/**
 * The audit log: every DNS write (or would-be write in dry-run) as one
 * chained, HMAC-signed JSON line (./chain.ts), appended and fsync'd before
 * the next. Why synchronous: a DNS write is rare and the line must be on
 * disk before the agent says it is; the change itself is already made, so a
 * failing disk never holds one back. A write that fails (disk full, file
 * not writable) is logged at error and counted, never thrown.
 */
export class AuditLog implements AgentEvents {
  private head: ChainHead | undefined;
  /** The last cluster verdict per IP, with the agents that agreed and when each vote turned: why a change happened. */
  private readonly verdicts = new Map<string, VerdictContext>();

  constructor(private readonly o: AuditLogOptions) {}

  clusterVerdict(e: ClusterVerdictEvent): void {
    this.verdicts.set(e.ip, verdictContext(e));
  }

  dnsChange(e: DnsChangeEvent): void {
    this.append(auditFields(e, this.verdicts.get(e.ip), this.o.agentId(), this.o.provider));
  }

  private append(fields: AuditFields): void {
    let fd: number | undefined;
    try {
      fd = openSync(this.o.file, 'a+', 0o600);
      if (this.head === undefined) this.head = this.readHead(fd);
      const { line, head } = appendEntry(this.head, this.o.key, fields);
      const buf = Buffer.from(`${line}\n`);
      let off = 0;
      while (off < buf.length) off += writeSync(fd, buf, off);
      fsyncSync(fd);
      this.head = head;
      this.o.onWrite?.(true);
    } catch (err) {
      this.o.onWrite?.(false);
      this.o.logger.error(
        { file: this.o.file, err: err instanceof Error ? err.message : String(err) },
        'could not write the audit log entry (the DNS change itself is made)',
      );
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** The chain head after the file's last line; a last line that is no entry is reported and the chain starts over (verify will flag it). */
  private readHead(fd: number): ChainHead {
    const size = fstatSync(fd).size;
    const len = Math.min(size, TAIL_BYTES);
    const buf = Buffer.alloc(len);
    if (len > 0) readSync(fd, buf, 0, len, size - len);
    // a last line cut mid-write has no newline: end it, so the next entry starts a line of its own
    if (len > 0 && buf[len - 1] !== 0x0a) writeSync(fd, '\n');
    const lines = buf
      .toString('utf8')
      .split('\n')
      .filter((l) => l.trim() !== '');
    const head = headOf(lines[lines.length - 1]);
    if (head !== undefined) return head;
    this.o.logger.error(
      { file: this.o.file },
      'the audit log does not end with an entry (edited or cut?): new entries start a new chain, which `goavail audit verify` will report',
    );
    return { seq: 1, prev: '' };
  }
}
