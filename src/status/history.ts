import type { AgentEvents, ClusterVerdictEvent, DnsChangeEvent, DrainChangeEvent, HeldRemovalsEvent, SelfCheckEvent, VerdictEvent } from '../events.js';
import type { ProbeResult } from '../probe/types.js';
import { Ring } from './ring.js';

/**
 * The recent history behind the status page and `GET /events`: what
 * changed (verdicts, DNS writes, held removals, self-check, reloads) and
 * each IP's last round-trip times. One more event sink beside Metrics and
 * the Notifier; bounded in memory whatever the uptime:
 *
 * | what        | kept                          | cost                                       |
 * |-------------|-------------------------------|--------------------------------------------|
 * | events      | the last {@link EVENT_CAPACITY} | a ring of small objects                  |
 * | RTT samples | the last {@link RTT_ROUNDS} probe rounds | one Float32Array per IP (240 B), one shared array of round times |
 *
 * Probe rounds probe every target at once, so the round times are kept once
 * and each IP keeps only its RTTs (2.4 MB at 10,000 targets). An IP absent
 * from a whole window of rounds (removed by a reload) is forgotten.
 */

/** Events kept (oldest dropped first). */
export const EVENT_CAPACITY = 200;
/** Probe rounds of RTT kept: 2 minutes at the default 2 s interval, 5 at 5 s. */
export const RTT_ROUNDS = 60;

export type HistoryKind = 'local-verdict' | 'cluster-verdict' | 'dns-change' | 'held' | 'self-check' | 'reload' | 'drain';

/** One entry of `GET /events`. `text` is an English sentence, shown as it is. */
export interface HistoryEvent {
  /** 1, 2, 3… in order of arrival (a gap at the start means older ones were dropped). */
  readonly seq: number;
  readonly at: number;
  readonly kind: HistoryKind;
  /** The IP it is about, when it is about one. */
  readonly ip?: string;
  readonly text: string;
}

/** One RTT sample: `[at, ms]`, ms `null` for a miss. Rounds without an observation (a local error) are left out. */
export type RttSample = readonly [number, number | null];

/** What `GET /events` returns. */
export interface HistoryDocument {
  readonly now: number;
  /** Oldest first, at most {@link EVENT_CAPACITY}. */
  readonly events: readonly HistoryEvent[];
  /** Events dropped from the ring so far. */
  readonly dropped: number;
  /** ip → its samples over the last {@link RTT_ROUNDS} rounds, oldest first. */
  readonly rtt: Readonly<Record<string, readonly RttSample[]>>;
}

/** Float32 encodings of the RTT arrays: a value >= 0 is an RTT in ms. */
const MISS = -1;
const NOT_PROBED = Number.NaN;

interface IpRtts {
  readonly ms: Float32Array;
  /** The last round this IP was seen in. */
  last: number;
}

export class History implements AgentEvents {
  private readonly ring: Ring<HistoryEvent>;
  private seq = 0;
  private readonly roundTimes: Float64Array;
  private rounds = 0;
  private readonly rtts = new Map<string, IpRtts>();

  constructor(private readonly opts: { readonly capacity?: number; readonly rttRounds?: number } = {}) {
    this.ring = new Ring(opts.capacity ?? EVENT_CAPACITY);
    this.roundTimes = new Float64Array(opts.rttRounds ?? RTT_ROUNDS);
  }

  private add(at: number, kind: HistoryKind, text: string, ip?: string): void {
    this.seq += 1;
    this.ring.push(ip === undefined ? { seq: this.seq, at, kind, text } : { seq: this.seq, at, kind, ip, text });
  }

  probeRound(results: readonly ProbeResult[], at: number): void {
    const n = this.roundTimes.length;
    const round = this.rounds;
    const slot = round % n;
    this.roundTimes[slot] = at;
    for (const r of results) {
      let e = this.rtts.get(r.ip);
      if (!e) {
        e = { ms: new Float32Array(n).fill(NOT_PROBED), last: round };
        this.rtts.set(r.ip, e);
      }
      e.last = round;
      e.ms[slot] = r.ok ? Math.max(0, r.rttMs ?? 0) : r.local !== undefined ? NOT_PROBED : MISS;
    }
    for (const [ip, e] of this.rtts) {
      if (e.last === round) continue;
      if (round - e.last >= n) this.rtts.delete(ip);
      else e.ms[slot] = NOT_PROBED;
    }
    this.rounds += 1;
  }

  localVerdict(e: VerdictEvent): void {
    this.add(e.at, 'local-verdict', `local verdict: ${e.ip} ${e.from} → ${e.to}`, e.ip);
  }

  clusterVerdict(e: ClusterVerdictEvent): void {
    const by = e.agreed.length > 0 ? ` (agreed: ${e.agreed.join(', ')})` : '';
    this.add(e.at, 'cluster-verdict', `cluster verdict: ${e.ip} ${e.from} → ${e.to}${by}`, e.ip);
  }

  dnsChange(e: DnsChangeEvent): void {
    this.add(e.at, 'dns-change', e.dryRun ? `would ${e.summary} (dry-run)` : e.summary, e.ip);
  }

  heldRemovals(e: HeldRemovalsEvent): void {
    this.add(
      e.at,
      'held',
      e.held.length === 0
        ? 'no removal is held back any more'
        : `removal held back (last record of a hostname is never removed): ${e.held.map((h) => `${h.type} ${h.hostname} ${h.ip}`).join('; ')}`,
    );
  }

  drainChange(e: DrainChangeEvent): void {
    const d = e.entry;
    const by = d.by ? ` by ${d.by}` : '';
    const heard = e.local ? '' : ` (set on ${d.origin})`;
    let text: string;
    if (e.change === 'expired') text = `drain of ${d.ip} ended (its time was up)`;
    else if (e.change === 'undrained') text = `undrained ${d.ip}${by}${heard}`;
    else {
      const until = d.until === undefined ? 'until undrained' : `until ${new Date(d.until).toISOString()}`;
      text = `drained ${d.ip}${by} ${until}${d.reason ? `: ${d.reason}` : ''}${heard}`;
    }
    this.add(e.at, 'drain', text, d.ip);
  }

  selfCheck(e: SelfCheckEvent): void {
    this.add(e.at, 'self-check', `self-check: ${e.from} → ${e.to} (${e.detail})`);
  }

  configReload(e: { ok: boolean; error?: string; at: number }): void {
    this.add(e.at, 'reload', e.ok ? 'config reloaded' : `config reload failed, still on the previous config: ${e.error ?? 'unknown error'}`);
  }

  /** The `GET /events` document. */
  document(now: number): HistoryDocument {
    const n = this.roundTimes.length;
    const first = Math.max(0, this.rounds - n);
    const rtt: Record<string, RttSample[]> = {};
    for (const [ip, e] of this.rtts) {
      const samples: RttSample[] = [];
      for (let k = first; k < this.rounds; k++) {
        const v = e.ms[k % n]!;
        if (Number.isNaN(v)) continue;
        samples.push([this.roundTimes[k % n]!, v === MISS ? null : Math.round(v * 1000) / 1000]);
      }
      rtt[ip] = samples;
    }
    return { now, events: this.ring.items(), dropped: this.ring.dropped, rtt };
  }
}
