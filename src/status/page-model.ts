import type { HistoryDocument, RttSample } from './history.js';
import { ago, formatDuration, formatRtt, shortId, type StatusDocument } from './render.js';

/**
 * The status page's view of `/status` and `/events`: plain strings and
 * tones, ready to be put in the DOM with `textContent`. Pure, and shipped
 * to the browser as it is: src/status/page.ts embeds these functions'
 * source (`fn.toString()`) in the page, so the code tested here is the
 * code the browser runs. Hence the rules for this file: each function uses
 * only its arguments, the other functions listed in page.ts and the
 * standard library — no module constants, no imports at run time.
 *
 * Fields that have no value yet arrive as `null` in the JSON: read them
 * with `== null`.
 */

/** good (green), bad (red), warn (amber), muted (grey): the page colours by it. */
export type Tone = 'good' | 'bad' | 'warn' | 'muted';

export interface PageView {
  readonly title: string;
  /** Short facts about the agent, one chip each. */
  readonly head: readonly string[];
  /** Something an operator must see first (not running, reconcile failing), or null. */
  readonly alert: string | null;
  readonly selfCheck: { readonly text: string; readonly tone: Tone };
  readonly lastReconcile: { readonly text: string; readonly tone: Tone };
  readonly held: string | null;
  readonly ips: readonly IpCard[];
  readonly peers: { readonly summary: string; readonly rows: readonly PeerRow[] };
  readonly events: readonly EventRow[];
}

export interface IpCard {
  readonly ip: string;
  /** `A record target`, `AAAA record target`, `canary (self-check only)`. */
  readonly role: string;
  readonly local: { readonly verdict: string; readonly tone: Tone; readonly streak: string };
  /** Differs from the local verdict while the self-check abstains. */
  readonly vote: string | null;
  readonly rtt: string;
  readonly spark: Spark;
  readonly peerVotes: readonly { readonly peer: string; readonly verdict: string; readonly age: string; readonly tone: Tone }[];
  readonly cluster: { readonly verdict: string; readonly tone: Tone; readonly since: string } | null;
  readonly dns: readonly { readonly host: string; readonly text: string; readonly tone: Tone }[];
  readonly why: string | null;
  readonly lastAction: string | null;
}

/** An RTT sparkline in a `width` × `height` box: `points` for an SVG polyline, `misses` the x of each miss. */
export interface Spark {
  readonly points: string;
  readonly misses: readonly number[];
  /** `12 samples, max 0.31 ms`, or `no samples yet`. */
  readonly label: string;
}

export interface PeerRow {
  readonly id: string;
  readonly addr: string;
  readonly state: string;
  readonly tone: Tone;
  readonly lastHeard: string;
}

export interface EventRow {
  /** `05:31:02Z`. */
  readonly time: string;
  readonly ago: string;
  readonly kind: string;
  readonly text: string;
  readonly tone: Tone;
}

export function verdictTone(v: string | null | undefined): Tone {
  return v === 'up' ? 'good' : v === 'down' ? 'bad' : 'muted';
}

/** 1_700_000_000_000 → `22:13:20Z` (UTC: the same on every reader's screen). */
export function clockTime(at: number): string {
  return `${new Date(at).toISOString().slice(11, 19)}Z`;
}

/** `3 misses`, `1 miss`, `12 ok`, `no probe yet`. */
export function streak(misses: number, successes: number): string {
  if (misses > 0) return misses === 1 ? '1 miss' : `${misses} misses`;
  if (successes > 0) return `${successes} ok`;
  return 'no probe yet';
}

/**
 * The sparkline: samples spread evenly across `width` (oldest left), RTT
 * scaled to the largest (top = max). A miss draws no point and is marked.
 */
export function spark(samples: readonly RttSample[] | null | undefined, width: number, height: number): Spark {
  const s = samples ?? [];
  const oks = s.map((x) => x[1]).filter((v): v is number => v != null);
  const max = oks.length > 0 ? Math.max(...oks) : 0;
  const step = s.length > 1 ? width / (s.length - 1) : 0;
  const pts: string[] = [];
  const misses: number[] = [];
  s.forEach((x, i) => {
    const px = Math.round(i * step * 10) / 10;
    if (x[1] == null) misses.push(px);
    else pts.push(`${px},${Math.round((height - (max > 0 ? (x[1] / max) * (height - 2) : 0) - 1) * 10) / 10}`);
  });
  const missText = misses.length > 0 ? `, ${misses.length} missed` : '';
  const label = s.length === 0 ? 'no samples yet' : `${s.length} samples, max ${oks.length > 0 ? formatRtt(max) : '-'}${missText}`;
  return { points: pts.join(' '), misses, label };
}

export function dnsState(host: string, v: boolean | null | undefined): { host: string; text: string; tone: Tone } {
  if (v === true) return { host, text: 'in DNS', tone: 'good' };
  if (v === false) return { host, text: 'not in DNS', tone: 'bad' };
  return { host, text: 'not read yet', tone: 'muted' };
}

/** The whole page from one `/status` and (when it answered) one `/events`. */
export function pageView(doc: StatusDocument, hist: HistoryDocument | null): PageView {
  const now = doc.now;
  const head = [
    `agent ${shortId(doc.id)}`,
    doc.dryRun ? 'dry-run' : 'live (changes DNS)',
    doc.running ? `running ${doc.startedAt == null ? '' : formatDuration(now - doc.startedAt)}`.trimEnd() : 'NOT RUNNING',
    `last round ${ago(now, doc.lastRoundAt)}`,
    `interval ${formatDuration(doc.intervalMs).replace(/\.0s$/, 's')}`,
    `min_peers_agree ${doc.minPeersAgree}`,
  ];
  const sc = doc.selfCheck;
  const selfCheck = {
    text: `${sc.state}${sc.since == null ? '' : ` since ${ago(now, sc.since)}`} (${sc.detail})`,
    tone: (sc.state === 'healthy' ? 'good' : 'bad') as Tone,
  };
  const r = doc.lastReconcile;
  const lastReconcile =
    r == null
      ? { text: 'not yet', tone: 'muted' as Tone }
      : r.ok
        ? {
            text: `ok ${ago(now, r.at)}, ${r.changes.length === 0 ? 'no change' : `${r.changes.length} change(s): ${r.changes.join('; ')}`}`,
            tone: 'good' as Tone,
          }
        : {
            text: `FAILED ${ago(now, r.at)} (${doc.consecutiveReconcileFailures} in a row): ${r.error ?? 'unknown error'}`,
            tone: 'bad' as Tone,
          };
  const alert = !doc.running ? 'the agent is not running' : r != null && !r.ok ? `DNS reconcile failing: ${r.error ?? 'unknown error'}` : null;
  const rtt = hist?.rtt ?? {};

  const ips: IpCard[] = doc.targets.map((t) => ({
    ip: t.ip,
    role: `${t.ip.includes(':') ? 'AAAA' : 'A'} record target`,
    local: { verdict: t.local.verdict, tone: verdictTone(t.local.verdict), streak: streak(t.local.misses, t.local.successes) },
    vote: t.vote !== t.local.verdict ? t.vote : null,
    rtt: formatRtt(t.local.lastRttMs),
    spark: spark(rtt[t.ip], 120, 24),
    peerVotes: t.peers.map((p) => ({
      peer: shortId(p.peer),
      verdict: p.verdict,
      age: `${formatDuration(p.ageMs)} ago${p.fresh ? '' : ' (stale)'}`,
      tone: p.fresh ? verdictTone(p.verdict) : 'muted',
    })),
    cluster: {
      verdict: t.cluster.verdict,
      tone: verdictTone(t.cluster.verdict),
      since: t.cluster.since == null ? '' : `since ${clockTime(t.cluster.since)} (${formatDuration(now - t.cluster.since)})`,
    },
    dns: Object.keys(t.inDns).map((h) => dnsState(h, t.inDns[h])),
    why: t.why ?? null,
    lastAction: t.lastAction == null ? null : `${t.lastAction.summary} (${ago(now, t.lastAction.at)})`,
  }));
  for (const c of doc.canaries) {
    if (doc.targets.some((t) => t.ip === c.ip)) continue;
    ips.push({
      ip: c.ip,
      role: 'canary (self-check only)',
      local: { verdict: c.state.verdict, tone: verdictTone(c.state.verdict), streak: streak(c.state.misses, c.state.successes) },
      vote: null,
      rtt: formatRtt(c.state.lastRttMs),
      spark: spark(rtt[c.ip], 120, 24),
      peerVotes: [],
      cluster: null,
      dns: [],
      why: null,
      lastAction: null,
    });
  }

  const connected = doc.peers.filter((p) => p.connected).length;
  const peers = {
    summary: doc.peers.length === 0 ? 'none (single node)' : `${connected}/${doc.peers.length} connected`,
    rows: doc.peers.map((p) => ({
      id: shortId(p.id),
      addr: p.addr,
      state: p.connected ? 'connected' : 'not connected',
      tone: (p.connected ? 'good' : 'bad') as Tone,
      lastHeard: p.lastHeard == null ? 'never heard' : `heard ${ago(now, p.lastHeard)}`,
    })),
  };

  const kinds: Record<string, string> = {
    'local-verdict': 'local',
    'cluster-verdict': 'cluster',
    'dns-change': 'DNS',
    held: 'held',
    'self-check': 'self-check',
    reload: 'reload',
    drain: 'drain',
  };
  const events = (hist?.events ?? [])
    .slice()
    .reverse()
    .map((e) => ({
      time: clockTime(e.at),
      ago: ago(now, e.at),
      kind: kinds[e.kind] ?? e.kind,
      text: e.text,
      tone: eventTone(e.kind, e.text),
    }));

  return {
    title: `goavail · ${shortId(doc.id)}`,
    head,
    alert,
    selfCheck,
    lastReconcile,
    held: doc.held.length > 0 ? doc.held.join('; ') : null,
    ips,
    peers,
    events,
  };
}

/** Newest events first; removals, holds and failures in red, restores in green. */
export function eventTone(kind: string, text: string): Tone {
  if (kind === 'held') return text.startsWith('no removal') ? 'good' : 'bad';
  if (kind === 'reload') return text.startsWith('config reload failed') ? 'bad' : 'muted';
  if (kind === 'dns-change') return /\bremove\b/.test(text) ? 'bad' : 'good';
  if (kind === 'local-verdict' || kind === 'cluster-verdict') return /→ down\b/.test(text) ? 'bad' : /→ up\b/.test(text) ? 'good' : 'muted';
  if (kind === 'self-check') return /→ healthy\b/.test(text) ? 'good' : 'bad';
  return 'muted';
}

/**
 * The banner over the page: null while the last poll answered; otherwise
 * since when the agent has been unreachable and what the last good data is.
 */
export function unreachableBanner(lastOkAt: number | null, failingSince: number, error: string, clientNow: number): string {
  const for_ = formatDuration(clientNow - failingSince);
  const last = lastOkAt == null ? 'no data received yet' : `showing data from ${clockTime(lastOkAt)} (${formatDuration(clientNow - lastOkAt)} old)`;
  return `cannot reach the agent for ${for_} (${error}): ${last}`;
}
