import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { Controller, type Desired } from '../../../src/controller/controller.js';
import type { DnsChangeEvent, StandbyEvent } from '../../../src/events.js';
import type { Scheduler, Verdict, WriterStanding } from '../../../src/model.js';
import { testConfig } from '../../support/config.js';
import { FakeDns } from '../../support/fake-dns.js';

/** The controller with standby IPs: failover, failback on time (nextInMs), status, and who writes in a cluster. */

const P1 = '198.18.0.1';
const P2 = '198.18.0.2';
const S = '198.18.0.9';
const WWW = 'www.example.com';
const DELAY = 60_000;
const rec = (content: string) => ({ type: 'A' as const, name: WWW, content, proxied: false, ttl: 1 });

function harness(dns: FakeDns, verdicts: Record<string, Verdict>, writer?: Desired['writer']) {
  const clock = { t: 1_000_000 };
  const events: StandbyEvent[] = [];
  const changes: DnsChangeEvent[] = [];
  const scheduler: Scheduler = { now: () => clock.t, setTimer: () => undefined, clearTimer: () => undefined };
  const desired: Desired = { verdicts: () => new Map(Object.entries(verdicts)), ...(writer ? { writer } : {}) };
  const config = testConfig({ ips: [P1, P2], standbyIps: [S], hostnames: [WWW], failbackDelayMs: DELAY });
  const controller = new Controller(
    { logger: pino({ level: 'silent' }), scheduler, desired, events: { standby: (e) => events.push(e), dnsChange: (e) => changes.push(e) } },
    config,
    dns,
  );
  const run = () => controller.runOnce('test', new AbortController().signal);
  return { controller, clock, verdicts, run, events, changes };
}

describe('Controller with standby IPs', () => {
  it('primaries down → the standby comes in; back → it leaves failback_delay later, and the pass says when to look again', async () => {
    const dns = new FakeDns([rec(P1), rec(P2)]);
    const h = harness(dns, { [P1]: 'up', [P2]: 'up', [S]: 'up' });
    expect(await h.run()).toEqual({ ok: true, nextInMs: undefined });
    expect(dns.contents(WWW)).toEqual([P1, P2]);

    h.verdicts[P1] = 'down';
    await h.run();
    expect(dns.contents(WWW)).toEqual([P2]); // one primary is enough (min_active 1): no standby
    h.verdicts[P2] = 'down';
    h.clock.t += 1000;
    await h.run();
    expect(dns.contents(WWW)).toEqual([S]); // the standby in and the dead last primary out, in one apply (the create first)
    expect(h.controller.state().standby).toMatchObject({ failover: true, failbackAt: undefined });
    expect(h.controller.state().held).toEqual([]);

    h.clock.t += 5000;
    const backAt = h.clock.t;
    h.verdicts[P1] = 'up';
    expect(await h.run()).toEqual({ ok: true, nextInMs: DELAY });
    expect(dns.contents(WWW)).toEqual([P1, S]); // P1 back; the standby waits for the failback
    expect(h.controller.state().standby).toMatchObject({ failover: false, failbackAt: backAt + DELAY });

    h.clock.t = backAt + DELAY - 1;
    expect(await h.run()).toEqual({ ok: true, nextInMs: 1 });
    expect(dns.contents(WWW)).toEqual([P1, S]);

    h.clock.t = backAt + DELAY;
    expect(await h.run()).toEqual({ ok: true, nextInMs: undefined });
    expect(dns.contents(WWW)).toEqual([P1]);
    expect(h.controller.state().standby?.presence.get(S)).toBe('out');
    // One event when the failover began, one when it ended (for metrics): none for the passes between.
    expect(h.events.map((e) => [e.failover, e.standbyIps, e.minActive])).toEqual([
      [true, [S], 1],
      [false, [S], 1],
    ]);
    // The watchers learn why a standby's record came and went; a primary's change carries no reason.
    expect(h.changes.map((c) => [c.summary, c.standby])).toEqual([
      [`remove A ${WWW} ${P1}`, undefined],
      [`add A ${WWW} ${S}`, 'failover'],
      [`remove A ${WWW} ${P2}`, undefined],
      [`add A ${WWW} ${P1}`, undefined],
      [`remove A ${WWW} ${S}`, 'failback'],
    ]);
  });

  it('a primary that flaps back down during the wait restarts the failback clock', async () => {
    const dns = new FakeDns([rec(P1), rec(S)]);
    const h = harness(dns, { [P1]: 'up', [P2]: 'down', [S]: 'up' });
    const first = h.clock.t;
    expect((await h.run()).ok).toBe(true);
    h.clock.t = first + DELAY / 2;
    h.verdicts[P1] = 'down';
    await h.run();
    expect(dns.contents(WWW)).toEqual([S]); // failover: S stays in, P1 (down) goes
    h.clock.t = first + DELAY / 2 + 100;
    h.verdicts[P1] = 'up';
    await h.run();
    h.clock.t = first + DELAY; // the first clock would be due now
    await h.run();
    expect(dns.contents(WWW)).toEqual([P1, S]);
    h.clock.t = first + DELAY / 2 + 100 + DELAY;
    await h.run();
    expect(dns.contents(WWW)).toEqual([P1]);
  });

  it('after a restart every verdict is unknown: a standby in DNS stays, none comes in, and nothing is scheduled for it', async () => {
    const dns = new FakeDns([rec(P1), rec(S)]);
    const h = harness(dns, { [P1]: 'unknown', [P2]: 'unknown', [S]: 'unknown' });
    expect(await h.run()).toEqual({ ok: true, nextInMs: undefined });
    expect(dns.contents(WWW)).toEqual([P1, S]);
    // The primaries come up: the failback clock starts now, not at some earlier time.
    h.verdicts[P1] = 'up';
    h.verdicts[S] = 'up';
    expect(await h.run()).toEqual({ ok: true, nextInMs: DELAY });
    expect(dns.contents(WWW)).toEqual([P1, S]);
  });

  it('no failback look-again when no standby is in DNS', async () => {
    const dns = new FakeDns([rec(P1)]);
    const h = harness(dns, { [P1]: 'up', [P2]: 'down', [S]: 'up' });
    expect(await h.run()).toEqual({ ok: true, nextInMs: undefined });
    expect(dns.contents(WWW)).toEqual([P1]);
  });

  it('in a cluster, a standby change is written by the writer of the turn that caused it (the primary that went down)', async () => {
    const dns = new FakeDns([rec(P1), rec(P2)]);
    const asked: string[] = [];
    const grace = 3000; // writerGraceMs of the test config (3 × 20 ms < 3 s)
    const writer: Desired['writer'] = {
      standing: (ip: string): WriterStanding => {
        asked.push(ip);
        // Not the designated writer of anything, rank 0: it writes a change grace ms after its turn.
        return { since: 0, designated: false, rank: 0 };
      },
      recentDelays: () => [],
    };
    const h = harness(dns, { [P1]: 'up', [P2]: 'up', [S]: 'up' }, writer);
    await h.run();
    h.verdicts[P1] = 'down';
    h.verdicts[P2] = 'down';
    h.clock.t += 10;
    const out = await h.run();
    // The standby (up for long) would be writable at once on its own standing; the trigger is the primaries' turn, just now.
    expect(asked.some((ip) => ip === P1 || ip === P2)).toBe(true);
    expect(out).toEqual({ ok: true, nextInMs: grace });
    // The primaries' removals were this agent's to write at once, but they wait with the standby's create: never an empty name.
    expect(dns.contents(WWW)).toEqual([P1, P2]);
    h.clock.t += grace;
    await h.run();
    expect(dns.contents(WWW)).toEqual([S]); // the standby in, the dead primaries out
  });
});
