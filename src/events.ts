import type { DnsErrorKind, RecordType, SelfCheckState, Verdict } from './model.js';
import type { ProbeResult } from './probe/types.js';

/**
 * What happens inside the agent, for whoever watches: metrics, notifications,
 * logs. Every hook is optional and must not throw or block (the agent calls
 * them inline; a slow consumer queues its own work).
 */
export interface AgentEvents {
  probeRound?(results: readonly ProbeResult[], at: number): void;
  localVerdict?(e: VerdictEvent): void;
  clusterVerdict?(e: ClusterVerdictEvent): void;
  /** A DNS change applied (or, in dry-run, one that would have been). */
  dnsChange?(e: DnsChangeEvent): void;
  /** One DNS API call through the provider seam. */
  dnsCall?(e: DnsCallEvent): void;
  reconcile?(e: ReconcileEvent): void;
  configReload?(e: { ok: boolean; error?: string; at: number }): void;
  selfCheck?(e: SelfCheckEvent): void;
  /** The set of removals held back by keep-last changed (it may now be empty). */
  heldRemovals?(e: HeldRemovalsEvent): void;
}

/** A record keep-last did not remove although its IP is down: every IP of its name looks down. */
export interface HeldRecord {
  readonly type: RecordType;
  readonly hostname: string;
  readonly ip: string;
}

export interface HeldRemovalsEvent {
  /** Every removal held back now, sorted; empty when none is any more. */
  readonly held: readonly HeldRecord[];
  readonly at: number;
}

export interface VerdictEvent {
  readonly ip: string;
  readonly from: Verdict;
  readonly to: Verdict;
  readonly at: number;
}

export interface ClusterVerdictEvent extends VerdictEvent {
  /** Agents whose agreement made the verdict (this one included). */
  readonly agreed: readonly string[];
}

export interface DnsChangeEvent {
  readonly op: 'create' | 'delete';
  readonly type: RecordType;
  readonly hostname: string;
  readonly ip: string;
  readonly dryRun: boolean;
  /** `remove A www.example.com 203.0.113.7` */
  readonly summary: string;
  readonly at: number;
}

export interface DnsCallEvent {
  readonly op: 'list' | 'apply';
  /** 'ok' or the error kind. */
  readonly result: 'ok' | DnsErrorKind | 'error';
  readonly durationMs: number;
}

export interface ReconcileEvent {
  readonly ok: boolean;
  readonly durationMs: number;
  readonly changes: number;
  readonly consecutiveFailures: number;
  readonly error?: string;
  readonly at: number;
}

export type { SelfCheckState } from './model.js';

export interface SelfCheckEvent {
  readonly from: SelfCheckState;
  readonly to: SelfCheckState;
  readonly detail: string;
  readonly at: number;
}

/** Calls every sink's hook; a throwing sink is isolated from the others and from the agent. */
export function fanOut(sinks: readonly AgentEvents[], onError: (err: unknown) => void = () => undefined): AgentEvents {
  const call = <K extends keyof AgentEvents>(key: K) =>
    ((e: unknown, at?: unknown) => {
      for (const s of sinks) {
        const fn = s[key] as ((a: unknown, b?: unknown) => void) | undefined;
        if (!fn) continue;
        try {
          fn.call(s, e, at);
        } catch (err) {
          onError(err);
        }
      }
    }) as NonNullable<AgentEvents[K]>;
  return {
    probeRound: call('probeRound'),
    localVerdict: call('localVerdict'),
    clusterVerdict: call('clusterVerdict'),
    dnsChange: call('dnsChange'),
    dnsCall: call('dnsCall'),
    reconcile: call('reconcile'),
    configReload: call('configReload'),
    selfCheck: call('selfCheck'),
    heldRemovals: call('heldRemovals'),
  };
}
