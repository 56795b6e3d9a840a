/**
 * Reading a config file: the only I/O of the config module.
 *
 * Why a dedicated error type: every way a file can be wrong (missing,
 * unreadable, bad TOML, bad values) ends as one `ConfigError` listing the
 * issues by key, so the CLI prints `ConfigError.message` and exits without a
 * stack trace, and a SIGHUP reload can log it and keep the running config.
 */
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import type { Config, ConfigIssue } from './schema.js';
import { validate } from './validate.js';

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

/**
 * Reads, parses and validates a goavail TOML file. Resolves with the config
 * and any warnings (unknown keys, deprecated keys, weak keys); throws
 * `ConfigError` for anything that prevents using the file.
 */
export async function loadConfig(path: string): Promise<{ config: Config; warnings: ConfigIssue[] }> {
  const file = resolve(path);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ key: '(file)', message: readFailure(err) }]);
  }
  let raw: unknown;
  try {
    raw = parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    throw new ConfigError(file, [{ key: '(syntax)', message: syntaxFailure(err) }]);
  }
  const result = validate(raw, file);
  if (!result.ok) throw new ConfigError(file, result.errors);
  return { config: result.config, warnings: result.warnings };
}

function readFailure(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT': return 'config file not found (no such file)';
    case 'EACCES':
    case 'EPERM': return 'cannot read the config file: permission denied';
    case 'EISDIR': return 'is a directory, not a config file';
    default: return `cannot read the config file: ${err instanceof Error ? err.message : String(err)}`;
  }
}

function syntaxFailure(err: unknown): string {
  if (err instanceof TomlError) {
    // smol-toml's message is "Invalid TOML document: <reason>\n\n<code block>".
    // The code block is left out on purpose: the offending line may hold a
    // secret (crypto_key, slack_addr), and line + column locate it anyway.
    const reason = (err.message.split('\n')[0] ?? '').replace(/^Invalid TOML document:\s*/, '');
    return `invalid TOML at line ${err.line}, column ${err.column}: ${reason}`;
  }
  return `invalid TOML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`;
}
