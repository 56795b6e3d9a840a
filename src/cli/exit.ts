/** Process exit codes. Only src/cli sets them. */
export const EXIT = {
  ok: 0,
  /** Runtime failure (e.g. no permission for raw sockets, gossip or status address in use, cluster transport failed to start). */
  failure: 1,
  /** Bad usage or bad config: unknown flag, invalid file, missing credentials for --no-dry-run. */
  usage: 2,
  /** A second SIGINT/SIGTERM while stopping. */
  forced: 130,
} as const;
