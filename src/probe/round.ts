import { setImmediate as nextTurn } from 'node:timers/promises';
import { localErrorCode } from './local.js';
import type { ProbeResult } from './types.js';

/** What one target's probe reports: its result without the ip. */
export type Outcome = Omit<ProbeResult, 'ip'>;

/**
 * The outcome of a probe that failed with `error`: no observation when the
 * error is this host's (EMFILE, ENOBUFS...: see ./local.ts), a miss otherwise.
 * `text` is the error as logs and status show it (default: its message).
 */
export function failure(error: unknown, text = error instanceof Error ? error.message || error.name : String(error)): Outcome {
  const code = localErrorCode(error);
  if (code === undefined) return { ok: false, error: text };
  return { ok: false, local: code, error: text.includes(code) ? `no probe sent: ${text}` : `no probe sent (${code}): ${text}` };
}

/**
 * Starts the probe of one target. Calls `report` once (later, or at once for
 * a target that cannot be probed) and may return a function that cancels the
 * probe when the round ends without its report (timeout or abort). When the
 * round's deadline cancels it, the cancel may return the miss to record
 * instead of the generic "timeout": an HTTP probe knows whether it was still
 * connecting (connect timeout) or waiting for the answer (too slow).
 */
export type StartProbe = (ip: string, report: (outcome: Outcome) => void) => Cancel | void;

/**
 * Cancels a probe; `deadline` is true when the round's deadline does it. It
 * may then return the miss to record (an {@link Outcome} with `ok: false`);
 * anything else it returns is ignored.
 */
export type Cancel = (deadline?: boolean) => unknown;

function isMiss(v: unknown): v is Outcome {
  return typeof v === 'object' && v !== null && (v as { ok?: unknown }).ok === false && typeof (v as { error?: unknown }).error === 'string';
}

/**
 * Targets started per event-loop turn. Starting a probe costs a few µs;
 * 256 per turn keeps a turn well under a millisecond, so the agent's other
 * timers are not starved while 10,000 targets start.
 */
const START_CHUNK = 256;

/**
 * Runs one probe round: starts every target (in chunks, yielding to the event
 * loop between them), and resolves with one result per input IP, in input
 * order, as soon as all reported or when `timeoutMs` has passed since the
 * round began: targets still silent then are misses ("timeout") and their
 * probes are cancelled. A `start` that throws is that target's failure: a
 * miss, or no observation for a local error such as EMFILE (see
 * {@link failure}). Never rejects for a target; rejects with the
 * signal's reason when `signal` aborts, because an aborted round is no
 * observation.
 *
 * `opts.flush` runs when the deadline fires, before silent targets become
 * misses: a prober that can read answers synchronously (ICMP: replies
 * waiting in the socket) reports them there. When the event loop was
 * blocked (a long GC pause, a big /metrics render), the deadline timer and
 * the socket's readable event are both due, and timers run first: without
 * the flush, answers that arrived in time would count as misses.
 */
export function runRound(
  ips: readonly string[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
  start: StartProbe,
  opts: { readonly chunk?: number; readonly flush?: () => void; readonly onResult?: ((result: ProbeResult) => void) | undefined } = {},
): Promise<ProbeResult[]> {
  const chunk = opts.chunk ?? START_CHUNK;
  if (signal?.aborted) return Promise.reject(signal.reason);
  if (ips.length === 0) return Promise.resolve([]);
  const timeout = Math.max(1, Math.round(timeoutMs));

  return new Promise<ProbeResult[]>((resolve, reject) => {
    const results = new Array<ProbeResult | undefined>(ips.length);
    const cancels = new Array<Cancel | undefined>(ips.length);
    let pending = ips.length;
    let done = false;

    const stop = (): void => {
      done = true;
      clearTimeout(deadline);
      signal?.removeEventListener('abort', onAbort);
      for (let i = 0; i < cancels.length; i++) {
        const cancel = cancels[i];
        if (!cancel) continue;
        cancels[i] = undefined;
        try {
          cancel();
        } catch {
          // a cancel that fails leaves nothing to undo
        }
      }
    };
    const tell = (r: ProbeResult): void => {
      try {
        opts.onResult?.(r);
      } catch {
        // a listener's bug must not break the round
      }
    };
    const settle = (i: number, outcome: Outcome): void => {
      if (done || results[i]) return;
      const r = { ip: ips[i]!, ...outcome };
      results[i] = r;
      tell(r);
      cancels[i] = undefined;
      pending -= 1;
      if (pending === 0) {
        stop();
        resolve(results as ProbeResult[]);
      }
    };
    const onAbort = (): void => {
      if (done) return;
      stop();
      reject(signal?.reason);
    };
    const deadline = setTimeout(() => {
      if (done) return;
      try {
        opts.flush?.();
      } catch {
        // a failed flush leaves the silent targets to time out
      }
      if (done) return; // the flush brought the last answers
      const error = `timeout (no answer within ${timeout} ms)`;
      for (let i = 0; i < ips.length; i++) {
        if (results[i]) continue;
        const cancel = cancels[i];
        cancels[i] = undefined;
        let told: unknown;
        try {
          told = cancel?.(true);
        } catch {
          // a cancel that fails leaves the generic timeout
        }
        if (results[i]) continue; // reported while cancelling
        const r = isMiss(told) ? { ip: ips[i]!, ...told } : { ip: ips[i]!, ok: false, error };
        results[i] = r;
        tell(r);
      }
      stop();
      resolve(results as ProbeResult[]);
    }, timeout);
    signal?.addEventListener('abort', onAbort, { once: true });

    const startAll = async (): Promise<void> => {
      for (let i = 0; i < ips.length; i++) {
        if (i > 0 && i % chunk === 0) await nextTurn();
        if (done) return;
        const index = i;
        try {
          const cancel = start(ips[index]!, (outcome) => settle(index, outcome));
          if (cancel && !results[index]) {
            if (done)
              cancel(); // the round was aborted while this target started
            else cancels[index] = cancel;
          }
        } catch (error) {
          settle(index, failure(error));
        }
      }
    };
    void startAll();
  });
}
