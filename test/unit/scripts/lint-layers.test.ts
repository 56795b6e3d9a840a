import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/** The layer rules in eslint.config.js: a pure stage imports no I/O module and no wiring. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const eslint = new ESLint({ cwd: ROOT });

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(ROOT, file) });
  return (result?.messages ?? []).map((m) => `${m.ruleId}: ${m.message}`);
}

describe('lint layer rules', () => {
  it.each([
    ['a pure stage reading a file', 'src/detect/x.ts', "import { readFile } from 'node:fs/promises';\nexport const f = readFile;\n", true],
    ['a pure stage logging', 'src/quorum/x.ts', "import { createLogger } from '../log.js';\nexport const f = createLogger;\n", true],
    ['a pure stage importing the agent', 'src/dns/plan.ts', "import { Agent } from '../agent.js';\nexport const f = Agent;\n", true],
    ['a pure stage importing the address module', 'src/dns/plan.ts', "import { ipFamily } from '../net/ip.js';\nexport const f = ipFamily;\n", false],
    ['an I/O edge reading a file', 'src/config/load.ts', "import { readFile } from 'node:fs/promises';\nexport const f = readFile;\n", false],
  ])(
    '%s → %s',
    async (_name, file, code, refused) => {
      const found = (await problems(file, code)).filter((p) => p.startsWith('no-restricted-imports'));
      expect(found.length > 0).toBe(refused);
    },
    30_000,
  );
});
