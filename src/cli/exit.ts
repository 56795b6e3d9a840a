/** Process exit codes. Only src/cli sets them. */
export const EXIT = {
  ok: 0,
  /**
   * Runtime failure (e.g. no permission for raw sockets, gossip or status address in use, cluster transport failed to
   * start); for the commands that talk to an agent: it cannot be reached, it refused (drain), or the control token file
   * cannot be read.
   */
  failure: 1,
  /** Bad usage or bad config: unknown flag, invalid file, missing credentials for --no-dry-run, a bad control token. */
  usage: 2,
  /** A second SIGINT/SIGTERM while stopping. */
  forced: 130,
} as const;

/** What ending the process needs; the real process unless a test passes its own. */
export interface ProcessEnd {
  /** `process.getActiveResourcesInfo()`: what still holds the event loop. */
  activeResources(): string[];
  exit(code: number): void;
  /** Drop this signal's listeners (so its default action applies), then send it to this process. */
  raise(signal: NodeJS.Signals): void;
  readonly stderr: Pick<NodeJS.WriteStream, 'write'>;
}

const realProcess: ProcessEnd = {
  activeResources: () => process.getActiveResourcesInfo(),
  exit: (code) => process.exit(code),
  raise: (signal) => {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  },
  stderr: process.stderr,
};

/** Requests that run on libuv's threadpool (file system, getaddrinfo), by their resource name. */
const THREADPOOL_REQUEST = /^FSReq|^FileHandle\w*Req|^GetAddrInfoReqWrap$|^GetNameInfoReqWrap$/;

/**
 * Ends the process with `code` now, whatever is pending.
 *
 * Why not just `process.exit(code)`: on exit libuv joins its threadpool
 * threads, and a thread blocked in the kernel (an `open()` on a hung NFS
 * mount, a FIFO) never returns, so `process.exit` itself hangs and only
 * a signal ends the process. When such a request is pending, the process
 * ends by the signal whose default action reads closest to the code:
 *
 * | code             | ends by  | seen by a shell | systemd (Restart=on-failure) |
 * |------------------|----------|-----------------|------------------------------|
 * | 0 (clean stop)   | SIGTERM  | 143             | clean, no restart            |
 * | 130 (forced)     | SIGINT   | 130             | clean, no restart            |
 * | anything else    | SIGKILL  | 137             | failure, restarted           |
 *
 * and says so on stderr. Nothing pending: a plain `process.exit(code)`.
 */
export function endProcess(code: number, end: ProcessEnd = realProcess): void {
  const blocked = end.activeResources().filter((r) => THREADPOOL_REQUEST.test(r));
  if (blocked.length === 0) {
    end.exit(code);
    return;
  }
  const signal: NodeJS.Signals = code === EXIT.ok ? 'SIGTERM' : code === EXIT.forced ? 'SIGINT' : 'SIGKILL';
  end.stderr.write(
    `goavail: ${blocked.length} file-system request(s) still pending (a hung network file system?): the process cannot exit while they are, ` +
      `so it ends by ${signal} instead of exit code ${code}\n`,
  );
  end.raise(signal);
}
