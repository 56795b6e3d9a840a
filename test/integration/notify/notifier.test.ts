import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { ClusterVerdictEvent, DnsChangeEvent, SelfCheckEvent } from '../../../src/events.js';
import { silentLogger, type Logger } from '../../../src/log.js';
import { createNotifier, Notifier, type NotifierOptions } from '../../../src/notify/notifier.js';
import { sleep } from '../../support/kit.js';

// ---- real HTTP receivers on 127.0.0.1 ---------------------------------------

interface Received {
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: string;
  readonly at: number;
}

/** What a receiver does with its n-th request (0-based): answer, or 'hang' (never answer). */
type Behaviour = (n: number, req: IncomingMessage, res: ServerResponse) => void | 'hang';

interface Receiver {
  /** Base URL, `http://127.0.0.1:<port>`. */
  readonly base: string;
  readonly requests: Received[];
  /** Requests whose client went away before the answer. */
  readonly abandoned: () => number;
  /** Resolves once `n` requests have arrived (their bodies read). */
  waitFor(n: number): Promise<void>;
  close(): Promise<void>;
}

const receivers: Receiver[] = [];
const notifiers: Notifier[] = [];

afterEach(async () => {
  for (const n of notifiers.splice(0)) n.close();
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

const ok: Behaviour = (_n, _req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
};

async function receiver(behaviour: Behaviour = ok): Promise<Receiver> {
  const requests: Received[] = [];
  const waiters: Array<{ n: number; resolve: () => void }> = [];
  let abandoned = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    res.on('close', () => {
      if (!res.writableEnded) abandoned += 1;
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const n = requests.length;
      requests.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: performance.now() });
      for (const w of waiters.filter((x) => requests.length >= x.n)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
      behaviour(n, req, res);
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const r: Receiver = {
    base: `http://127.0.0.1:${port}`,
    requests,
    abandoned: () => abandoned,
    waitFor: (n) => (requests.length >= n ? Promise.resolve() : new Promise((resolve) => waiters.push({ n, resolve }))),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  receivers.push(r);
  return r;
}

/** A pino logger whose JSON lines land in `lines`. */
function capturingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(
        ...chunk
          .toString('utf8')
          .split('\n')
          .filter((l) => l !== ''),
      );
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

function notifier(opts: Partial<NotifierOptions> & { webhooks: readonly string[] }): Notifier {
  const n = new Notifier({ logger: silentLogger(), agentId: () => 'n1', dryRun: false, retry: { baseDelayMs: 20, maxDelayMs: 100 }, ...opts });
  notifiers.push(n);
  return n;
}

/** Polls `cond` until it holds (the test timeout bounds the wait). */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await sleep(10);
}

const AT = Date.UTC(2024, 4, 1, 12, 0, 0);
const AT_ISO = '2024-05-01T12:00:00.000Z';
const verdictDown: ClusterVerdictEvent = { ip: '203.0.113.7', from: 'up', to: 'down', agreed: ['a', 'b'], at: AT };
const removal = (dryRun = false): DnsChangeEvent => ({
  op: 'delete',
  type: 'A',
  hostname: 'www.example.com',
  ip: '203.0.113.7',
  dryRun,
  summary: 'remove A www.example.com 203.0.113.7',
  at: AT + 1000,
});
const sick: SelfCheckEvent = { from: 'healthy', to: 'canaries-failing', detail: 'all 1 canaries are down', at: AT + 2000 };
const selfEvent = (i: number): SelfCheckEvent => ({ from: 'healthy', to: 'too-many-down', detail: `event ${i}`, at: AT + i });

// ---- tests ------------------------------------------------------------------

describe('Notifier delivery', () => {
  it('POSTs one JSON body per event to every webhook, and the same line to Slack', async () => {
    const [w1, w2, slack] = await Promise.all([receiver(), receiver(), receiver()]);
    const n = notifier({
      webhooks: [`${w1.base}/hook/one?token=s1`, `${w2.base}/two`],
      slackAddr: `${slack.base}/services/T1/B1/XYZ`,
    });
    n.clusterVerdict(verdictDown);
    n.dnsChange(removal());
    n.selfCheck(sick);
    await n.flush(20_000);

    for (const [r, path] of [
      [w1, '/hook/one?token=s1'],
      [w2, '/two'],
    ] as const) {
      expect(r.requests).toHaveLength(3);
      for (const q of r.requests) {
        expect(q.url).toBe(path);
        expect(q.headers['content-type']).toBe('application/json');
      }
      const bodies = r.requests.map((q) => JSON.parse(q.body) as Record<string, unknown>);
      expect(bodies[0]).toStrictEqual({
        version: 1,
        type: 'cluster_verdict',
        agent: 'n1',
        ip: '203.0.113.7',
        from: 'up',
        to: 'down',
        agreed: ['a', 'b'],
        at: AT_ISO,
        dryRun: false,
        text: ':red_circle: goavail n1: cluster verdict 203.0.113.7 is down (was up), agreed by a, b',
      });
      expect(bodies[1]).toStrictEqual({
        version: 1,
        type: 'dns_change',
        agent: 'n1',
        at: '2024-05-01T12:00:01.000Z',
        op: 'delete',
        recordType: 'A',
        hostname: 'www.example.com',
        ip: '203.0.113.7',
        dryRun: false,
        summary: 'remove A www.example.com 203.0.113.7',
        agreed: ['a', 'b'],
        text: ':rotating_light: goavail n1: removed A www.example.com 203.0.113.7 (203.0.113.7 down, agreed by a, b)',
      });
      expect(bodies[2]).toStrictEqual({
        version: 1,
        type: 'self_check',
        agent: 'n1',
        from: 'healthy',
        to: 'canaries-failing',
        detail: 'all 1 canaries are down',
        at: '2024-05-01T12:00:02.000Z',
        dryRun: false,
        text: ':warning: goavail n1: self-check canaries-failing (was healthy): all 1 canaries are down; its down votes now abstain',
      });
    }
    expect(slack.requests.map((q) => q.url)).toEqual(Array(3).fill('/services/T1/B1/XYZ'));
    expect(slack.requests.map((q) => JSON.parse(q.body))).toStrictEqual([
      { text: ':red_circle: goavail n1: cluster verdict 203.0.113.7 is down (was up), agreed by a, b' },
      { text: ':rotating_light: goavail n1: removed A www.example.com 203.0.113.7 (203.0.113.7 down, agreed by a, b)' },
      { text: ':warning: goavail n1: self-check canaries-failing (was healthy): all 1 canaries are down; its down votes now abstain' },
    ]);
    expect(n.stats()).toEqual({ delivered: 9, failed: 0, dropped: 0, retries: 0, queued: 0 });
  });

  it('dry-run: the change is announced as one that would have been made', async () => {
    const [hook, slack] = await Promise.all([receiver(), receiver()]);
    const n = notifier({ webhooks: [hook.base], slackAddr: `${slack.base}/s`, dryRun: true });
    n.clusterVerdict(verdictDown);
    n.dnsChange(removal(true));
    await n.flush(20_000);
    expect(JSON.parse(slack.requests[1]!.body)).toEqual({
      text: ':rotating_light: goavail n1: would remove A www.example.com 203.0.113.7 (203.0.113.7 down, agreed by a, b)',
    });
    expect(JSON.parse(hook.requests[1]!.body)).toMatchObject({ type: 'dns_change', dryRun: true });
    expect(JSON.parse(hook.requests[0]!.body)).toMatchObject({ type: 'cluster_verdict', dryRun: true });
  });

  it('a 500 is retried: delivered once, after one retry', async () => {
    const r = await receiver((n, _req, res) => {
      res.writeHead(n === 0 ? 500 : 200).end(n === 0 ? 'try again' : 'ok');
    });
    const n = notifier({ webhooks: [`${r.base}/x`] });
    n.selfCheck(sick);
    await n.flush(20_000);
    expect(r.requests).toHaveLength(2);
    expect(r.requests[1]!.body).toBe(r.requests[0]!.body);
    expect(n.stats()).toMatchObject({ delivered: 1, failed: 0, retries: 1, dropped: 0 });
  });

  it('a 429 with Retry-After: 1 waits about a second, not the short backoff', async () => {
    const r = await receiver((n, _req, res) => {
      if (n === 0) res.writeHead(429, { 'retry-after': '1' }).end();
      else res.writeHead(204).end();
    });
    const n = notifier({ webhooks: [r.base], retry: { baseDelayMs: 1, maxDelayMs: 2 } });
    n.selfCheck(sick);
    await n.flush(20_000);
    expect(r.requests).toHaveLength(2);
    // Without Retry-After the wait would be ≤ 2 ms. Timers never fire early by more than a rounding ms.
    expect(r.requests[1]!.at - r.requests[0]!.at).toBeGreaterThanOrEqual(950);
    expect(n.stats()).toMatchObject({ delivered: 1, retries: 1 });
  });

  it('a 400 is not retried: counted failed, logged with the origin only', async () => {
    const r = await receiver((_n, _req, res) => {
      res.writeHead(400).end('invalid_payload');
    });
    const { logger, lines } = capturingLogger();
    const secretPath = '/services/T9/B9/VERYSECRET';
    const n = notifier({ webhooks: [`${r.base}/hook?key=ALSOSECRET`], slackAddr: `${r.base}${secretPath}`, logger });
    n.selfCheck(sick);
    await n.flush(20_000);
    await sleep(200); // a retry, were there one, would come after ≤ 100 ms
    expect(r.requests).toHaveLength(2); // one to the webhook, one to "Slack"
    expect(n.stats()).toMatchObject({ delivered: 0, failed: 2, retries: 0 });
    const failures = lines.filter((l) => l.includes('notification rejected'));
    expect(failures).toHaveLength(2);
    expect(failures[0]).toContain(r.base);
    expect(failures[0]).toContain('HTTP 400: invalid_payload');
    const all = lines.join('\n');
    expect(all).not.toContain('VERYSECRET');
    expect(all).not.toContain('ALSOSECRET');
  });

  it('gives up after the last attempt; a request that hangs times out', async () => {
    const r = await receiver(() => 'hang');
    const n = notifier({ webhooks: [r.base], timeoutMs: 200, retry: { attempts: 2, baseDelayMs: 10, maxDelayMs: 10 } });
    n.selfCheck(sick);
    await n.flush(20_000);
    expect(r.requests).toHaveLength(2);
    expect(n.stats()).toMatchObject({ delivered: 0, failed: 1, retries: 1, queued: 0 });
  });

  it('network errors are retried', async () => {
    const r = await receiver();
    const dead = r.base;
    await r.close(); // nothing listens on that port any more: ECONNREFUSED
    const { logger, lines } = capturingLogger();
    const n = notifier({ webhooks: [`${dead}/gone`], logger, retry: { attempts: 3, baseDelayMs: 10, maxDelayMs: 10 } });
    n.selfCheck(sick);
    await n.flush(20_000);
    expect(n.stats()).toMatchObject({ delivered: 0, failed: 1, retries: 2 });
    expect(lines.filter((l) => l.includes('retrying'))).toHaveLength(2);
    expect(lines.join('\n')).toContain('ECONNREFUSED');
  });

  it('user:password in a webhook URL becomes basic auth, never logged', async () => {
    const r = await receiver();
    const { logger, lines } = capturingLogger();
    const n = notifier({ webhooks: [r.base.replace('http://', 'http://bob:s%3Acret@') + '/p'], logger });
    n.selfCheck(sick);
    await n.flush(20_000);
    expect(r.requests[0]!.headers.authorization).toBe(`Basic ${Buffer.from('bob:s:cret').toString('base64')}`);
    expect(r.requests[0]!.url).toBe('/p');
    expect(lines.join('\n')).not.toContain('cret');
  });
});

describe('Notifier never holds up the agent', () => {
  it('a hook returns before any receiver has seen the request, and a hanging receiver holds back no one else', async () => {
    const stuck = await receiver(() => 'hang');
    const fine = await receiver();
    const n = notifier({ webhooks: [stuck.base, fine.base], timeoutMs: 60_000 });

    const first = n.selfCheck(selfEvent(1)) as unknown;
    expect(first).toBeUndefined(); // not a promise: nothing to await
    expect(stuck.requests).toHaveLength(0);
    expect(fine.requests).toHaveLength(0);
    expect(n.stats().queued).toBe(2);
    await stuck.waitFor(1); // now its request is in flight and will never be answered

    const took: number[] = [];
    for (let i = 2; i <= 4; i++) {
      const t0 = performance.now();
      const ret = n.selfCheck(selfEvent(i)) as unknown;
      took.push(performance.now() - t0);
      expect(ret).toBeUndefined();
    }
    // Generous bound: a hook that waited for the hanging receiver would take 60 s.
    expect(Math.max(...took)).toBeLessThan(1000);

    // A receiver logs a request before its answer reaches the notifier: wait for the count.
    await until(() => n.stats().delivered === 4);
    expect(fine.requests.map((q) => (JSON.parse(q.body) as { detail: string }).detail)).toEqual(['event 1', 'event 2', 'event 3', 'event 4']);
    expect(stuck.requests).toHaveLength(1);
    expect(n.stats()).toMatchObject({ delivered: 4, queued: 4 }); // stuck: 1 in flight + 3 queued

    n.close();
    expect(n.stats()).toMatchObject({ delivered: 4, dropped: 4, queued: 0, failed: 0 });
    // The request in flight is aborted (its socket would keep the process up),
    // and is neither a failure nor a reason to retry.
    await until(() => stuck.abandoned() === 1);
    await sleep(100);
    expect(n.stats()).toEqual({ delivered: 4, dropped: 4, queued: 0, failed: 0, retries: 0 });
  });

  it('a hook does not throw even when building the message fails', async () => {
    const r = await receiver();
    const { logger, lines } = capturingLogger();
    const n = notifier({
      webhooks: [r.base],
      logger,
      agentId: () => {
        throw new Error('no id yet');
      },
    });
    expect(() => n.dnsChange(removal())).not.toThrow();
    expect(lines.some((l) => l.includes('notification hook failed') && l.includes('no id yet'))).toBe(true);
  });
});

describe('Notifier queue, flush, close, update', () => {
  it('a full queue drops the oldest messages and counts them; order is kept', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const r = await receiver((_n, _req, res) => {
      void gate.then(() => res.writeHead(200).end());
    });
    const { logger, lines } = capturingLogger();
    const n = notifier({ webhooks: [r.base], maxQueue: 2, logger });
    for (let i = 1; i <= 5; i++) n.selfCheck(selfEvent(i));
    expect(n.stats()).toMatchObject({ dropped: 3, queued: 2 });
    expect(lines.filter((l) => l.includes('queue full'))).toHaveLength(1);

    // Event 4 in flight, event 5 queued; 6, 7, 8 arrive: 5 and 6 (the oldest queued) go.
    await r.waitFor(1);
    for (let i = 6; i <= 8; i++) n.selfCheck(selfEvent(i));
    expect(n.stats()).toMatchObject({ dropped: 5, queued: 3 });
    release();
    await n.flush(20_000);
    expect(r.requests.map((q) => (JSON.parse(q.body) as { detail: string }).detail)).toEqual(['event 4', 'event 7', 'event 8']);
    expect(n.stats()).toMatchObject({ delivered: 3, dropped: 5, queued: 0 });
  });

  it('flush() resolves once the slow receiver has answered', async () => {
    const r = await receiver((_n, _req, res) => {
      setTimeout(() => res.writeHead(200).end(), 300);
    });
    const n = notifier({ webhooks: [r.base] });
    n.selfCheck(sick);
    expect(n.stats().delivered).toBe(0);
    await n.flush(20_000);
    expect(n.stats()).toMatchObject({ delivered: 1, queued: 0 });
  });

  it('flush() gives up at its deadline', async () => {
    const r = await receiver(() => 'hang');
    const n = notifier({ webhooks: [r.base], timeoutMs: 60_000 });
    n.selfCheck(sick);
    await n.flush(200);
    expect(n.stats()).toMatchObject({ delivered: 0, queued: 1 });
  });

  it('close() stops retries', async () => {
    const r = await receiver((_n, _req, res) => {
      res.writeHead(503).end();
    });
    const n = notifier({ webhooks: [r.base], retry: { attempts: 5, baseDelayMs: 300, maxDelayMs: 300 } });
    n.selfCheck(sick);
    await r.waitFor(1);
    await sleep(50); // the 503 is read and the retry wait (150–300 ms) has begun
    n.close();
    await sleep(800); // without close(), retries would arrive in this window
    expect(r.requests).toHaveLength(1);
    expect(n.stats()).toMatchObject({ delivered: 0, dropped: 1, queued: 0 });
    n.selfCheck(sick); // ignored after close
    await sleep(100);
    expect(r.requests).toHaveLength(1);
  });

  it('a backoff wait does not keep the process alive, and close() clears it', async () => {
    const r = await receiver();
    const dead = r.base;
    await r.close(); // ECONNREFUSED: no socket stays open, only the backoff timer is left
    const refTimers = (): number => process.getActiveResourcesInfo().filter((x) => x === 'Timeout').length;
    const before = refTimers();
    const n = notifier({ webhooks: [dead], retry: { attempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 } });
    n.selfCheck(sick);
    await until(() => n.stats().retries === 1); // now waiting 30–60 s before the next attempt
    expect(refTimers()).toBe(before);
    const flushing = n.flush(60_000);
    expect(refTimers()).toBe(before + 1); // flush's own deadline holds the process for its caller
    n.close();
    await flushing;
    expect(refTimers()).toBe(before);
    expect(n.stats()).toMatchObject({ dropped: 1, failed: 0, queued: 0 });
  });

  it('update() swaps receivers; later events go to the new ones only', async () => {
    const [a, b] = await Promise.all([receiver(), receiver()]);
    const n = notifier({ webhooks: [a.base] });
    n.selfCheck(selfEvent(1));
    await n.flush(20_000);
    n.update({ webhooks: [b.base], slackAddr: undefined });
    n.selfCheck(selfEvent(2));
    await n.flush(20_000);
    expect(a.requests).toHaveLength(1);
    expect(b.requests).toHaveLength(1);
    expect(JSON.parse(b.requests[0]!.body)).toMatchObject({ detail: 'event 2' });
    n.update({ webhooks: [] });
    n.selfCheck(selfEvent(3));
    expect(n.stats()).toMatchObject({ delivered: 2, queued: 0, dropped: 0 });
  });

  it('createNotifier() takes the config fields as they are', async () => {
    const r = await receiver();
    const n = createNotifier({ slackAddr: undefined, webhooks: [r.base] }, { logger: silentLogger(), agentId: () => 'cfg', dryRun: false });
    notifiers.push(n);
    n.clusterVerdict(verdictDown);
    await n.flush(20_000);
    expect(JSON.parse(r.requests[0]!.body)).toMatchObject({ agent: 'cfg', type: 'cluster_verdict' });
  });
});

describe('alert channels (PagerDuty, Opsgenie, Teams, Discord, Telegram) against local receivers', () => {
  it('each gets its own request shape; incidents open on a removal and a held removal and close on the restore', async () => {
    const [pd, og, teams, discord, tg] = await Promise.all([receiver(), receiver(), receiver(), receiver(), receiver()]);
    const n = notifier({
      webhooks: [],
      alerts: {
        pagerduty: { routingKey: 'PDKEY', url: `${pd.base}/v2/enqueue` },
        opsgenie: { apiKey: 'OGKEY', url: og.base },
        teams: `${teams.base}/workflows/abc?sig=s3cret`,
        discord: `${discord.base}/api/webhooks/1/t0ken`,
        telegram: { botToken: '123:TGTOKEN', chatId: '-100777', apiUrl: tg.base },
      },
    });
    const held = { type: 'A' as const, hostname: 'www.example.com', ip: '203.0.113.7' };
    n.clusterVerdict(verdictDown);
    n.dnsChange(removal());
    n.heldRemovals({ held: [held], at: AT + 1500 });
    n.clusterVerdict({ ...verdictDown, from: 'down', to: 'up', at: AT + 3000 });
    n.heldRemovals({ held: [], at: AT + 3500 });
    n.dnsChange({ ...removal(), op: 'create', summary: 'add A www.example.com 203.0.113.7', at: AT + 4000 });
    await n.flush(20_000);

    const bodies = (r: Receiver) => r.requests.map((q) => JSON.parse(q.body) as Record<string, unknown>);
    // PagerDuty: trigger (removal), trigger (held), resolve (released), resolve (restore); one key
    expect(pd.requests.map((q) => q.url)).toEqual(Array(4).fill('/v2/enqueue'));
    expect(bodies(pd).map((b) => `${b.event_action} ${(b.payload as { severity?: string } | undefined)?.severity ?? ''}`.trim())).toEqual([
      'trigger warning',
      'trigger critical',
      'resolve',
      'resolve',
    ]);
    expect(new Set(bodies(pd).map((b) => b.dedup_key))).toEqual(new Set(['goavail www.example.com 203.0.113.7']));
    expect(bodies(pd).every((b) => b.routing_key === 'PDKEY')).toBe(true);
    // Opsgenie: the key in the header, create / create / close / close
    const alias = encodeURIComponent('goavail www.example.com 203.0.113.7');
    expect(og.requests.map((q) => q.url)).toEqual([
      '/v2/alerts',
      '/v2/alerts',
      `/v2/alerts/${alias}/close?identifierType=alias`,
      `/v2/alerts/${alias}/close?identifierType=alias`,
    ]);
    expect(og.requests.every((q) => q.headers.authorization === 'GenieKey OGKEY')).toBe(true);
    expect(bodies(og).map((b) => b.priority)).toEqual(['P3', 'P1', undefined, undefined]);
    // chat channels: every notification (2 verdicts, 2 changes) plus held and released, in order
    expect(teams.requests).toHaveLength(6);
    expect(teams.requests[0]!.url).toBe('/workflows/abc?sig=s3cret');
    const lines = bodies(discord).map((b) => b.content as string);
    expect(lines).toHaveLength(6);
    expect(lines[0]).toMatch(/^🔴 goavail n1: cluster verdict 203\.0\.113\.7 is down/);
    expect(lines[1]).toMatch(/^🚨 goavail n1: removed A www\.example\.com 203\.0\.113\.7/);
    expect(lines[2]).toMatch(/every configured IP of www\.example\.com looks down/);
    expect(lines[4]).toMatch(/is no longer held/);
    expect(bodies(discord).every((b) => JSON.stringify(b.allowed_mentions) === '{"parse":[]}')).toBe(true);
    expect(tg.requests.map((q) => q.url)).toEqual(Array(6).fill('/bot123:TGTOKEN/sendMessage'));
    expect(bodies(tg).every((b) => b.chat_id === '-100777')).toBe(true);
    expect(n.stats()).toMatchObject({ delivered: 4 + 4 + 6 + 6 + 6, failed: 0, dropped: 0 });
  });

  it('a channel that answers 429 or 503 is retried through the same queue; logs name only its origin, never the token', async () => {
    const flaky = await receiver((i, _req, res) => {
      if (i === 0) res.writeHead(429, { 'retry-after': '0' }).end('slow down');
      else if (i === 1) res.writeHead(503).end('busy');
      else res.writeHead(200).end('{"ok":true}');
    });
    const { logger, lines } = capturingLogger();
    const n = notifier({ webhooks: [], logger, alerts: { telegram: { botToken: '999:SECRETTOKEN', chatId: '42', apiUrl: flaky.base } } });
    n.dnsChange(removal());
    await n.flush(20_000);
    expect(flaky.requests).toHaveLength(3);
    expect(n.stats()).toMatchObject({ delivered: 1, retries: 2, failed: 0 });
    expect(lines.join('\n')).not.toContain('SECRETTOKEN');
    expect(lines.some((l) => l.includes(flaky.base))).toBe(true);
  });

  it('a reload that drops a channel closes its receiver; one that keeps it keeps its queue', async () => {
    const pd = await receiver();
    const n = notifier({ webhooks: [], alerts: { pagerduty: { routingKey: 'K1', url: pd.base } } });
    n.update({ webhooks: [], pagerdutyRoutingKey: 'K1', pagerdutyUrl: pd.base });
    n.dnsChange(removal());
    await n.flush(20_000);
    expect(pd.requests).toHaveLength(1);
    n.update({ webhooks: [] });
    n.dnsChange(removal());
    await n.flush(20_000);
    expect(pd.requests).toHaveLength(1);
  });
});
