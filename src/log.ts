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

/** JSON logs to stdout, pretty when a human watches, secrets redacted. */
export function createLogger(opts: LoggerOptions = {}): Logger {
  const level = opts.debug ? 'debug' : 'info';
  const pretty = opts.pretty ?? Boolean(process.stdout.isTTY);
  const base = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { pid: process.pid } };
  if (pretty && !opts.destination) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base, (opts.destination ?? process.stdout) as pino.DestinationStream);
}

/** A logger that drops everything, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
