import { describe, expect, it } from 'vitest';
import type { Verdict } from '../../../src/model.js';
import { describeChange, plan, type PlanInput } from '../../../src/dns/plan.js';
import { decideStandby, presenceVerdicts, trackTurns, type Presence, type StandbyInput, type Turn } from '../../../src/dns/standby.js';
import type { DnsRecord } from '../../../src/dns/types.js';

const H = 'www.example.com';
const P1 = '198.18.0.1';
const P2 = '198.18.0.2';
const P3 = '198.18.0.3';
const S1 = '198.18.0.9';
const S2 = '198.18.0.10';
const NOW = 1_000_000;
const DELAY = 60_000;

/** `up:5000` = up, turned 5 s before NOW; `up` = up, turned long ago. */
type V = `${'up' | 'down'}:${number}` | Verdict;

function input(primaries: Record<string, V>, standbys: Record<string, V>, over: Partial<StandbyInput> = {}): StandbyInput {
  const verdicts = new Map<string, Verdict>();
  const turns = new Map<string, Turn>();
  for (const [ip, v] of Object.entries({ ...primaries, ...standbys })) {
    const [verdict, ago] = v.split(':') as [Verdict, string | undefined];
    verdicts.set(ip, verdict);
    if (verdict !== 'unknown') turns.set(ip, { verdict, since: NOW - (ago === undefined ? 10 * DELAY : Number(ago)) });
  }
  return {
    now: NOW,
    primaryIps: Object.keys(primaries),
    standbyIps: Object.keys(standbys),
    minActive: 1,
    failbackDelayMs: DELAY,
    verdicts,
    turns,
    ...over,
  };
}

const presence = (i: StandbyInput): Record<string, Presence> => Object.fromEntries(decideStandby(i).presence);

describe('decideStandby: when a standby is in', () => {
  it.each<[string, Record<string, V>, Record<string, V>, Partial<StandbyInput>, Record<string, Presence>, boolean]>([
    // name, primaries, standbys, options, presence, failover
    ['every primary up (long ago): out', { [P1]: 'up', [P2]: 'up' }, { [S1]: 'up' }, {}, { [S1]: 'out' }, false],
    ['one of two down, min_active 1: out', { [P1]: 'up', [P2]: 'down' }, { [S1]: 'up' }, {}, { [S1]: 'out' }, false],
    ['every primary down: in', { [P1]: 'down', [P2]: 'down' }, { [S1]: 'up' }, {}, { [S1]: 'in' }, true],
    ['every primary down, the standby down: out', { [P1]: 'down', [P2]: 'down' }, { [S1]: 'down' }, {}, { [S1]: 'out' }, true],
    ['every primary down, the standby unknown: hold', { [P1]: 'down', [P2]: 'down' }, { [S1]: 'unknown' }, {}, { [S1]: 'hold' }, true],
    ['every primary unknown (a restart): hold, never in', { [P1]: 'unknown', [P2]: 'unknown' }, { [S1]: 'up' }, {}, { [S1]: 'hold' }, false],
    ['one down, one unknown, min_active 1: hold (the unknown may be up)', { [P1]: 'down', [P2]: 'unknown' }, { [S1]: 'up' }, {}, { [S1]: 'hold' }, false],
    ['min_active 2, one of three down: out', { [P1]: 'up', [P2]: 'up', [P3]: 'down' }, { [S1]: 'up' }, { minActive: 2 }, { [S1]: 'out' }, false],
    ['min_active 2, two of three down: in', { [P1]: 'up', [P2]: 'down', [P3]: 'down' }, { [S1]: 'up' }, { minActive: 2 }, { [S1]: 'in' }, true],
    [
      'min_active 2, one down, one unknown, one up: hold',
      { [P1]: 'up', [P2]: 'down', [P3]: 'unknown' },
      { [S1]: 'up' },
      { minActive: 2 },
      { [S1]: 'hold' },
      false,
    ],
    ['min_active 3 = every primary, one down: in', { [P1]: 'up', [P2]: 'up', [P3]: 'down' }, { [S1]: 'up' }, { minActive: 3 }, { [S1]: 'in' }, true],
    ['two standbys: each on its own verdict', { [P1]: 'down' }, { [S1]: 'up', [S2]: 'down' }, {}, { [S1]: 'in', [S2]: 'out' }, true],
    ['no standby: nothing to decide', { [P1]: 'down' }, {}, {}, {}, false],
  ])('%s', (_name, primaries, standbys, over, want, failover) => {
    const i = input(primaries, standbys, over);
    expect(presence(i)).toEqual(want);
    expect(decideStandby(i).failover).toBe(failover);
  });

  it('a drained primary is down in the verdicts it is given: it brings a standby in like any down one', () => {
    // Drains (a parallel feature) report a drained IP as down in Desired.verdicts(); the policy takes them as given.
    expect(presence(input({ [P1]: 'down:1000' }, { [S1]: 'up' }))).toEqual({ [S1]: 'in' });
  });
});

describe('decideStandby: failback', () => {
  it.each<[string, Record<string, V>, Record<string, V>, Partial<StandbyInput>, Record<string, Presence>, number | undefined]>([
    // name, primaries, standbys, options, presence, failbackAt
    [
      'back for less than failback_delay: hold, due when it has stayed up',
      { [P1]: 'up:10000', [P2]: 'down' },
      { [S1]: 'up' },
      {},
      { [S1]: 'hold' },
      NOW + DELAY - 10_000,
    ],
    ['back exactly failback_delay ago: out', { [P1]: `up:${DELAY}`, [P2]: 'down' }, { [S1]: 'up' }, {}, { [S1]: 'out' }, undefined],
    ['back for longer: out', { [P1]: `up:${DELAY + 1}`, [P2]: 'down' }, { [S1]: 'up' }, {}, { [S1]: 'out' }, undefined],
    ['failback_delay 0: out at once', { [P1]: 'up:0', [P2]: 'down' }, { [S1]: 'up' }, { failbackDelayMs: 0 }, { [S1]: 'out' }, undefined],
    [
      'min_active 2: the second primary back sets the clock',
      { [P1]: 'up', [P2]: 'up:5000', [P3]: 'down' },
      { [S1]: 'up' },
      { minActive: 2 },
      { [S1]: 'hold' },
      NOW + DELAY - 5000,
    ],
    [
      'min_active 2: one back is not enough, still failing over',
      { [P1]: 'up', [P2]: 'down', [P3]: 'down' },
      { [S1]: 'up' },
      { minActive: 2 },
      { [S1]: 'in' },
      undefined,
    ],
    ['back but young, the standby down: out (only while it is up)', { [P1]: 'up:1000' }, { [S1]: 'down' }, {}, { [S1]: 'out' }, NOW + DELAY - 1000],
    ['back but young, the standby unknown: hold', { [P1]: 'up:1000' }, { [S1]: 'unknown' }, {}, { [S1]: 'hold' }, NOW + DELAY - 1000],
    ['failback due, the standby unknown: out all the same', { [P1]: 'up' }, { [S1]: 'unknown' }, {}, { [S1]: 'out' }, undefined],
    ['a primary up without a remembered turn counts as turned now', { [P1]: 'up' }, { [S1]: 'up' }, { turns: new Map() }, { [S1]: 'hold' }, NOW + DELAY],
  ])('%s', (_name, primaries, standbys, over, want, failbackAt) => {
    const i = input(primaries, standbys, over);
    expect(presence(i)).toEqual(want);
    expect(decideStandby(i).failbackAt).toBe(failbackAt);
  });

  it('walks a whole episode: in while the primaries are down, held while they are young, out once they have stayed up', () => {
    const at = (now: number, p1: Verdict, s1: Verdict, turns: Map<string, Turn>): Presence => {
      const verdicts = new Map<string, Verdict>([
        [P1, p1],
        [S1, s1],
      ]);
      const next = trackTurns(turns, verdicts, now);
      turns.clear();
      for (const [k, v] of next) turns.set(k, v);
      return decideStandby({ now, primaryIps: [P1], standbyIps: [S1], minActive: 1, failbackDelayMs: DELAY, verdicts, turns }).presence.get(S1)!;
    };
    const turns = new Map<string, Turn>();
    expect(at(0, 'unknown', 'unknown', turns)).toBe('hold'); // start: nothing known
    expect(at(1000, 'up', 'up', turns)).toBe('hold'); // primary up, but "up since" is now: nothing to fail back from
    expect(at(1000 + DELAY, 'up', 'up', turns)).toBe('out');
    expect(at(100_000, 'down', 'up', turns)).toBe('in');
    expect(at(110_000, 'up', 'up', turns)).toBe('hold');
    expect(at(120_000, 'unknown', 'up', turns)).toBe('hold'); // a lapse of agreement…
    expect(at(110_000 + DELAY - 1, 'up', 'up', turns)).toBe('hold'); // …does not restart the clock
    expect(at(110_000 + DELAY, 'up', 'up', turns)).toBe('out');
  });
});

describe('decideStandby: triggers (who writes in a cluster)', () => {
  it.each<[string, Record<string, V>, Record<string, V>, { ip: string; at: number } | undefined]>([
    ['in: the primary that went down last', { [P1]: 'down:9000', [P2]: 'down:3000' }, { [S1]: 'up:50000' }, { ip: P2, at: NOW - 3000 }],
    ['in: the standby itself when it came up after the primaries went down', { [P1]: 'down:9000' }, { [S1]: 'up:1000' }, { ip: S1, at: NOW - 1000 }],
    [
      'out (failback): the primary that completed min_active, at the moment the failback fell due',
      { [P1]: `up:${DELAY + 500}` },
      { [S1]: 'up' },
      { ip: P1, at: NOW - 500 },
    ],
    ['out (standby down): the standby itself', { [P1]: 'down' }, { [S1]: 'down:2000' }, { ip: S1, at: NOW - 2000 }],
    ['hold: none', { [P1]: 'unknown' }, { [S1]: 'up' }, undefined],
  ])('%s', (_name, primaries, standbys, want) => {
    expect(decideStandby(input(primaries, standbys)).triggers.get(S1)).toEqual(want);
  });
});

describe('trackTurns', () => {
  it.each<[string, Turn | undefined, Verdict, Turn | undefined]>([
    ['first sight up: turned now', undefined, 'up', { verdict: 'up', since: NOW }],
    ['first sight unknown: nothing', undefined, 'unknown', undefined],
    ['same verdict: unchanged', { verdict: 'up', since: 5 }, 'up', { verdict: 'up', since: 5 }],
    ['turned: now', { verdict: 'down', since: 5 }, 'up', { verdict: 'up', since: NOW }],
    ['unknown: the last known kept', { verdict: 'up', since: 5 }, 'unknown', { verdict: 'up', since: 5 }],
  ])('%s', (_name, prev, verdict, want) => {
    const before = new Map<string, Turn>(prev ? [[P1, prev]] : []);
    expect(trackTurns(before, new Map([[P1, verdict]]), NOW).get(P1)).toEqual(want);
  });

  it('forgets IPs that are no longer given (a reload removed them)', () => {
    expect([...trackTurns(new Map([[P1, { verdict: 'up', since: 5 }]]), new Map(), NOW).keys()]).toEqual([]);
  });
});

describe('the plan with standbys (keep-last)', () => {
  let n = 0;
  const rec = (content: string): DnsRecord => ({ id: `r${++n}`, type: content.includes(':') ? 'AAAA' : 'A', name: H, content, proxied: false, ttl: 1 });
  /** Plans with the standby decision in force, as the controller does. */
  function planWith(primaries: Record<string, V>, standbys: Record<string, V>, present: string[], over: Partial<StandbyInput> = {}) {
    const i = input(primaries, standbys, over);
    const decision = decideStandby(i);
    const p: PlanInput = {
      hostnames: [H],
      ips: [...i.primaryIps, ...i.standbyIps],
      verdicts: presenceVerdicts(i.verdicts, decision),
      current: present.map(rec),
      proxied: false,
      ttl: 1,
    };
    const out = plan(p);
    return { changes: out.changes.map(describeChange), held: out.held.map((h) => h.record.content).sort() };
  }

  it.each<[string, Record<string, V>, Record<string, V>, string[], string[], string[]]>([
    // name, primaries, standbys, in DNS, changes (in order), held
    [
      'primaries down: the standby comes in and the dead primaries go, in one batch, the create first',
      { [P1]: 'down', [P2]: 'down' },
      { [S1]: 'up' },
      [P1, P2],
      [`add A ${H} ${S1}`, `remove A ${H} ${P1}`, `remove A ${H} ${P2}`],
      [],
    ],
    [
      'one primary removed earlier, the last goes down: the standby is added, then the last primary removed',
      { [P1]: 'down', [P2]: 'down' },
      { [S1]: 'up' },
      [P2],
      [`add A ${H} ${S1}`, `remove A ${H} ${P2}`],
      [],
    ],
    [
      'the standby unknown (just restarted): the last primary is held, nothing replaces it',
      { [P1]: 'down', [P2]: 'down' },
      { [S1]: 'unknown' },
      [P2],
      [],
      [P2],
    ],
    ['failback due: the standby removed, primaries stay', { [P1]: 'up', [P2]: 'up' }, { [S1]: 'up' }, [P1, P2, S1], [`remove A ${H} ${S1}`], []],
    [
      'failback not due yet: the primary back is added, the standby stays',
      { [P1]: 'up:1000', [P2]: 'down' },
      { [S1]: 'up' },
      [P2, S1],
      [`add A ${H} ${P1}`, `remove A ${H} ${P2}`],
      [],
    ],
    [
      'a primary back and the failback due together: its create comes before the standby delete',
      { [P1]: `up:${DELAY}` },
      { [S1]: 'up' },
      [S1],
      [`add A ${H} ${P1}`, `remove A ${H} ${S1}`],
      [],
    ],
    ['everything down, the standby the only record: it stays', { [P1]: 'down' }, { [S1]: 'down' }, [S1], [], [S1]],
    ['everything down, a primary and the standby in DNS: both stay (the records that exist stay)', { [P1]: 'down' }, { [S1]: 'down' }, [P1, S1], [], [P1, S1]],
    ['the standby down, a primary up: the standby goes', { [P1]: 'up', [P2]: 'down' }, { [S1]: 'down' }, [P1, S1], [`remove A ${H} ${S1}`], []],
    [
      'two standbys in, one goes down: it goes with the dead primary, the other keeps the name',
      { [P1]: 'down' },
      { [S1]: 'down', [S2]: 'up' },
      [P1, S1, S2],
      [`remove A ${H} ${P1}`, `remove A ${H} ${S1}`],
      [],
    ],
    ['the standby down while failing over, the name empty of primaries: held', { [P1]: 'down', [P2]: 'down' }, { [S1]: 'down' }, [S1], [], [S1]],
    ['a standby that is not in stays out while primaries are young', { [P1]: 'up:1000' }, { [S1]: 'up' }, [P1], [], []],
    ['after a restart (every verdict unknown) a standby in DNS stays', { [P1]: 'unknown' }, { [S1]: 'unknown' }, [P1, S1], [], []],
    [
      'primaries empty in DNS, all down, standby up: it comes in (no primary record to hold)',
      { [P1]: 'down', [P2]: 'down' },
      { [S1]: 'up' },
      [],
      [`add A ${H} ${S1}`],
      [],
    ],
    ['without standbys keep-last is as before', { [P1]: 'down', [P2]: 'up' }, {}, [P1, P2], [`remove A ${H} ${P1}`], []],
  ])('%s', (_name, primaries, standbys, present, changes, held) => {
    const p = planWith(primaries, standbys, present);
    expect(p.changes).toEqual(changes);
    expect(p.held).toEqual(held);
  });
});
