/**
 * Reading a config file: the only I/O of the config module.
 *
 * Why a dedicated error type: every way a file can be wrong (missing,
 * unreadable, bad TOML, bad values) ends as one `ConfigError` listing the
 * issues by key, so the CLI prints `ConfigError.message` and exits without a
 * stack trace, and a SIGHUP reload can log it and keep the running config.
 */
import { X509Certificate } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { describeRedefinition } from './redefinition.js';
import type { Config, ConfigIssue } from './schema.js';
import { validate, type ConfigOverrides } from './validate.js';

/** A config file that cannot be used; `message` lists every issue, one per line. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly file: string;
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[]) {
    super(formatIssues(file, issues));
    this.file = file;
    this.issues = issues;
  }
}

/** One line per issue: `<file>: <key>: <message>`. */
export function formatIssues(file: string, issues: readonly ConfigIssue[]): string {
  return issues.map((i) => `${file}: ${i.key}: ${i.message}`).join('\n');
}

/** A config file above this size is refused before it is read (10 MiB; real ones are a few KiB). */
export const MAX_CONFIG_BYTES = 10 * 1024 * 1024;

/**
 * Reads, parses and validates a goavail TOML file. Resolves with the config
 * and any warnings (unknown keys, deprecated keys, weak keys); throws
 * `ConfigError` for anything that prevents using the file.
 *
 * Only a regular file of at most {@link MAX_CONFIG_BYTES} is read. Why: a
 * FIFO opened the usual way blocks in `open()` until a writer comes (for
 * ever, holding one of libuv's four file-system threads), and a symlink to
 * `/dev/zero` reads until memory runs out. So the file is opened
 * non-blocking, its type and size are checked on the open handle (no race
 * with a rename), and the read stops at the limit even if the file grows.
 */
export async function loadConfig(path: string, overrides: ConfigOverrides = {}): Promise<{ config: Config; warnings: ConfigIssue[] }> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readConfigText(file);
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, [{ key: '(file)', message: readFailure(err) }]);
  }
  let raw: unknown;
  try {
    raw = parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConfigError(file, [{ key: '(syntax)', message: syntaxFailure(err, text) }]);
  }
  const result = validate(raw, file, overrides);
  if (!result.ok) throw new ConfigError(file, result.errors);
  const config = await withCaFile(file, result.config);
  return { config, warnings: result.warnings };
}

/** A CA bundle above this size is refused (1 MiB; the whole Mozilla bundle is ~220 KB). */
const MAX_CA_FILE_BYTES = 1024 * 1024;

/**
 * `[HTTP] ca_file`, read here (validation does no I/O) when the https
 * prober will use it: it must be a regular file holding at least one PEM
 * certificate, every one of them parseable. Its text rides in the config
 * (`http.caPem`), so a reload reads it again and a file that turns bad is
 * refused like any other bad value.
 */
async function withCaFile(file: string, config: Config): Promise<Config> {
  const http = config.http;
  const path = http?.caFile;
  if (http === undefined || path === undefined || config.probeType !== 'https') return config;
  const key = 'HTTP.ca_file';
  // Named as the operator wrote it when it sits beside the config file (the absolute path otherwise).
  const rel = relative(dirname(file), path);
  const shown = rel !== '' && !rel.startsWith('..') && !isAbsolute(rel) ? rel : path;
  let text: string;
  try {
    text = await readRegularFile(path, MAX_CA_FILE_BYTES, (message) => new ConfigError(file, [{ key, message: `${shown}: ${message}` }]));
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(file, [{ key, message: `cannot read ${shown}: ${caReadFailure(err)}` }]);
  }
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new ConfigError(file, [{ key, message: `${shown} holds no PEM certificate (-----BEGIN CERTIFICATE-----)` }]);
  for (const [i, block] of blocks.entries()) {
    try {
      new X509Certificate(block);
    } catch (err) {
      throw new ConfigError(file, [{ key, message: `${shown}: certificate ${i + 1} cannot be parsed: ${err instanceof Error ? err.message : String(err)}` }]);
    }
  }
  return { ...config, http: { ...http, caPem: blocks.join('\n') + '\n' } };
}

function caReadFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  return err instanceof Error ? err.message : String(err);
}

/** A regular file's text, at most `limit` bytes, opened as readConfigText does (a FIFO never blocks). */
async function readRegularFile(path: string, limit: number, refuseWith: (message: string) => Error): Promise<string> {
  const check = (st: Stats): void => {
    if (!st.isFile()) throw refuseWith(`is ${fileKind(st)}, not a regular file`);
    if (st.size > limit) throw refuseWith(`is ${st.size} bytes, more than ${limit}`);
  };
  check(await stat(path));
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  try {
    check(await handle.stat());
    const buf = Buffer.alloc(limit + 1);
    let total = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buf, total, limit + 1 - total, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > limit) throw refuseWith(`grew past ${limit} bytes while being read`);
    }
    return buf.subarray(0, total).toString('utf8');
  } finally {
    await handle.close();
  }
}

/** What a file that is not a regular file is, for the error message. */
function fileKind(st: Stats): string {
  if (st.isDirectory()) return 'a directory';
  if (st.isFIFO()) return 'a FIFO (named pipe)';
  if (st.isSocket()) return 'a socket';
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  return 'not a regular file';
}

function refuse(file: string, message: string): ConfigError {
  return new ConfigError(file, [{ key: '(file)', message }]);
}

function checkFile(file: string, st: Stats): void {
  if (!st.isFile()) throw refuse(file, `is ${fileKind(st)}, not a regular file`);
  if (st.size > MAX_CONFIG_BYTES) throw refuse(file, tooLarge(`is ${st.size} bytes`));
}

function tooLarge(what: string): string {
  return `${what}: a config file may be at most ${MAX_CONFIG_BYTES / 1024 / 1024} MiB (${MAX_CONFIG_BYTES} bytes)`;
}

/**
 * The file's text: checked by path first (so a device is not even opened),
 * then opened with O_NONBLOCK (a FIFO swapped in between does not block the
 * open; O_NONBLOCK changes nothing for a regular file), checked again on the
 * handle, and read to at most the limit plus one byte, which tells "at the
 * limit" from "above it" without ever holding more.
 */
async function readConfigText(file: string): Promise<string> {
  checkFile(file, await stat(file));
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (err) {
    // EISDIR and the like after a swap between stat and open.
    throw refuse(file, readFailure(err));
  }
  try {
    const st = await handle.stat();
    checkFile(file, st);
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const want = Math.min(Math.max(st.size + 1, 64 * 1024), MAX_CONFIG_BYTES + 1 - total);
      if (want <= 0) break;
      const chunk = Buffer.allocUnsafe(want);
      const { bytesRead } = await handle.read(chunk, 0, want, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    if (total > MAX_CONFIG_BYTES) throw refuse(file, tooLarge(`grew while being read (from ${st.size} bytes to more than ${MAX_CONFIG_BYTES})`));
    return Buffer.concat(chunks, total).toString('utf8');
  } finally {
    await handle.close();
  }
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return 'config file not found (no such file)';
    case 'EACCES':
    case 'EPERM':
      return 'cannot read the config file: permission denied';
    case 'EISDIR':
      return 'is a directory, not a regular file';
    default:
      return `cannot read the config file: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function syntaxFailure(err: unknown, text: string): string {
  if (err instanceof TomlError) {
    // smol-toml's message is "Invalid TOML document: <reason>\n\n<code block>".
    // The code block is left out on purpose: the offending line may hold a
    // secret (crypto_key, slack_addr), and line + column locate it anyway.
    const reason = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/, '');
    // "trying to redefine …" names neither the key nor its first line: find both.
    const twice = /redefine/.test(reason) ? describeRedefinition(text, err.line) : undefined;
    return `invalid TOML at line ${err.line}, column ${err.column}: ${twice ?? reason}`;
  }
  return `invalid TOML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
}
