/**
 * 6. HTTP(S) checks at scale: the real CLI (`monitor`, dry-run, no --debug)
 * on 1,000 HTTP targets at interval = 1 s, then on 1,000 HTTPS targets at
 * interval = 10 s (TLS verified against a private CA given as ca_file), all
 * on loopback: one server process per scheme listens on every target
 * address (127.21.x.y, 127.22.x.y). CPU from /proc/<pid>/stat over a steady
 * window, peak RSS (VmHWM), every local "down" verdict (a false down: every
 * server answers 200). Beside each, in the same run and on the same
 * servers, a bare Node loop that makes the same requests with
 * `http.request` / `https.request` (fresh connection, same headers, same TLS
 * checks): the runtime's floor. Goal: goavail ≤ 1.5× its CPU per probe.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createCertSet } from '../../test/support/certs.js';
import { scratch, sleep, waitFor } from '../../test/support/kit.js';
import { AgentProcess, isLocalVerdict, localVerdictOf, loopbackTargets } from '../lib/agent.js';
import { cpuSeconds, memory } from '../lib/proc.js';
import { goal, type Row, type RunContext, type ScenarioResult } from '../lib/report.js';

const TARGETS = 1_000;
const THRESHOLD = 3;
const RATIO_GOAL = 1.5;
const HOST = 'www.example.com';

const mb = (b: number): string => `${(b / 1e6).toFixed(0)} MB`;
const us = (s: number): string => `${(s * 1e6).toFixed(1)} µs`;
const pct = (x: number): string => `${(x * 100).toFixed(1)} %`;

/** Listens on every address given on stdin's first line (comma-separated), answers 200 "status: ok". */
const SERVER = String.raw`
const http = require('node:http'); const https = require('node:https'); const fs = require('node:fs');
const [scheme, port, cert, key, ipList] = process.argv.slice(1);
const handler = (req, res) => { res.writeHead(200, { 'Content-Type': 'text/plain' }); res.end('status: ok'); };
const ips = ipList.split(',');
let pending = ips.length;
for (const ip of ips) {
  const s = scheme === 'https' ? https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) }, handler) : http.createServer(handler);
  s.on('clientError', (e, sock) => sock.destroy()); s.on('tlsClientError', () => {});
  s.listen({ host: ip, port: Number(port), backlog: 2048 }, () => { if (--pending === 0) process.stdout.write('listening\n'); });
}
process.stdin.on('end', () => process.exit(0)); process.stdin.resume();
`;

/**
 * The floor: the same probes with Node's own client, nothing else. Rounds
 * start every interval; each sends every request at once and ends when all
 * answered or at the timeout. CPU over the measured rounds (after warm-up).
 */
const BARE = String.raw`
const http = require('node:http'); const https = require('node:https'); const tls = require('node:tls'); const fs = require('node:fs');
const [scheme, port, intervalMs, timeoutMs, warm, rounds, caFile, host, ipList] = process.argv.slice(1);
const ips = ipList.split(',');
const send = scheme === 'https' ? https.request : http.request;
const secureContext = scheme === 'https' ? tls.createSecureContext({ ca: [...tls.rootCertificates, fs.readFileSync(caFile, 'utf8')] }) : undefined;
const base = { port: Number(port), method: 'GET', path: '/', agent: false, setHost: false,
  headers: { 'User-Agent': 'bare', Host: host + (Number(port) === (scheme === 'https' ? 443 : 80) ? '' : ':' + port), Connection: 'close' } };
if (scheme === 'https') Object.assign(base, { servername: host, rejectUnauthorized: true, secureContext });
function round() {
  return new Promise((resolve) => {
    let left = ips.length, ok = 0;
    const timer = setTimeout(() => resolve(ok), Number(timeoutMs));
    for (const ip of ips) {
      let done = false;
      const req = send({ ...base, host: ip });
      const end = (good) => { if (done) return; done = true; req.destroy(); if (good) ok++; if (--left === 0) { clearTimeout(timer); resolve(ok); } };
      req.on('response', (res) => end(res.statusCode === 200));
      req.on('error', () => end(false));
      req.end();
    }
  });
}
(async () => {
  let next = Date.now();
  let ok = 0, probes = 0, c0, w0;
  for (let i = 0; i < Number(warm) + Number(rounds); i++) {
    if (i === Number(warm)) { c0 = process.cpuUsage(); w0 = Date.now(); }
    const got = await round();
    if (i >= Number(warm)) { ok += got; probes += ips.length; }
    next += Number(intervalMs);
    await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
  }
  const c = process.cpuUsage(c0);
  const rss = require('node:fs').readFileSync('/proc/self/status', 'utf8').match(/VmHWM:\s+(\d+)/)[1] * 1024;
  process.stdout.write(JSON.stringify({ cpuS: (c.user + c.system) / 1e6, wallS: (Date.now() - w0) / 1000, probes, ok, peakRss: rss }) + '\n');
})();
`;

interface BareRun {
  readonly cpuS: number;
  readonly wallS: number;
  readonly probes: number;
  readonly ok: number;
  readonly peakRss: number;
}

async function startServers(scheme: 'http' | 'https', port: number, ips: readonly string[], cert: string, key: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['-e', SERVER, scheme, String(port), cert, key, ips.join(',')], { stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  await waitFor(`${scheme} servers listening`, () => {
    if (child.exitCode !== null) throw new Error(`server exited: ${err}`);
    return out.includes('listening');
  });
  return child;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
  await exited;
  clearTimeout(timer);
}

async function runBare(args: string[]): Promise<BareRun> {
  const child = spawn(process.execPath, ['-e', BARE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  if (code !== 0) throw new Error(`bare loop exited ${code}: ${err}`);
  return JSON.parse(out.trim()) as BareRun;
}

interface Case {
  readonly scheme: 'http' | 'https';
  readonly port: number;
  readonly intervalS: number;
  readonly timeoutS: number;
  readonly b: number;
}

export async function runHttp(ctx: RunContext): Promise<ScenarioResult> {
  const started = Date.now();
  const dir = await scratch('bench-http');
  const unregister = ctx.onCleanup(() => dir.cleanup());
  const rows: Row[] = [];
  const notes: string[] = [];
  const cases: Case[] = [
    { scheme: 'http', port: 18080, intervalS: 1, timeoutS: 0.5, b: 21 },
    { scheme: 'https', port: 18443, intervalS: 10, timeoutS: 5, b: 22 },
  ];
  try {
    const certs = await createCertSet(dir.dir, HOST);
    for (const c of cases) {
      const ips = loopbackTargets(TARGETS, c.b);
      const rounds = ctx.quick ? (c.scheme === 'http' ? 10 : 2) : c.scheme === 'http' ? 60 : 9;
      const windowS = rounds * c.intervalS;
      const servers = await startServers(c.scheme, c.port, ips, certs.valid.certFile, certs.valid.keyFile);
      const stopServers = ctx.onCleanup(() => stopChild(servers));
      try {
        ctx.log(`http: goavail, ${TARGETS} ${c.scheme} targets, interval ${c.intervalS} s, ${windowS} s window`);
        const toml = `type = "${c.scheme}"
port = ${c.port}
failure_threshold = ${THRESHOLD}
interval = ${c.intervalS}
timeout = ${c.timeoutS}
status_addr = ""
[HTTP]
${c.scheme === 'https' ? `ca_file = "${certs.ca.file}"` : ''}
[Cloudflare]
dns_proxied = false
dns_domain = "example.com"
hostnames = ["www"]
ip_addresses = [${ips.map((ip) => JSON.stringify(ip)).join(', ')}]
`;
        const file = await dir.write(`${c.scheme}.toml`, toml);
        const agent = new AgentProcess(`http-${c.scheme}`, ['monitor', '--config-file', file], { cli: ctx.cli, cwd: dir.dir, env: { HOME: dir.dir } });
        const stopAgent = ctx.onCleanup(() => agent.stop());
        let cpuS: number;
        let wallS: number;
        let mem: { rss: number; peak: number };
        let settledAfterMs: number;
        const judged = new Set<string>();
        try {
          let scanned = 0;
          const settled = (): number => {
            for (; scanned < agent.logs.length; scanned++) {
              const l = localVerdictOf(agent.logs[scanned]!);
              if (l && (l.to === 'up' || l.to === 'down')) judged.add(l.ip);
            }
            return judged.size;
          };
          await waitFor(`${c.scheme}: first verdicts`, () => settled() >= TARGETS || !agent.running, {
            timeoutMs: (THRESHOLD + 3) * c.intervalS * 1000 + 30_000,
            everyMs: 100,
          }).catch(() => undefined);
          if (!agent.running) throw new Error(`agent exited early:\n${agent.tail()}`);
          settledAfterMs = Date.now() - agent.spawnedAt;
          await sleep(Math.min(5_000, c.intervalS * 1000));
          const c0 = cpuSeconds(agent.pid);
          const w0 = Date.now();
          await sleep(windowS * 1000);
          cpuS = cpuSeconds(agent.pid) - c0;
          wallS = (Date.now() - w0) / 1000;
          mem = memory(agent.pid);
        } finally {
          await agent.stop();
          stopAgent();
        }
        const ranS = (Date.now() - agent.spawnedAt) / 1000;
        if (ctx.logsDir) await agent.saveLogs(ctx.logsDir, 'http');
        const downs = agent.count(isLocalVerdict('down'));
        // Why the false downs missed: the reason word that starts each one's last error.
        const why = new Map<string, number>();
        for (const l of agent.logs) {
          if (!isLocalVerdict('down')(l)) continue;
          const word = String(l.lastError ?? '?').split(/[:( ]/)[0]!;
          why.set(word, (why.get(word) ?? 0) + 1);
        }
        const whyText = [...why].map(([w, n]) => `${n} ${w}`).join(', ');
        const errors = agent.count((l) => l.level >= 50);
        const agentPerProbe = cpuS / (TARGETS * (wallS / c.intervalS));

        ctx.log(`http: bare ${c.scheme}.request loop, ${rounds} rounds`);
        const bare = await runBare([
          c.scheme,
          String(c.port),
          String(c.intervalS * 1000),
          String(c.timeoutS * 1000),
          '2',
          String(rounds),
          certs.ca.file,
          HOST,
          ips.join(','),
        ]);
        const barePerProbe = bare.cpuS / bare.probes;
        const ratio = agentPerProbe / barePerProbe;
        const label = `${TARGETS.toLocaleString('en-US')} ${c.scheme.toUpperCase()} at ${c.intervalS} s`;
        rows.push(
          { metric: `${label}: CPU share of one core`, value: `${pct(cpuS / wallS)} (${cpuS.toFixed(2)} s CPU in ${wallS.toFixed(0)} s)`, status: 'info' },
          {
            metric: `${label}: CPU per probe, goavail vs bare ${c.scheme}.request`,
            value: `${us(agentPerProbe)} vs ${us(barePerProbe)}: ratio ${ratio.toFixed(2)}`,
            goal: `≤ ${RATIO_GOAL}×`,
            status: goal(ratio <= RATIO_GOAL),
          },
          {
            metric: `${label}: every target judged before the window`,
            value: `${judged.size} of ${TARGETS} had a local verdict ${(settledAfterMs / 1000).toFixed(1)} s after spawn`,
            goal: 'all',
            status: goal(judged.size === TARGETS),
          },
          { metric: `${label}: RSS peak (now), goavail vs bare`, value: `${mb(mem.peak)} (${mb(mem.rss)}) vs ${mb(bare.peakRss)}`, status: 'info' },
          {
            metric: `${label}: false "down" verdicts`,
            value: `${downs}${downs > 0 ? ` (last errors: ${whyText})` : ''} over ${ranS.toFixed(0)} s; ${errors} error lines; bare loop: ${bare.probes - bare.ok} of ${bare.probes} probes failed`,
            goal: '0',
            status: goal(downs === 0),
          },
        );
        notes.push(
          `${label}: bare loop ${bare.ok} of ${bare.probes} probes answered 200, ${bare.cpuS.toFixed(2)} s CPU in ${bare.wallS.toFixed(0)} s (after 2 warm-up rounds).`,
        );
      } finally {
        await stopChild(servers);
        stopServers();
      }
    }
  } finally {
    unregister();
    await dir.cleanup();
  }
  return {
    id: 'http',
    title: '6. HTTP(S) checks at scale',
    setup: [
      `one agent at a time (\`monitor\`, dry-run, no --debug): ${TARGETS} http targets (127.21.x.y:18080) at interval = 1 s, timeout = 0.5 s; then ${TARGETS} https targets (127.22.x.y:18443) at interval = 10 s, timeout = 5 s, TLS verified with a private CA as ca_file (ECDSA P-256 certificates made with openssl); failure_threshold = ${THRESHOLD}`,
      'servers: one Node process per scheme listening on all 1,000 addresses, answering 200 "status: ok"; the bare loop runs right after each agent, on the same servers, with the same interval, timeout and request options',
    ],
    rows,
    notes: [
      'CPU per probe = (utime + stime of the agent over the window) / (targets × window / interval): everything the agent does (detector, self-check, timers, logging) is included. Bare loop: process.cpuUsage() over its measured rounds / probes sent.',
      'The servers run on the same 2 cores as the client and are not counted; a TLS handshake costs the server about as much as the client.',
      ...notes,
    ],
    seconds: (Date.now() - started) / 1000,
  };
}
