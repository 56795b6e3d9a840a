import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Agent } from '../../src/agent.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import { testConfig } from '../../test/support/config.js';
import { FakeDns } from '../../test/support/fake-dns.js';
import { FakeProber } from '../../test/support/fake-prober.js';
import { scratch, waitFor } from '../../test/support/kit.js';
import { clusterVerdict, clusterVerdictOf, configToml, isLocalVerdict, localVerdict, localVerdictOf, loopbackTargets, type LogLine } from '../lib/agent.js';
import { parseCountOutput, parseTimes } from '../lib/fping.js';
import { parseStatTicks, parseStatusMemory } from '../lib/proc.js';
import { BEGIN, END, markdownTable, spliceGenerated } from '../lib/report.js';
import { median, quantile, summarize } from '../lib/stats.js';
import { ConnectionsChanged, parseSs, sentBetween, sentBy } from '../lib/tcpbytes.js';

describe('stats', () => {
  it.each([
    [[5], 0.5, 5],
    [[1, 2, 3, 4], 0.5, 2],
    [[4, 3, 2, 1], 0.99, 4],
    [Array.from({ length: 100 }, (_, i) => i + 1), 0.99, 99],
    [Array.from({ length: 200 }, (_, i) => i + 1), 0.99, 198],
    [[7, 1, 3], 0, 1],
  ])('quantile(%j, %d) = %d (nearest rank)', (values, q, want) => {
    expect(quantile(values, q)).toBe(want);
  });

  it.each([
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[], Number.NaN],
  ])('median(%j) = %d', (values, want) => {
    expect(median(values)).toBe(want);
  });

  it('summarize gives min, median, p99, max, mean and refuses bad quantiles', () => {
    expect(summarize([10, 30, 20])).toEqual({ n: 3, min: 10, median: 20, p99: 30, max: 30, mean: 20 });
    expect(summarize([]).n).toBe(0);
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
  });
});

describe('/proc parsers', () => {
  it('reads utime + stime after a command name holding spaces and parentheses', () => {
    const stat = '1234 (node (x) y) S 1 1234 1234 0 -1 4194304 100 0 0 0 250 37 0 0 20 0 11 0 555 1000 2000';
    expect(parseStatTicks(stat)).toBe(287);
  });

  it('reads VmRSS and VmHWM in bytes', () => {
    expect(parseStatusMemory('Name:\tnode\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n')).toEqual({ rss: 1024 * 1024, peak: 2048 * 1024 });
    expect(() => parseStatusMemory('Name:\tnode\n')).toThrow(/VmRSS/);
  });
});

describe('fping output', () => {
  it('takes the children line of bash `times`', () => {
    expect(parseTimes('0m0.010s 0m0.002s\n0m1.250s 0m0.125s\n')).toBeCloseTo(1.375, 6);
    expect(() => parseTimes('garbage')).toThrow();
  });

  it('counts replies and losses of -C output', () => {
    expect(parseCountOutput('127.0.0.1 : 0.05 0.04 -\n127.0.0.2 : - - -\nICMP Host Unreachable from x\n')).toEqual({ replies: 2, lost: 4, targets: 2 });
  });
});

describe('ss parsing', () => {
  const text = [
    '0      0      127.0.0.1:38764 127.0.0.1:42915 users:(("node",pid=19476,fd=20))',
    '\t bbr wscale:10,10 rto:204 bytes_sent:12345 bytes_acked:12346 segs_out:3 segs_in:2 data_segs_out:1',
    '0      0      127.0.0.1:42915 127.0.0.1:38764 users:(("node",pid=19477,fd=21))',
    '\t bbr wscale:10,10 bytes_received:12345 segs_out:1 segs_in:3',
    '0      0      127.0.0.1:5000 127.0.0.1:6000 users:(("node",pid=19476,fd=22))',
    '\t cubic bytes_sent:7 segs_out:2',
  ].join('\n');

  it('reads per-socket bytes_sent (absent = 0), segs_out and owners', () => {
    const s = parseSs(text);
    expect(s.map((x) => [x.local, x.peer, x.pids, x.bytesSent, x.segsOut])).toEqual([
      ['127.0.0.1:38764', '127.0.0.1:42915', [19476], 12345, 3],
      ['127.0.0.1:42915', '127.0.0.1:38764', [19477], 0, 1],
      ['127.0.0.1:5000', '127.0.0.1:6000', [19476], 7, 2],
    ]);
  });

  it("sums a process's sockets, optionally only those touching given ports", () => {
    const s = parseSs(text);
    expect(sentBy(s, 19476).bytes).toBe(12352);
    expect(sentBy(s, 19476, { ports: new Set([42915]) }).bytes).toBe(12345);
    expect(sentBy(s, 19477).segments).toBe(1);
  });

  it('refuses a difference across a changed connection set', () => {
    const a = sentBy(parseSs(text), 19476);
    const b = sentBy(parseSs(text.split('\n').slice(0, 2).join('\n')), 19476);
    expect(() => sentBetween(a, b)).toThrow(ConnectionsChanged);
    expect(sentBetween(b, b)).toEqual({ bytes: 0, segments: 0 });
  });
});

describe('agent configs', () => {
  it('makes distinct loopback targets with no .0 or .255', () => {
    const t = loopbackTargets(10_000);
    expect(new Set(t).size).toBe(10_000);
    expect(t.every((ip) => /^127\.10\.\d+\.\d+$/.test(ip) && !ip.endsWith('.0') && !ip.endsWith('.255'))).toBe(true);
    expect(() => loopbackTargets(250 * 256 + 1)).toThrow(RangeError);
  });

  it('writes a goavail.toml the real loader accepts, with the status listener off', async () => {
    const { dir, cleanup } = await scratch('bench-config');
    try {
      const file = join(dir, 'goavail.toml');
      await writeFile(
        file,
        configToml({
          ips: ['127.10.0.1', '198.18.0.2'],
          interval: 0.5,
          timeout: 0.25,
          failureThreshold: 3,
          members: { localAddr: '127.0.0.1:4001', peers: ['127.0.0.1:4002'], minPeersAgree: 1, cryptoKey: 'k'.repeat(32), keyFile: join(dir, 'id.key') },
        }),
      );
      const { config, warnings } = await loadConfig(file);
      expect(warnings).toEqual([]);
      expect(config.intervalMs).toBe(500);
      expect(config.timeoutMs).toBe(250);
      expect(config.members.minPeersAgree).toBe(1);
      expect(config.cloudflare!.ipAddresses).toEqual(['127.10.0.1', '198.18.0.2']);
      expect(config.statusAddr).toBeUndefined();
    } finally {
      await cleanup();
    }
  });
});

describe('BENCHMARKS.md', () => {
  it('replaces only the generated block and keeps hand-written text', () => {
    const first = spliceGenerated(undefined, 'table v1');
    expect(first).toContain(`${BEGIN}\ntable v1\n${END}`);
    const edited = `${first}\n## Analysis\nkept\n`;
    const second = spliceGenerated(edited, 'table v2');
    expect(second).toContain('table v2');
    expect(second).not.toContain('table v1');
    expect(second).toContain('## Analysis\nkept');
  });

  it('marks missed goals and escapes pipes', () => {
    const md = markdownTable([{ id: 'x', title: 'X', setup: [], notes: [], seconds: 1, rows: [{ metric: 'a|b', value: '1', goal: '0', status: 'MISSED' }] }]);
    expect(md).toContain('a\\|b');
    expect(md).toContain('**MISSED**');
  });
});

describe("log predicates (by the fields of the agent's logger calls)", () => {
  const line = (fields: Record<string, unknown>): LogLine => ({ level: 30, time: 1, msg: 'any text', ...fields });
  const local = line({ ip: '198.18.0.2', from: 'up', to: 'down', misses: 3, successes: 0, lastError: 'timeout' });
  const cluster = line({ ip: '198.18.0.2', from: 'up', to: 'down', agreed: ['a', 'b'] });
  const canary = line({ ip: '198.18.0.9', from: 'up', to: 'down' });
  const probe = line({ ip: '198.18.0.2', ok: false, misses: 3, successes: 0, verdict: 'down' });

  it('tells local verdicts, cluster verdicts, canaries and probe lines apart whatever the message says', () => {
    expect([local, cluster, canary, probe].map(localVerdictOf)).toEqual([{ ip: '198.18.0.2', from: 'up', to: 'down' }, undefined, undefined, undefined]);
    expect([local, cluster, canary, probe].map(clusterVerdictOf)).toEqual([undefined, { ip: '198.18.0.2', from: 'up', to: 'down' }, undefined, undefined]);
    expect(localVerdict('198.18.0.2', 'down')(local)).toBe(true);
    expect(localVerdict('198.18.0.2', 'up')(local)).toBe(false);
    expect(localVerdict('198.18.0.3', 'down')(local)).toBe(false);
    expect(clusterVerdict('198.18.0.2', 'down')(cluster)).toBe(true);
    expect(clusterVerdict('198.18.0.2', 'down')(local)).toBe(false);
    expect(isLocalVerdict('down')(local)).toBe(true);
    expect(isLocalVerdict('up')(local)).toBe(false);
  });

  it('find the lines a real agent logs', async () => {
    const A = '198.18.0.1';
    const B = '198.18.0.2';
    const K = '198.18.0.9';
    const logs: LogLine[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString().split('\n')) if (l.trim()) logs.push(JSON.parse(l) as LogLine);
        done();
      },
    });
    const config = testConfig({ ips: [A, B], canaries: [K] });
    const prober = new FakeProber();
    prober.down.add(B);
    const dns = new FakeDns([A, B].map((content) => ({ type: 'A' as const, name: 'www.example.com', content, proxied: false, ttl: 1 })));
    const agent = new Agent({
      config,
      logger: createLogger({ destination: sink, pretty: false }),
      dryRun: false,
      createProber: () => prober,
      createProvider: () => dns,
    });
    agent.start();
    try {
      await waitFor('B down in the cluster', () => logs.some(clusterVerdict(B, 'down')), { timeoutMs: 10_000 });
      expect(logs.some(localVerdict(B, 'down'))).toBe(true);
      expect(logs.some(localVerdict(A, 'up'))).toBe(true);
      expect(logs.some(clusterVerdict(A, 'up'))).toBe(true);
      // The canary's line has ip/from/to too: it is neither.
      expect(logs.some((l) => l.ip === K && l.to === 'up')).toBe(true);
      expect(logs.filter((l) => l.ip === K).map((l) => localVerdictOf(l) ?? clusterVerdictOf(l))).toEqual(logs.filter((l) => l.ip === K).map(() => undefined));
      // Every line a predicate takes is one whose message says so (the text is checked here only).
      for (const l of logs) {
        const v = localVerdictOf(l);
        if (v) expect(l.msg).toBe(`local verdict: ${v.ip} is ${v.to}`);
        const c = clusterVerdictOf(l);
        if (c) expect(l.msg).toBe(`cluster verdict: ${c.ip} is ${c.to}`);
      }
      const localLines = logs.filter((l) => l.msg.startsWith('local verdict: '));
      expect(localLines.every((l) => localVerdictOf(l) !== undefined)).toBe(true);
      expect(logs.filter((l) => l.msg.startsWith('cluster verdict: ')).every((l) => clusterVerdictOf(l) !== undefined)).toBe(true);
    } finally {
      await agent.stop();
    }
  });
});
