import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { validate } from '../../../src/config/validate.js';

/**
 * The full output for every file of the bad corpus, pinned byte for byte in
 * test/fixtures/config/bad/<name>.expected: every error line as the CLI
 * prints it (`<file>: <key>: <message>`), then every warning validation
 * raised for the same file. load.test.ts checks one key and a fragment per
 * file; this pins the rest, so a refactor of the validator cannot change a
 * message unnoticed.
 *
 * The absolute path is replaced by `<file>` so the snapshot does not depend
 * on where the repository is checked out. New fixtures need their .expected
 * written once (`npx vitest run -u test/unit/config/bad-snapshot.test.ts`)
 * and committed: under CI=true vitest refuses to write a missing snapshot
 * and fails instead.
 */
const BAD = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/config/bad');

async function output(file: string): Promise<string> {
  const lines: string[] = [];
  try {
    await loadConfig(file);
    lines.push('(loaded without error)');
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    lines.push(...err.message.split('\n'));
  }
  // loadConfig drops the warnings of a refused file; validation still raised them.
  let raw: unknown;
  try {
    raw = parse((await readFile(file, 'utf8')).replace(/^\uFEFF/, ''));
  } catch {
    raw = undefined;
  }
  if (raw !== undefined) {
    for (const w of validate(raw, file).warnings) lines.push(`warning: ${file}: ${w.key}: ${w.message}`);
  }
  return `${lines.map((l) => l.split(file).join('<file>')).join('\n')}\n`;
}

const tomls = (await readdir(BAD)).filter((f) => f.endsWith('.toml')).sort();

describe('bad corpus: full output, exactly', () => {
  it('every .expected belongs to a .toml', async () => {
    const expected = (await readdir(BAD))
      .filter((f) => f.endsWith('.expected'))
      .map((f) => basename(f, '.expected'))
      .sort();
    expect(expected).toEqual(tomls.map((f) => basename(f, '.toml')).sort());
  });

  it.each(tomls)('%s', async (name) => {
    const file = join(BAD, name);
    await expect(await output(file)).toMatchFileSnapshot(join(BAD, `${basename(name, '.toml')}.expected`));
  });
});
