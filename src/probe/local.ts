import { constants } from 'node:os';

/**
 * Errors about this host, not about the target: a probe that fails with one
 * of them was never sent, so it is no observation (neither a miss nor a
 * success; see {@link ProbeResult} in ./types.ts).
 *
 * | code          | what ran out                                    | seen from                        |
 * |---------------|-------------------------------------------------|----------------------------------|
 * | EMFILE        | this process's file descriptors (RLIMIT_NOFILE) | socket(), connect(), accept()    |
 * | ENFILE        | the whole system's file descriptors             | socket()                         |
 * | ENOBUFS       | kernel socket buffers / queue memory            | sendto(), socket()               |
 * | ENOMEM        | kernel memory                                   | socket(), sendto()               |
 * | EADDRNOTAVAIL | local ports (every ephemeral port in use)       | connect()                        |
 *
 * Not in the list, and so still a miss: EINVAL (an address that hits a
 * blackhole route: the route is about the target), ENETUNREACH,
 * EHOSTUNREACH, ECONNREFUSED, timeouts. Why it matters: a local process that
 * holds this agent a few descriptors below its limit used to turn every TCP
 * probe into a miss, and the agent deleted healthy IPs from DNS.
 */
export const LOCAL_ERROR_CODES = ['EMFILE', 'ENFILE', 'ENOBUFS', 'ENOMEM', 'EADDRNOTAVAIL'] as const;
export type LocalErrorCode = (typeof LOCAL_ERROR_CODES)[number];

/**
 * Why a probe result is no observation: a local error code, or `round-failed`
 * when the prober rejected a whole round (its contract is to never reject
 * for a target, so a rejection says nothing about any target).
 */
export type NoObservationReason = LocalErrorCode | 'round-failed';

const CODES: ReadonlySet<string> = new Set(LOCAL_ERROR_CODES);

/** errno number → code (positive; libuv reports them negated). */
const BY_ERRNO = new Map<number, LocalErrorCode>(
  LOCAL_ERROR_CODES.flatMap((code) => {
    const n = (constants.errno as Record<string, number | undefined>)[code];
    return n === undefined ? [] : [[n, code] as [number, LocalErrorCode]];
  }),
);

/**
 * strerror() texts, for raw-socket only: it throws `new Error(strerror(errno))`
 * and emits libuv statuses as bare numbers (`-105`), with neither `code` nor
 * `errno`, so its text is all there is to classify. Every other error this
 * agent sees (Node's net, dgram, fs) carries a `code`, and then the text is
 * never read. Order matters: "too many open files in system" before "too
 * many open files".
 */
const BY_MESSAGE: ReadonlyArray<[RegExp, LocalErrorCode]> = [
  [/too many open files in system/i, 'ENFILE'],
  [/too many open files/i, 'EMFILE'],
  [/no buffer space available/i, 'ENOBUFS'],
  [/cannot allocate memory|out of memory/i, 'ENOMEM'],
  [/cannot assign requested address/i, 'EADDRNOTAVAIL'],
];

/**
 * The local error code of an error, or undefined when the error may be about
 * the target. Reads, in order: a Node `code` (`EMFILE`), an `errno` number
 * (24 or -24); the first of those the error has decides. Only an error with
 * neither (raw-socket's) is classified by its message: a strerror text, a
 * bare libuv status such as `-24`, or a code word inside the message.
 */
export function localErrorCode(error: unknown): LocalErrorCode | undefined {
  if (error === null || error === undefined) return undefined;
  if (typeof error === 'object') {
    const e = error as { code?: unknown; errno?: unknown; message?: unknown };
    if (typeof e.code === 'string') return CODES.has(e.code) ? (e.code as LocalErrorCode) : undefined;
    if (typeof e.errno === 'number') return BY_ERRNO.get(Math.abs(e.errno));
    // No code, no errno: a raw-socket error, text only (see BY_MESSAGE).
    if (typeof e.message === 'string') return fromMessage(e.message);
    return undefined;
  }
  return typeof error === 'string' ? fromMessage(error) : undefined;
}

function fromMessage(message: string): LocalErrorCode | undefined {
  const status = /^\s*-?(\d+)\s*$/.exec(message);
  if (status) return BY_ERRNO.get(Number(status[1]));
  const word = /\b(E[A-Z]+)\b/.exec(message);
  if (word && CODES.has(word[1]!)) return word[1] as LocalErrorCode;
  for (const [re, code] of BY_MESSAGE) if (re.test(message)) return code;
  return undefined;
}
