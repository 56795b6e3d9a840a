import type { DrainEntry } from './drain/types.js';
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
  /** A written change the provider follows until it is live everywhere (Route 53: GetChange until INSYNC). */
  dnsChangeSettled?(e: DnsChangeSettledEvent): void;
  reconcile?(e: ReconcileEvent): void;
  configReload?(e: { ok: boolean; error?: string; at: number }): void;
  selfCheck?(e: SelfCheckEvent): void;
  /** Rapid rechecks sent (extra probes) or held back by the global cap. */
  recheck?(e: { readonly sent: number; readonly capped: number; readonly at: number; readonly limit?: number }): void;
  /** An https target's certificate now expires within `cert_min_days` (a warning: the check does not fail for it). */
  certExpiry?(e: CertExpiryEvent): void;
  /** The set of removals held back by keep-last changed (it may now be empty). */
  heldRemovals?(e: HeldRemovalsEvent): void;
  /** A drain was set, undone or ended (here, or heard from a peer). */
  drainChange?(e: DrainChangeEvent): void;
}

export interface DrainChangeEvent {
  readonly entry: DrainEntry;
  /** drained / undrained: the entry was set (`local`: by this agent's control endpoint); expired: its `until` passed. */
  readonly change: 'drained' | 'undrained' | 'expired';
  readonly local: boolean;
  readonly at: number;
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
  /** Local verdicts: when the first probe of the streak that made it was sent. */
  readonly streakStartedAt?: number;
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

export interface DnsChangeSettledEvent {
  readonly changeId: string;
  /** INSYNC, or unknown when polling gave up. */
  readonly status: 'INSYNC' | 'unknown';
  /** From the write's answer to INSYNC (or to giving up). */
  readonly ms: number;
  readonly at: number;
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

export interface CertExpiryEvent {
  readonly ip: string;
  /** The name the certificate was asked for (`[HTTP] host`). */
  readonly host: string;
  /** The certificate's notAfter (ms since the epoch). */
  readonly expiresAt: number;
  /** Whole days left (negative: expired, seen with tls_verify = false). */
  readonly daysLeft: number;
  /** `cert_min_days`. */
  readonly minDays: number;
  readonly at: number;
}

/** Calls every sink's hook; a throwing sink is isolated from the others and from the agent. */
/** Every hook, once: a hook added to AgentEvents and missing here does not compile, so fanOut never drops one. */
const HOOKS = {
  probeRound: true,
  localVerdict: true,
  clusterVerdict: true,
  dnsChange: true,
  dnsCall: true,
  dnsChangeSettled: true,
  reconcile: true,
  configReload: true,
  selfCheck: true,
  recheck: true,
  certExpiry: true,
  heldRemovals: true,
  drainChange: true,
} as const satisfies Record<keyof AgentEvents, true>;

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
  const out: AgentEvents = {};
  for (const key of Object.keys(HOOKS) as Array<keyof AgentEvents>) (out as Record<string, unknown>)[key] = call(key);
  return out;
}
