import type { AgentStatus, TargetStatus } from './view.js';
import type { DropReason } from '../gossip/types.js';

/**
 * What `GET /status` returns: the agent's {@link AgentStatus} plus the
 * snapshot time and the gossip drop counters.
 *
 * Field names are the AgentStatus ones and are kept stable (scripts read
 * them with jq). In the JSON, a field that has no value yet is `null`
 * (never left out): `startedAt`, `lastRoundAt`, `lastReconcile`, a
 * verdict's `since`, `inDns[hostname]` before the first DNS read, a peer's
 * `id`/`lastHeard`, `why` while the IP is in DNS, `gossipDrops` in
 * single-node mode. Times are ms since the epoch on the agent's clock;
 * `now` is that clock when the snapshot was taken, so ages can be computed
 * without trusting the reader's clock.
 */
export interface StatusDocument extends AgentStatus {
  readonly now: number;
  readonly gossipDrops: Readonly<Record<DropReason, number>> | undefined;
}

/** `JSON.stringify` replacer: `undefined` → `null`, so every documented field is present. */
export function nullForUndefined(_key: string, value: unknown): unknown {
  return value === undefined ? null : value;
}

// ---- small formatters (exported for tests) --------------------------------------

/** 350 → "0.4s", 12_000 → "12s", 303_000 → "5m03s", 7_500_000 → "2h05m", 2 days → "2d00h". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return '?';
  const neg = ms < 0;
  const t = Math.abs(ms);
  let out: string;
  if (t < 10_000) out = `${(t / 1000).toFixed(1)}s`;
  else if (t < 60_000) out = `${Math.floor(t / 1000)}s`;
  else if (t < 3_600_000) out = `${Math.floor(t / 60_000)}m${pad2(Math.floor(t / 1000) % 60)}s`;
  else if (t < 86_400_000) out = `${Math.floor(t / 3_600_000)}h${pad2(Math.floor(t / 60_000) % 60)}m`;
  else out = `${Math.floor(t / 86_400_000)}d${pad2(Math.floor(t / 3_600_000) % 24)}h`;
  return neg ? `-${out}` : out;
}

export function pad2(n: number): string {
  return String(n).padStart(2, '0');
}

/** "12s ago", or "-" when never. */
export function ago(now: number, at: number | null | undefined): string {
  return at == null ? '-' : `${formatDuration(now - at)} ago`;
}

/** 0.123 → "0.12 ms", 12.34 → "12.3 ms", 123.4 → "123 ms". */
export function formatRtt(ms: number | null | undefined): string {
  if (ms == null || !Number.isFinite(ms)) return '-';
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 100) return `${ms.toFixed(1)} ms`;
  return `${Math.round(ms)} ms`;
}

/** Long libp2p peer ids become `12D3Ko…x9Qa`. */
export function shortId(id: string | null | undefined): string {
  if (!id) return '-';
  return id.length > 14 ? `${id.slice(0, 6)}…${id.slice(-4)}` : id;
}

/**
 * Peers' fresh votes, most common verdict first: `2/2 down`, `1/2 down, 1/2 up`;
 * stale ones are only counted (`+1 stale`); `-` without any.
 */
export function summarizePeerVotes(t: Pick<TargetStatus, 'peers'>): string {
  const fresh = t.peers.filter((p) => p.fresh);
  const stale = t.peers.length - fresh.length;
  const counts = new Map<string, number>();
  for (const p of fresh) counts.set(p.verdict, (counts.get(p.verdict) ?? 0) + 1);
  const parts = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).map(([v, n]) => `${n}/${fresh.length} ${v}`);
  if (stale > 0) parts.push(`+${stale} stale`);
  return parts.length > 0 ? parts.join(', ') : '-';
}

/**
 * Column headers for the hostnames: the common parent domain is cut off
 * (`www.example.com`, `api.example.com` → `www`, `api`; the apex becomes
 * `@`). A single hostname keeps its full name.
 */
export function hostnameHeaders(hostnames: readonly string[]): string[] {
  if (hostnames.length < 2) return [...hostnames];
  const split = hostnames.map((h) => h.split('.'));
  let common = 0;
  for (;;) {
    const label = split[0]![split[0]!.length - 1 - common];
    if (label === undefined || !split.every((s) => s[s.length - 1 - common] === label)) break;
    common += 1;
  }
  // Keep at least two labels as the parent (a zone name), and never cut a name to nothing but the apex.
  if (common < 2) return [...hostnames];
  return split.map((s) => (s.length === common ? '@' : s.slice(0, s.length - common).join('.')));
}

/** Left-aligned columns, two spaces apart; the last column is not padded. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, [...cell].length)));
  return rows.map((r) =>
    r
      .map((cell, i) => (i === r.length - 1 ? cell : cell + ' '.repeat(widths[i]! - [...cell].length)))
      .join('  ')
      .trimEnd(),
  );
}

// ---- the view ----------------------------------------------------------------------

function localCell(t: TargetStatus): string {
  const base = `${t.local.verdict} ${t.local.misses}/${t.local.successes}`;
  const cell = t.vote !== t.local.verdict ? `${base} (votes ${t.vote})` : base;
  // A suspect IP: which way its rechecks look, and the streak so far.
  return t.suspect ? `${cell} suspect ${t.suspect.direction} ${t.suspect.streak}` : cell;
}

function clusterCell(now: number, t: TargetStatus): string {
  const c = t.cluster;
  const cell = c.since == null ? c.verdict : `${c.verdict} ${formatDuration(now - c.since)}`;
  // Drained: down for DNS whatever the cluster verdict (the WHY column says by whom and until when).
  return t.drained ? `${cell} drained` : cell;
}

function dnsCell(v: boolean | null | undefined): string {
  return v === true ? '✓' : v === false ? '✗' : '?';
}

/**
 * `goavail status` as a terminal table. Pure: the same document gives the
 * same text (ages are computed from the document's own `now`).
 *
 * ```
 * agent self · dry-run · running 5m03s · last round 0.4s ago · interval 2s · min_peers_agree 0
 * self-check: healthy (ok)
 *
 * IP          LOCAL miss/ok  RTT      PEER VOTES  CLUSTER     www  api  WHY
 * 127.0.0.1   up 0/12        0.05 ms  -           up 22s      ✓    ✓
 * 198.18.0.9  down 12/0      -        -           down 18s    ✗    ✗    down by agreement of self since …
 * ```
 */
export function renderStatus(doc: StatusDocument): string {
  const now = doc.now;
  const out: string[] = [];
  const head = [
    `agent ${shortId(doc.id)}`,
    doc.dryRun ? 'dry-run' : 'live (changes DNS)',
    doc.running ? `running ${doc.startedAt == null ? '' : formatDuration(now - doc.startedAt)}`.trimEnd() : 'NOT RUNNING',
    `last round ${ago(now, doc.lastRoundAt)}`,
    `interval ${formatDuration(doc.intervalMs).replace(/\.0s$/, 's')}`,
    `min_peers_agree ${doc.minPeersAgree}`,
  ];
  out.push(head.join(' · '));
  const sc = doc.selfCheck;
  out.push(`self-check: ${sc.state}${sc.since == null ? '' : ` since ${ago(now, sc.since)}`} (${sc.detail})`);
  if (doc.canaries.length > 0) {
    out.push(`canaries: ${doc.canaries.map((c) => `${c.ip} ${c.state.verdict} ${c.state.misses}/${c.state.successes}`).join(', ')}`);
  }
  out.push('');

  const hostnames = [...new Set(doc.targets.flatMap((t) => Object.keys(t.inDns)))];
  const rows: string[][] = [['IP', 'LOCAL miss/ok', 'RTT', 'PEER VOTES', 'CLUSTER', ...hostnameHeaders(hostnames), 'WHY']];
  for (const t of doc.targets) {
    rows.push([
      t.ip,
      localCell(t),
      formatRtt(t.local.lastRttMs),
      summarizePeerVotes(t),
      clusterCell(now, t),
      ...hostnames.map((h) => dnsCell(t.inDns[h])),
      t.why ?? '',
    ]);
  }
  out.push(...(doc.targets.length > 0 ? table(rows) : ['no targets']));

  const actions = doc.targets.filter((t) => t.lastAction != null);
  if (actions.length > 0) {
    out.push('', 'last DNS action per IP:');
    for (const t of actions) out.push(`  ${t.ip}: ${t.lastAction!.summary} (${ago(now, t.lastAction!.at)})`);
  }

  out.push('');
  if (doc.peers.length === 0) {
    out.push('peers: none (single node)');
  } else {
    const connected = doc.peers.filter((p) => p.connected).length;
    out.push(`peers: ${connected}/${doc.peers.length} connected`);
    const peerRows = [['  ID', 'ADDR', 'CONNECTED', 'LAST HEARD']];
    for (const p of doc.peers) peerRows.push([`  ${shortId(p.id)}`, p.addr, p.connected ? 'yes' : 'no', ago(now, p.lastHeard)]);
    out.push(...table(peerRows));
  }
  if (doc.gossipDrops) {
    const drops = Object.entries(doc.gossipDrops).filter(([, n]) => n > 0);
    out.push(`gossip drops: ${drops.length === 0 ? 'none' : drops.map(([r, n]) => `${r} ${n}`).join(', ')}`);
  }

  const r = doc.lastReconcile;
  if (r == null) {
    out.push('last reconcile: not yet');
  } else if (r.ok) {
    out.push(`last reconcile: ok ${ago(now, r.at)}, ${r.changes.length === 0 ? 'no change' : `${r.changes.length} change(s): ${r.changes.join('; ')}`}`);
  } else {
    out.push(`last reconcile: FAILED ${ago(now, r.at)} (${doc.consecutiveReconcileFailures} in a row): ${r.error ?? 'unknown error'}`);
  }
  if (doc.held.length > 0) out.push(`held back (last record of a hostname is never removed): ${doc.held.join('; ')}`);
  return `${out.join('\n')}\n`;
}
