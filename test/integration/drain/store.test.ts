import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DrainKeeper } from '../../../src/drain/keeper.js';
import { drainStateFile, loadDrains, saveDrains } from '../../../src/drain/store.js';
import type { DrainEntry } from '../../../src/drain/types.js';
import { silentLogger } from '../../../src/log.js';

/** The drain state file on a real file system, in a scratch folder. */
const A = '198.18.0.1';
const B = '198.18.0.2';
const NOW = 1_760_000_000_000;
const E1: DrainEntry = { ip: A, drained: true, at: NOW, origin: 'agent-a', until: undefined, by: 'alice', reason: 'kernel', source: 'operator' };
const E2: DrainEntry = { ip: B, drained: false, at: NOW, origin: 'agent-b', until: NOW + 60_000, by: 'bob', reason: '', source: 'operator' };

let dir: string;
let file: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'goavail-drains-'));
  file = join(dir, 'goavail.drains.json');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('drain state file', () => {
  it('lives beside the key file', () => {
    expect(drainStateFile('/etc/goavail/goavail.key')).toBe('/etc/goavail/goavail.drains.json');
  });

  it('round-trips entries (an open drain too), mode 0600, no temporary file left', () => {
    saveDrains(file, [E1, E2]);
    expect(loadDrains(file)).toEqual({ entries: [E1, E2], problems: [] });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readdirSync(dir)).toEqual(['goavail.drains.json']);
    expect(JSON.parse(readFileSync(file, 'utf8')).entries[0].until).toBeNull();
  });

  it('replaces the old file whole', () => {
    saveDrains(file, [E1, E2]);
    saveDrains(file, [E2]);
    expect(loadDrains(file).entries).toEqual([E2]);
  });

  it('a missing file is an empty state, without a problem', () => {
    expect(loadDrains(file)).toEqual({ entries: [], problems: [] });
  });

  it.each<[string, string, RegExp]>([
    ['corrupt', 'not json {', /not valid JSON/],
    ['truncated', JSON.stringify({ version: 1, entries: [E1] }).slice(0, 40), /not valid JSON/],
    ['empty', '', /not valid JSON/],
    ['an array', '[]', /not a drain state file/],
    ['another version', JSON.stringify({ version: 2, entries: [] }), /not a drain state file/],
    ['entries not a list', JSON.stringify({ version: 1, entries: {} }), /not a drain state file/],
  ])('a %s file is reported and ignored', (_name, text, want) => {
    writeFileSync(file, text);
    const r = loadDrains(file);
    expect(r.entries).toEqual([]);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]).toMatch(want);
    expect(r.problems[0]).toContain(file);
  });

  it('entries of wrong types are skipped one by one, naming the field; the good ones are kept', () => {
    writeFileSync(
      file,
      JSON.stringify({ version: 1, entries: [{ ...E1, at: 'soon' }, { ...E1, ip: '2001:DB8::1' }, 7, { ...E2, until: null }, { ...E1, extra: 1 }] }),
    );
    const r = loadDrains(file);
    expect(r.entries).toEqual([{ ...E2, until: undefined }, E1]);
    expect(r.problems).toEqual([
      `${file}: entries[0]: at: not a time; skipped`,
      `${file}: entries[1]: ip: not a canonical IP address; skipped`,
      `${file}: entries[2]: not an object; skipped`,
    ]);
  });

  it('an unreadable file (a folder at its path) is reported and ignored', () => {
    mkdirSync(file);
    const r = loadDrains(file);
    expect(r.entries).toEqual([]);
    expect(r.problems[0]).toMatch(/cannot read the drain state/);
  });

  it('a keeper over a corrupt file starts empty, logs, and writes a good file at the next drain', () => {
    writeFileSync(file, '{"version":1,"entries":[{');
    const errors: string[] = [];
    const logger = { ...silentLogger(), error: (_o: unknown, msg: string) => errors.push(msg) } as unknown as ReturnType<typeof silentLogger>;
    const k = new DrainKeeper(
      {
        selfId: 'agent-a',
        logger,
        file,
        ips: () => [A, B],
        hostnames: () => ['www.example.com'],
        verdicts: () =>
          new Map([
            [A, 'up'],
            [B, 'up'],
          ]),
        publish: () => undefined,
        changed: () => undefined,
      },
      NOW,
    );
    expect(errors[0]).toMatch(/not valid JSON/);
    expect(k.list(NOW)).toEqual([]);
    expect(k.drain({ ip: A }, NOW).ok).toBe(true);
    expect(loadDrains(file).entries).toMatchObject([{ ip: A, drained: true }]);
  });

  it('a keeper whose file cannot be written keeps the drain in memory and logs', () => {
    const errors: string[] = [];
    const logger = { ...silentLogger(), error: (_o: unknown, msg: string) => errors.push(msg) } as unknown as ReturnType<typeof silentLogger>;
    const k = new DrainKeeper(
      {
        selfId: 'agent-a',
        logger,
        file: join(dir, 'missing', 'x.json'),
        ips: () => [A, B],
        hostnames: () => ['w'],
        verdicts: () =>
          new Map([
            [A, 'up'],
            [B, 'up'],
          ]),
        publish: () => undefined,
        changed: () => undefined,
      },
      NOW,
    );
    expect(k.drain({ ip: A }, NOW).ok).toBe(true);
    expect(k.active(NOW).has(A)).toBe(true);
    expect(errors[0]).toMatch(/cannot write the drain state/);
  });
});
