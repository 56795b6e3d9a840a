import { createHash } from 'node:crypto';
import { clockTime, dnsState, eventTone, pageView, spark, streak, unreachableBanner, verdictTone } from './page-model.js';
import { ago, formatDuration, formatRtt, pad2, shortId, standbyNote } from './render.js';

/**
 * `GET /` on the status listener: one self-contained HTML page (inline
 * style and script, no fonts, CDNs or other origins; works offline) that
 * polls `/status` and `/events` and shows them. Its view logic is the
 * pure, tested ./page-model.ts, embedded here as source text, so the page
 * works the same from `src/` (vitest) and from the built `dist/` and npm
 * package. Everything shown goes into the DOM with `textContent`
 * (IPs, peer ids, reasons and config errors come from outside): the page
 * never parses data as HTML. The Content-Security-Policy allows only this
 * script and style (by hash) and requests to the page's own origin.
 */

/** The page's own functions, in the order the browser defines them. */
const EMBEDDED = [
  pad2,
  formatDuration,
  ago,
  formatRtt,
  shortId,
  standbyNote,
  verdictTone,
  clockTime,
  streak,
  spark,
  dnsState,
  pageView,
  eventTone,
  unreachableBanner,
];

/** Browser-side glue: fetch, then put the view in the DOM (textContent only). */
const GLUE = String.raw`
'use strict';
const $ = (id) => document.getElementById(id);
function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text != null) e.textContent = String(text);
  return e;
}
function toned(tag, tone, text) {
  return el(tag, 'tone-' + tone, text);
}
function sparkSvg(s) {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 120 24');
  svg.setAttribute('class', 'spark');
  svg.setAttribute('aria-hidden', 'true');
  const line = document.createElementNS(ns, 'polyline');
  line.setAttribute('points', s.points);
  svg.append(line);
  for (const x of s.misses) {
    const m = document.createElementNS(ns, 'line');
    m.setAttribute('x1', String(x));
    m.setAttribute('x2', String(x));
    m.setAttribute('y1', '0');
    m.setAttribute('y2', '24');
    m.setAttribute('class', 'miss');
    svg.append(m);
  }
  return svg;
}
function row(label, ...children) {
  const r = el('div', 'row');
  r.append(el('span', 'label', label), ...children);
  return r;
}
function card(c) {
  const a = el('article', 'card');
  a.dataset.ip = c.ip;
  const h = el('h3');
  h.append(el('span', 'ip', c.ip), el('span', 'role', c.role));
  a.append(h);
  const local = toned('span', c.local.tone, c.local.verdict);
  local.dataset.field = 'local';
  const st = el('span', 'muted', c.local.streak);
  st.dataset.field = 'streak';
  const localRow = row('local', local, st);
  if (c.vote != null) localRow.append(el('span', 'muted', 'votes ' + c.vote));
  a.append(localRow);
  const rtt = el('span', null, c.rtt);
  rtt.dataset.field = 'rtt';
  const sp = el('span', 'spark-wrap');
  sp.append(sparkSvg(c.spark), el('span', 'muted small', c.spark.label));
  a.append(row('RTT', rtt, sp));
  if (c.cluster != null) {
    const v = toned('span', c.cluster.tone, c.cluster.verdict);
    v.dataset.field = 'cluster';
    a.append(row('cluster', v, el('span', 'muted', c.cluster.since)));
    const votes = el('span', 'votes');
    if (c.peerVotes.length === 0) votes.append(el('span', 'muted', 'none'));
    for (const p of c.peerVotes) {
      const pv = el('span', 'vote');
      pv.append(el('span', 'mono', p.peer + ' '), toned('span', p.tone, p.verdict), el('span', 'muted', ' ' + p.age));
      votes.append(pv);
    }
    a.append(row('peer votes', votes));
  }
  if (c.dns.length > 0) {
    const ul = el('ul', 'dns');
    for (const d of c.dns) {
      const li = el('li');
      li.dataset.host = d.host;
      li.append(el('span', 'mono', d.host + ' '), toned('span', d.tone, d.text));
      ul.append(li);
    }
    a.append(row('DNS', ul));
  }
  if (c.why != null) {
    const w = el('p', 'why', c.why);
    w.dataset.field = 'why';
    a.append(w);
  }
  if (c.lastAction != null) a.append(el('p', 'muted small', 'last DNS action: ' + c.lastAction));
  return a;
}
function render(v) {
  document.title = v.title;
  $('title').textContent = v.title;
  $('head').replaceChildren(...v.head.map((t) => el('span', 'chip', t)));
  $('alert').hidden = v.alert == null;
  $('alert').textContent = v.alert ?? '';
  $('selfcheck').replaceChildren(toned('span', v.selfCheck.tone, v.selfCheck.text));
  $('reconcile').replaceChildren(toned('span', v.lastReconcile.tone, v.lastReconcile.text));
  $('held').replaceChildren(v.held == null ? el('span', 'muted', 'none') : toned('span', 'bad', v.held));
  $('ips').replaceChildren(...(v.ips.length === 0 ? [el('p', 'muted', 'no IPs configured')] : v.ips.map(card)));
  $('peersum').textContent = v.peers.summary;
  $('peers').replaceChildren(
    ...v.peers.rows.map((p) => {
      const li = el('li');
      li.append(el('span', 'mono', p.id + ' '), el('span', 'mono muted', p.addr + ' '), toned('span', p.tone, p.state), el('span', 'muted', ' · ' + p.lastHeard));
      return li;
    }),
  );
  $('events').replaceChildren(
    ...(v.events.length === 0
      ? [el('li', 'muted', 'nothing yet')]
      : v.events.map((e) => {
          const li = el('li');
          li.dataset.kind = e.kind;
          const t = el('time', 'mono muted', e.time);
          t.title = e.ago;
          li.append(t, el('span', 'kind', e.kind), toned('span', e.tone, e.text));
          return li;
        })),
  );
}
let lastOkAt = null;
let failingSince = null;
let every = 2000;
async function getJson(path, signal) {
  const r = await fetch(path, { cache: 'no-store', signal });
  if (!r.ok) throw new Error(path + ': HTTP ' + r.status);
  return r.json();
}
async function poll() {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), 5000);
  try {
    const [doc, hist] = await Promise.all([getJson('/status', ctl.signal), getJson('/events', ctl.signal).catch(() => null)]);
    lastOkAt = Date.now();
    failingSince = null;
    every = Math.min(5000, Math.max(1000, doc.intervalMs));
    render(pageView(doc, hist));
    $('banner').hidden = true;
    document.body.dataset.state = 'ok';
    $('updated').textContent = clockTime(lastOkAt);
  } catch (err) {
    if (failingSince == null) failingSince = Date.now();
    const why = ctl.signal.aborted ? 'no answer in 5 s' : err instanceof TypeError ? 'connection failed' : String(err && err.message ? err.message : err);
    $('banner').textContent = unreachableBanner(lastOkAt, failingSince, why, Date.now());
    $('banner').hidden = false;
    document.body.dataset.state = 'unreachable';
  } finally {
    clearTimeout(timer);
    setTimeout(poll, every);
  }
}
poll();
`;

const STYLE = `
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1b1f24; --card: #fff; --muted: #667; --line: #d8dce2;
  --good: #137333; --bad: #b3261e; --warn: #8a5a00; --good-bg: #e6f4ea; --bad-bg: #fce8e6; }
@media (prefers-color-scheme: dark) { :root { --bg: #14171b; --fg: #e6e8eb; --card: #1d2126; --muted: #9aa3ad; --line: #333a42;
  --good: #6dd58c; --bad: #ff8a80; --warn: #f2c46d; --good-bg: #17301f; --bad-bg: #3a1d1b; } }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; background: var(--bg); color: var(--fg); }
header, main, footer { max-width: 1100px; margin: 0 auto; padding: 0.6rem 0.9rem; }
h1 { font-size: 1.25rem; margin: 0.2rem 0 0.4rem; }
h2 { font-size: 1rem; margin: 1.2rem 0 0.5rem; text-transform: uppercase; letter-spacing: 0.04em; color: var(--muted); }
h3 { font-size: 1.05rem; margin: 0 0 0.4rem; display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: baseline; }
.chips { display: flex; flex-wrap: wrap; gap: 0.35rem; }
.chip { border: 1px solid var(--line); border-radius: 999px; padding: 0.05rem 0.55rem; font-size: 0.85rem; background: var(--card); }
#banner { position: sticky; top: 0; z-index: 2; margin: 0; padding: 0.7rem 0.9rem; background: var(--bad); color: #fff; font-weight: 600; }
#alert { margin: 0.5rem 0; padding: 0.6rem 0.8rem; border-radius: 8px; background: var(--bad-bg); color: var(--bad); font-weight: 600; }
body[data-state="unreachable"] main { opacity: 0.55; filter: grayscale(0.6); }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.25rem 0.8rem; margin: 0; }
dt { color: var(--muted); } dd { margin: 0; overflow-wrap: anywhere; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(min(100%, 330px), 1fr)); gap: 0.7rem; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 10px; padding: 0.7rem 0.8rem; min-width: 0; }
.row { display: flex; flex-wrap: wrap; gap: 0.25rem 0.5rem; align-items: center; margin: 0.15rem 0; }
.label { color: var(--muted); min-width: 5.5rem; font-size: 0.9rem; }
.ip, .mono, time { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; overflow-wrap: anywhere; }
.ip { font-weight: 700; }
.role, .muted { color: var(--muted); } .small { font-size: 0.82rem; }
.tone-good { color: var(--good); font-weight: 600; } .tone-bad { color: var(--bad); font-weight: 600; }
.tone-warn { color: var(--warn); font-weight: 600; } .tone-muted { color: var(--muted); }
.spark-wrap { display: inline-flex; gap: 0.4rem; align-items: center; flex-wrap: wrap; }
.spark { width: 120px; height: 24px; border-bottom: 1px solid var(--line); }
.spark polyline { fill: none; stroke: var(--good); stroke-width: 1.5; }
.spark .miss { stroke: var(--bad); stroke-width: 1.5; }
.votes { display: flex; flex-direction: column; }
.dns { list-style: none; margin: 0; padding: 0; }
.why { margin: 0.4rem 0 0; padding: 0.35rem 0.5rem; border-left: 3px solid var(--bad); background: var(--bad-bg); overflow-wrap: anywhere; }
ul, ol { padding-left: 1.1rem; }
#events { list-style: none; padding: 0; margin: 0; }
#events li { display: grid; grid-template-columns: max-content max-content 1fr; gap: 0.6rem; padding: 0.25rem 0; border-bottom: 1px solid var(--line); }
#events li span:last-child { overflow-wrap: anywhere; min-width: 0; }
#events .tone-good, #events .tone-bad { font-weight: 500; }
.kind { font-size: 0.8rem; color: var(--muted); text-transform: uppercase; }
@media (max-width: 560px) { #events li { grid-template-columns: max-content 1fr; } #events li span:last-child { grid-column: 1 / -1; } .label { min-width: 4.5rem; } }
footer { color: var(--muted); font-size: 0.85rem; }
a { color: inherit; }
`;

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
}

export interface StatusPage {
  readonly html: string;
  /** The Content-Security-Policy header to send with it. */
  readonly csp: string;
}

/** Builds the page (once per listener: it never changes while the agent runs). */
export function statusPage(): StatusPage {
  const script = `${EMBEDDED.map((f) => f.toString()).join('\n')}\n${GLUE}`;
  const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>goavail</title>
<link rel="icon" href="data:,">
<style>${STYLE}</style>
</head>
<body data-state="loading">
<p id="banner" role="alert" hidden></p>
<header>
<h1 id="title">goavail</h1>
<div id="head" class="chips"><span class="chip">loading…</span></div>
</header>
<main>
<p id="alert" role="alert" hidden></p>
<section>
<h2>Agent</h2>
<dl>
<dt>self-check</dt><dd id="selfcheck">-</dd>
<dt>last reconcile</dt><dd id="reconcile">-</dd>
<dt>held back</dt><dd id="held">-</dd>
</dl>
</section>
<section>
<h2>IPs</h2>
<div id="ips" class="cards"></div>
</section>
<section>
<h2>Peers</h2>
<p id="peersum">-</p>
<ul id="peers"></ul>
</section>
<section>
<h2>Recent events</h2>
<ol id="events"></ol>
</section>
</main>
<footer>updated <span id="updated">never</span> · raw: <a href="/status">/status</a> · <a href="/events">/events</a> · <a href="/metrics">/metrics</a> · <a href="/healthz">/healthz</a></footer>
<script>${script}</script>
</body>
</html>
`;
  const csp = [
    "default-src 'none'",
    `script-src ${sha256(script)}`,
    `style-src ${sha256(STYLE)}`,
    "connect-src 'self'",
    'img-src data:',
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { html, csp };
}
