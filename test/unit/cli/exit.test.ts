import { describe, expect, it } from 'vitest';
import { endProcess, EXIT, type ProcessEnd } from '../../../src/cli/exit.js';

function fake(resources: string[]) {
  const did: string[] = [];
  let stderr = '';
  const end: ProcessEnd = {
    activeResources: () => resources,
    exit: (code) => did.push(`exit ${code}`),
    raise: (signal) => did.push(`raise ${signal}`),
    stderr: { write: (s: string) => ((stderr += s), true) },
  };
  return { end, did, stderr: () => stderr };
}

describe('endProcess', () => {
  it.each([
    // nothing on the threadpool: a plain exit with the code
    [[], EXIT.ok, 'exit 0', 0],
    [['TCPWrap', 'Timeout', 'CloseReq'], EXIT.forced, 'exit 130', 0],
    [['TTYWrap'], EXIT.usage, 'exit 2', 0],
    // a pending fs / getaddrinfo request would hang process.exit (libuv joins its threads): a signal
    [['FSReqCallback'], EXIT.ok, 'raise SIGTERM', 1],
    [['TCPWrap', 'FSReqPromise'], EXIT.forced, 'raise SIGINT', 1],
    [['GetAddrInfoReqWrap'], EXIT.failure, 'raise SIGKILL', 1],
    [['FSReqCallback', 'FSReqCallback'], EXIT.usage, 'raise SIGKILL', 2],
  ] as const)('%j, code %i → %s', (resources, code, expected, pending) => {
    const f = fake([...resources]);
    endProcess(code, f.end);
    expect(f.did).toEqual([expected]);
    if (pending === 0) expect(f.stderr()).toBe('');
    else
      expect(f.stderr()).toMatch(
        new RegExp(`^goavail: ${pending} file-system request\\(s\\) still pending .* ends by ${expected.slice(6)} instead of exit code ${code}\\n$`),
      );
  });
});
