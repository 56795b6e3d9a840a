import type { Logger } from '../log.js';
import { EXIT } from './exit.js';

export interface SignalHandlers {
  readonly logger: Logger;
  /** SIGHUP. Runs one at a time; a SIGHUP during a reload runs another reload after it. */
  readonly onReload: () => Promise<void>;
  /** SIGTERM/SIGINT: stop everything. */
  readonly onStop: () => Promise<void>;
  /** Give up waiting for onStop after this long and exit anyway (default 4 s, inside the 5 s promise). */
  readonly stopDeadlineMs?: number;
}

/**
 * Signals in one place. Resolves with the exit code once the process
 * should end: 0 after a clean stop (or a stop that overran the deadline),
 * 130 on a second SIGINT/SIGTERM.
 */
export function handleSignals(h: SignalHandlers): Promise<number> {
  return new Promise((resolve) => {
    let stopping = false;
    let reloading: Promise<void> | undefined;
    let reloadAgain = false;

    const reload = (): void => {
      if (stopping) return;
      if (reloading) {
        reloadAgain = true;
        return;
      }
      h.logger.info('SIGHUP: reloading the config');
      reloading = h.onReload().finally(() => {
        reloading = undefined;
        if (reloadAgain) {
          reloadAgain = false;
          reload();
        }
      });
    };

    const finish = (code: number): void => {
      process.off('SIGHUP', reload);
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      resolve(code);
    };

    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        h.logger.warn({ signal }, 'second signal: exiting now');
        finish(EXIT.forced);
        return;
      }
      stopping = true;
      h.logger.info({ signal }, 'stopping');
      const deadline = setTimeout(() => {
        h.logger.warn('stop took too long; exiting anyway');
        finish(EXIT.ok);
      }, h.stopDeadlineMs ?? 4_000);
      deadline.unref();
      h.onStop()
        .catch((err: unknown) => h.logger.error({ err }, 'error while stopping'))
        .finally(() => {
          clearTimeout(deadline);
          finish(EXIT.ok);
        });
    };

    process.on('SIGHUP', reload);
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
}
