import { randomBytes } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { createPrivateFile, privateFileProblem } from '../secret-file.js';

/**
 * The control endpoint's bearer token: one secret per agent, shared with
 * whoever may drain (the CLI reads the same file, so only a user who can
 * read it can drain). Every control request needs it, from loopback too:
 * any local process is untrusted.
 *
 * | where from                        | who                    | when                                   |
 * |-----------------------------------|------------------------|----------------------------------------|
 * | env `GOAVAIL_CONTROL_TOKEN`       | agent and CLI          | set: wins over the file (never written) |
 * | `control_token_file`, existing    | agent and CLI          | read, trimmed; the agent refuses mode bits for group/others |
 * | `control_token_file`, missing     | agent                  | created: 32 random bytes, base64url, mode 0600, atomically |
 * | `control_token_file`, missing     | CLI                    | an error naming the file               |
 */
export const TOKEN_ENV = 'GOAVAIL_CONTROL_TOKEN';

/** Shortest token accepted (a generated one has 43 characters). */
const MIN_TOKEN_LENGTH = 16;
/** Longest token accepted: it travels in a header. */
const MAX_TOKEN_LENGTH = 1024;

export type ControlTokenErrorCode = 'TOKEN_INVALID' | 'TOKEN_INSECURE' | 'TOKEN_UNREADABLE' | 'TOKEN_MISSING' | 'TOKEN_WRITE_FAILED';

/** Why there is no usable token. None is retryable: an operator must act. The message never holds the token. */
export class ControlTokenError extends Error {
  override readonly name = 'ControlTokenError';
  constructor(
    readonly code: ControlTokenErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ControlToken {
  readonly value: string;
  /** Where it came from, for messages: the env name or the file path. */
  readonly source: string;
  /** The agent wrote the file just now. */
  readonly created: boolean;
}

/** Why `token` (trimmed) cannot be a bearer token, or undefined. Pure; never quotes the token. */
export function tokenProblem(token: string): string | undefined {
  if (token === '') return 'is empty';
  const n = [...token].length;
  if (n < MIN_TOKEN_LENGTH) return `is too short (${n} characters; at least ${MIN_TOKEN_LENGTH})`;
  if (n > MAX_TOKEN_LENGTH) return `is too long (${n} characters; at most ${MAX_TOKEN_LENGTH})`;
  // It goes into an `Authorization: Bearer` header as it is.
  if (!/^[\x21-\x7e]+$/.test(token)) return 'holds a character other than visible ASCII (spaces and control characters are not allowed)';
  return undefined;
}

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function fromEnv(env: NodeJS.ProcessEnv): ControlToken | undefined {
  const v = env[TOKEN_ENV];
  if (v === undefined) return undefined;
  const problem = tokenProblem(v.trim());
  if (problem !== undefined) throw new ControlTokenError('TOKEN_INVALID', `${TOKEN_ENV} ${problem}; unset it to use the control token file`);
  return { value: v.trim(), source: TOKEN_ENV, created: false };
}

/** Reads an existing token file; undefined when it does not exist. */
async function readTokenFile(path: string, checkMode: boolean): Promise<ControlToken | undefined> {
  let text: string;
  try {
    if (checkMode) {
      const st = await stat(path);
      const problem = privateFileProblem(path, st);
      if (problem !== undefined) throw new ControlTokenError(st.isFile() ? 'TOKEN_INSECURE' : 'TOKEN_UNREADABLE', `control token file ${problem}`);
    }
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (err instanceof ControlTokenError) throw err;
    if (errno(err) === 'ENOENT') return undefined;
    const why = errno(err) === 'EACCES' ? 'permission denied' : errno(err) === 'EISDIR' ? 'it is a directory' : String(err);
    throw new ControlTokenError('TOKEN_UNREADABLE', `cannot read the control token file ${path}: ${why}`, { cause: err });
  }
  const value = text.trim();
  const problem = tokenProblem(value);
  if (problem !== undefined) {
    throw new ControlTokenError('TOKEN_INVALID', `control token file ${path} ${problem}; fix it, or delete it and restart the agent to create a new one`);
  }
  return { value, source: path, created: false };
}

/**
 * The agent's token at start: `GOAVAIL_CONTROL_TOKEN` when set, else the
 * file, created (32 random bytes, base64url, mode 0600) when missing.
 * Refuses, like the identity key, a file that group or others may read.
 */
export async function agentToken(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ControlToken> {
  const e = fromEnv(env);
  if (e !== undefined) return e;
  const existing = await readTokenFile(path, true);
  if (existing !== undefined) return existing;
  const value = randomBytes(32).toString('base64url');
  let made: 'created' | 'exists';
  try {
    made = await createPrivateFile(path, `${value}\n`);
  } catch (err) {
    throw new ControlTokenError('TOKEN_WRITE_FAILED', `cannot create the control token file ${path}: ${String(err)}`, { cause: err });
  }
  if (made === 'created') return { value, source: path, created: true };
  // Another agent on the same path won the race: its token is the token.
  const theirs = await readTokenFile(path, true);
  if (theirs === undefined) throw new ControlTokenError('TOKEN_UNREADABLE', `control token file ${path} vanished while it was being created`);
  return theirs;
}

/**
 * The CLI's token: `GOAVAIL_CONTROL_TOKEN` when set, else the file as it is
 * (never created: only the agent makes it).
 */
export async function clientToken(path: string, env: NodeJS.ProcessEnv = process.env): Promise<ControlToken> {
  const e = fromEnv(env);
  if (e !== undefined) return e;
  const t = await readTokenFile(path, false);
  if (t === undefined) {
    throw new ControlTokenError(
      'TOKEN_MISSING',
      `cannot read the control token file ${path}: it does not exist (the agent creates it on its first start; pass -f <the agent's config> or --token-file, or set ${TOKEN_ENV})`,
    );
  }
  return t;
}
