import { userInfo, hostname } from 'node:os';
import { resolve } from 'node:path';
import { ConfigError, loadConfig } from '../config/load.js';
import { DEFAULTS } from '../config/schema.js';
import { clientToken, ControlTokenError, type ControlToken } from '../control/token.js';
import { MAX_BY_LENGTH } from '../control/request.js';
import { EXIT } from './exit.js';

/**
 * How the commands that talk to a running agent (`status`, `drain`,
 * `undrain`, `drains`) find it and its control token.
 *
 * | what    | from, first that applies                                                         |
 * |---------|----------------------------------------------------------------------------------|
 * | address | `--addr`; the config's `status_addr` (`-f`); 127.0.0.1:9470                      |
 * | token   | env GOAVAIL_CONTROL_TOKEN; `--token-file`; the config's `control_token_file` (`-f`); `goavail.control-token` in the working folder (the default of a `goavail.toml` there) |
 */
export interface TargetFlags {
  readonly addr?: string | undefined;
  readonly configFile?: string | undefined;
  readonly tokenFile?: string | undefined;
}

/** A refusal of the command line or of the files it names: the message for stderr and the exit code. */
export interface TargetError {
  readonly error: string;
  readonly code: number;
}

export interface Target {
  readonly addr: string;
  /** The config's control_token_file when `-f` was given. */
  readonly configTokenFile?: string;
}

export function isTargetError(x: unknown): x is TargetError {
  return typeof x === 'object' && x !== null && 'error' in x && 'code' in x;
}

/** The agent's status address from the flags (and the config file, when given). */
export async function agentTarget(flags: TargetFlags): Promise<Target | TargetError> {
  if (flags.configFile === undefined) return { addr: flags.addr ?? DEFAULTS.statusAddr };
  let config;
  try {
    ({ config } = await loadConfig(flags.configFile));
  } catch (err) {
    return { error: err instanceof Error ? err.message : String(err), code: err instanceof ConfigError ? EXIT.usage : EXIT.failure };
  }
  if (flags.addr === undefined && config.statusAddr === undefined) {
    return {
      error: `${config.file}: status_addr is "" (the listener is off): that agent has no status or control endpoint; pass --addr if it runs with another config`,
      code: EXIT.usage,
    };
  }
  return { addr: flags.addr ?? (config.statusAddr as string), configTokenFile: config.controlTokenFile };
}

/** The control token, from the env, `--token-file`, the config, or the working folder (see the table above). */
export async function controlToken(flags: TargetFlags, target: Target, env: NodeJS.ProcessEnv): Promise<ControlToken | TargetError> {
  const file = flags.tokenFile !== undefined ? resolve(flags.tokenFile) : (target.configTokenFile ?? resolve(DEFAULTS.controlTokenFileName));
  try {
    return await clientToken(file, env);
  } catch (err) {
    if (err instanceof ControlTokenError) return { error: err.message, code: err.code === 'TOKEN_INVALID' ? EXIT.usage : EXIT.failure };
    throw err;
  }
}

/** `user@host` for the drain's `by`, cut to the agent's limit. */
export function whoAmI(): string {
  let user: string;
  try {
    user = userInfo().username;
  } catch {
    // A uid without a passwd entry (a container).
    user = `uid${process.getuid?.() ?? '?'}`;
  }
  return `${user}@${hostname()}`.slice(0, MAX_BY_LENGTH);
}
