import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';

export type { Logger };

/** Paths pino blanks out wherever they appear in a log object. */
const REDACT_PATHS = [
  'apiToken',
  'apiKey',
  'cryptoKey',
  'cryptoKeys',
  'crypto_key',
  'token',
  'authorization',
  '*.apiToken',
  '*.apiKey',
  '*.cryptoKey',
  '*.cryptoKeys',
  '*.crypto_key',
  '*.token',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
  '*.headers["x-auth-key"]',
];

export interface LoggerOptions {
  readonly debug?: boolean;
  /** Pretty-print for humans; default: when stdout is a TTY. */
  readonly pretty?: boolean;
  readonly destination?: NodeJS.WritableStream;
}

/**
 * How a terminal shows the log: one event per line (pino-pretty's default
 * spreads one event's fields over 10–20 lines), the time of day, no pid or
 * hostname (the same on every line).
 */
const PRETTY = { singleLine: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' } as const;

/** JSON logs to stdout, pretty when a human watches, secrets redacted. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.debug ? 'debug' : 'info';
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const base = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } };
  if (pretty && !opts.destination) {
    // a worker thread formats, so logging never waits for the terminal
    return pino({ ...base, transport: { target: 'pino-pretty', options: { ...PRETTY, colorize: true } } });
  }
  if (pretty && opts.destination) {
    // the same format into a given stream, in this thread (loaded only here)
    const build = createRequire(import.meta.url)('pino-pretty') as (o: object) => pino.DestinationStream;
    return pino(base, build({ ...PRETTY, colorize: false, destination: opts.destination, sync: true }));
  }
  return pino(base, (opts.destination ?? process.stdout) as pino.DestinationStream);
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
