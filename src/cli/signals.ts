import type { Logger } from '../log.js';
import { EXIT } from './exit.js';

export interface SignalHandlers {
  readonly logger: Logger;
  /**
   * SIGHUP. Runs one at a time; SIGHUPs during a reload are queued once (they
   * may follow an edit the running read did not see) and run one more reload
   * after it. Must settle in bounded time (reload.ts gives up after 5 s).
   */
  readonly onReload: () => Promise<void>;
  /** SIGTERM/SIGINT: stop everything. */
  readonly onStop: () => Promise<void>;
  /**
   * Give up waiting for onStop after this long and exit anyway (default 4 s,
   * inside the 5 s promise). The CLI ends the process when handle() resolves,
   * whatever is still pending (a hung file-system read would otherwise keep
   * it alive).
   */
  readonly stopDeadlineMs?: number;
}

/** Where signals come from: the process, or an EventEmitter in tests. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
  off(signal: NodeJS.Signals, listener: (signal: NodeJS.Signals) => void): unknown;
}

const SIGNALS: readonly NodeJS.Signals[] = ['SIGHUP', 'SIGTERM', 'SIGINT'];

export interface SignalGate {
  /**
   * The agent is up: the handlers take over, and the signals that came
   * during startup run now, in order (a stop wins over a pending reload).
   * Resolves with the exit code once the process should end: 0 after a
   * clean stop (or a stop that overran the deadline), 130 on a second
   * SIGINT/SIGTERM. The second SIGINT/SIGTERM also calls `onForcedExit(130)`
   * at once, as during startup: nothing that is still pending may hold the
   * process.
   */
  handle(h: SignalHandlers): Promise<number>;
  /** Startup failed: stop listening. */
  release(): void;
  /** Signals caught so far and not yet handled. */
  readonly pending: readonly NodeJS.Signals[];
}

/**
 * Catches SIGHUP/SIGTERM/SIGINT from the first moment of `monitor`. Without
 * a listener Node applies the default action, and the default for all three
 * is to kill the process: a `systemctl reload` during startup would end the
 * agent, and a SIGTERM right after "agent started" would end it with a
 * signal instead of a clean stop. A stop caught during startup runs once
 * the agent is up; a second one calls `onForcedExit(130)` at once.
 */
export function catchSignals(opts: { source?: SignalSource; onForcedExit: (code: number) => void }): SignalGate {
  const source = opts.source ?? process;
  const pending: NodeJS.Signals[] = [];
  const early = (signal: NodeJS.Signals): void => {
    // A second SIGINT/SIGTERM while still starting: the user means it.
    if (signal !== 'SIGHUP' && pending.some((s) => s !== 'SIGHUP')) {
      opts.onForcedExit(EXIT.forced);
      return;
    }
    pending.push(signal);
  };
  for (const s of SIGNALS) source.on(s, early);
  let released = false;
  const release = (): void => {
    if (released) return;
    released = true;
    for (const s of SIGNALS) source.off(s, early);
  };

  return {
    pending,
    release,
    handle(h) {
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
          for (const s of SIGNALS) source.off(s, dispatch);
          resolve(code);
        };

        const stop = (signal: NodeJS.Signals): void => {
          if (stopping) {
            h.logger.warn({ signal }, 'second signal: exiting now');
            finish(EXIT.forced);
            opts.onForcedExit(EXIT.forced);
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

        function dispatch(signal: NodeJS.Signals): void {
          if (signal === 'SIGHUP') reload();
          else stop(signal);
        }

        // Install the real listeners before removing the early ones: no gap.
        for (const s of SIGNALS) source.on(s, dispatch);
        release();
        const caught = pending.splice(0);
        if (caught.length > 0) h.logger.info({ signals: caught }, 'signals received during startup');
        const stops = caught.filter((s) => s !== 'SIGHUP');
        if (stops.length > 0) for (const s of stops) dispatch(s);
        // Startup read the config already; a SIGHUP during it may have been
        // sent after an edit it did not see, so read it again.
        else if (caught.includes('SIGHUP')) reload();
      });
    },
  };
}
