import { chmod, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { agentToken, clientToken, ControlTokenError, tokenProblem, TOKEN_ENV } from '../../../src/control/token.js';
import { BearerCheck } from '../../../src/control/request.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'goavail-token-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const GOOD = 'a-token-of-enough-length-0123456789';

async function refusal(p: Promise<unknown>): Promise<ControlTokenError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ControlTokenError);
  return err as ControlTokenError;
}

describe('agentToken: the file', () => {
  it('creates 32 random bytes, base64url, mode 0600, no temporary file left, even under umask 000', async () => {
    const old = process.umask(0o000);
    try {
      const path = join(dir, 'goavail.control-token');
      const t = await agentToken(path, {});
      expect(t).toEqual({ value: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as unknown, source: path, created: true });
      expect((await stat(path)).mode & 0o777).toBe(0o600);
      expect((await readFile(path, 'utf8')).trim()).toBe(t.value);
      expect(await readdir(dir)).toEqual(['goavail.control-token']);
    } finally {
      process.umask(old);
    }
  });

  it('reads the same token on every later start (trimmed)', async () => {
    const path = join(dir, 't');
    const first = await agentToken(path, {});
    const again = await agentToken(path, {});
    expect(again).toEqual({ ...first, created: false });
    await writeFile(path, `  ${GOOD}\n\n`, { mode: 0o600 });
    expect((await agentToken(path, {})).value).toBe(GOOD);
  });

  it('two agents racing on one path end with one token', async () => {
    const path = join(dir, 't');
    const [a, b, c] = await Promise.all([agentToken(path, {}), agentToken(path, {}), agentToken(path, {})]);
    expect(new Set([a.value, b.value, c.value]).size).toBe(1);
    expect(await readdir(dir)).toEqual(['t']);
  });

  it.each([0o640, 0o604, 0o644, 0o660])('refuses a file of mode %o (group/others may read it), naming the fix', async (mode) => {
    const path = join(dir, 't');
    await writeFile(path, GOOD);
    await chmod(path, mode);
    const err = await refusal(agentToken(path, {}));
    expect(err.code).toBe('TOKEN_INSECURE');
    expect(err.message).toBe(`control token file ${path} has mode 0${mode.toString(8)}: group/others may read it; run \`chmod 600 ${path}\``);
  });

  it.each([
    ['empty', '', 'is empty'],
    ['blank', ' \n', 'is empty'],
    ['too short', 'short-token', 'is too short (11 characters; at least 16)'],
    ['with a space inside', 'a token with spaces in it', 'holds a character other than visible ASCII'],
  ])('refuses a file that is %s, and never quotes it', async (_what, content, message) => {
    const path = join(dir, 't');
    await writeFile(path, content, { mode: 0o600 });
    const err = await refusal(agentToken(path, {}));
    expect(err.code).toBe('TOKEN_INVALID');
    expect(err.message).toContain(`control token file ${path} ${message}`);
    if (content.trim() !== '') expect(err.message).not.toContain(content.trim());
  });

  it('refuses a directory', async () => {
    const path = join(dir, 'd');
    await mkdir(path, { mode: 0o700 });
    expect((await refusal(agentToken(path, {}))).message).toContain('is not a regular file');
  });

  it('a folder it cannot write: TOKEN_WRITE_FAILED naming the file', async () => {
    const path = join(dir, 'missing-folder', 't');
    const err = await refusal(agentToken(path, {}));
    expect(err.code).toBe('TOKEN_WRITE_FAILED');
    expect(err.message).toContain(`cannot create the control token file ${path}`);
  });
});

describe('the env GOAVAIL_CONTROL_TOKEN', () => {
  it('wins over the file, which is then neither read nor created', async () => {
    const path = join(dir, 't');
    expect(await agentToken(path, { [TOKEN_ENV]: ` ${GOOD} ` })).toEqual({ value: GOOD, source: TOKEN_ENV, created: false });
    expect(await readdir(dir)).toEqual([]);
    expect(await clientToken(path, { [TOKEN_ENV]: GOOD })).toEqual({ value: GOOD, source: TOKEN_ENV, created: false });
  });

  it.each([
    ['empty', '', 'GOAVAIL_CONTROL_TOKEN is empty'],
    ['too short', 'abc', 'GOAVAIL_CONTROL_TOKEN is too short (3 characters; at least 16)'],
  ])('%s: a clear error, for the agent and the CLI', async (_what, value, message) => {
    for (const p of [agentToken(join(dir, 't'), { [TOKEN_ENV]: value }), clientToken(join(dir, 't'), { [TOKEN_ENV]: value })]) {
      const err = await refusal(p);
      expect(err.code).toBe('TOKEN_INVALID');
      expect(err.message).toContain(message);
    }
  });
});

describe('clientToken', () => {
  it('reads the file, never creates it', async () => {
    const path = join(dir, 't');
    const err = await refusal(clientToken(path, {}));
    expect(err.code).toBe('TOKEN_MISSING');
    expect(err.message).toContain(`cannot read the control token file ${path}: it does not exist`);
    expect(await readdir(dir)).toEqual([]);
    await writeFile(path, `${GOOD}\n`, { mode: 0o600 });
    expect(await clientToken(path, {})).toEqual({ value: GOOD, source: path, created: false });
  });
});

describe('tokenProblem', () => {
  it.each([
    [GOOD, undefined],
    ['x'.repeat(16), undefined],
    ['x'.repeat(15), 'is too short (15 characters; at least 16)'],
    ['x'.repeat(1025), 'is too long (1025 characters; at most 1024)'],
    [`${'x'.repeat(16)}\u0000`, 'holds a character other than visible ASCII (spaces and control characters are not allowed)'],
    [`${'x'.repeat(16)}é`, 'holds a character other than visible ASCII (spaces and control characters are not allowed)'],
  ])('%j → %s', (token, problem) => {
    expect(tokenProblem(token)).toBe(problem);
  });
});

describe('BearerCheck', () => {
  const check = new BearerCheck(GOOD);
  it.each([
    [`Bearer ${GOOD}`, true],
    [`bearer ${GOOD}`, true],
    [`BEARER  ${GOOD} `, true],
    [undefined, false],
    ['', false],
    ['Bearer', false],
    ['Bearer ', false],
    [GOOD, false],
    [`Basic ${GOOD}`, false],
    [`Bearer ${GOOD.slice(0, -1)}`, false],
    [`Bearer ${GOOD}x`, false],
    [`Bearer ${GOOD} ${GOOD}`, false],
    [`Bearer ${GOOD.toUpperCase()}`, false],
  ])('%j → %s', (header, ok) => {
    expect(check.accepts(header)).toBe(ok);
  });
});
