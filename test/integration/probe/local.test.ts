import { describe, expect, it } from 'vitest';
import { localErrorCode } from '../../../src/probe/local.js';
import { failure } from '../../../src/probe/round.js';

const errno = (code: string, message = `connect ${code} 127.0.0.1:80`): NodeJS.ErrnoException => Object.assign(new Error(message), { code });

describe('localErrorCode: errors about this host, not the target', () => {
  it.each([
    // what the error looks like, code (undefined: may be about the target, a miss)
    ['Node connect error EMFILE', errno('EMFILE'), 'EMFILE'],
    ['Node connect error ENFILE', errno('ENFILE'), 'ENFILE'],
    ['Node error ENOBUFS', errno('ENOBUFS'), 'ENOBUFS'],
    ['Node error ENOMEM', errno('ENOMEM'), 'ENOMEM'],
    ['Node connect EADDRNOTAVAIL (no ephemeral port left)', errno('EADDRNOTAVAIL'), 'EADDRNOTAVAIL'],
    ['refused', errno('ECONNREFUSED'), undefined],
    ['blackhole route', errno('EINVAL', 'connect EINVAL 198.18.9.9:80'), undefined],
    ['unreachable network', errno('ENETUNREACH'), undefined],
    ['a code wins over a message', errno('ECONNRESET', 'Too many open files'), undefined],
    ['errno number only', Object.assign(new Error('x'), { errno: -24 }), 'EMFILE'],
    ['an errno number wins over a message', Object.assign(new Error('Too many open files'), { errno: -22 }), undefined],
    ['raw-socket strerror EMFILE', new Error('Too many open files'), 'EMFILE'],
    ['raw-socket strerror ENFILE', new Error('Too many open files in system'), 'ENFILE'],
    ['raw-socket strerror ENOBUFS', new Error('No buffer space available'), 'ENOBUFS'],
    ['raw-socket strerror ENOMEM', new Error('Cannot allocate memory'), 'ENOMEM'],
    ['raw-socket strerror EADDRNOTAVAIL', new Error('Cannot assign requested address'), 'EADDRNOTAVAIL'],
    ['raw-socket strerror EINVAL (blackhole): a miss', new Error('Invalid argument'), undefined],
    ['raw-socket strerror EPERM: a miss', new Error('Operation not permitted'), undefined],
    ['raw-socket libuv status -105', new Error('-105'), 'ENOBUFS'],
    ['raw-socket libuv status -22 (EINVAL)', new Error('-22'), undefined],
    ['a code word in a message', new Error('spawn failed: EMFILE'), 'EMFILE'],
    ['a plain string', 'Too many open files', 'EMFILE'],
    ['timeout', new Error('timeout (no answer within 1000 ms)'), undefined],
    ['undefined', undefined, undefined],
    ['a number', 24, undefined],
  ] as Array<[string, unknown, string | undefined]>)('%s → %s', (_name, error, code) => {
    expect(localErrorCode(error)).toBe(code);
  });
});

describe('failure: the outcome of a failed probe', () => {
  it.each([
    [errno('EMFILE'), { ok: false, local: 'EMFILE', error: 'no probe sent: connect EMFILE 127.0.0.1:80' }],
    [new Error('No buffer space available'), { ok: false, local: 'ENOBUFS', error: 'no probe sent (ENOBUFS): No buffer space available' }],
    [errno('ECONNREFUSED'), { ok: false, error: 'connect ECONNREFUSED 127.0.0.1:80' }],
    [new Error('Invalid argument'), { ok: false, error: 'Invalid argument' }],
  ] as Array<[unknown, object]>)('%s → %j', (error, outcome) => {
    expect(failure(error)).toStrictEqual(outcome);
  });

  it('takes the text logs show', () => {
    expect(failure(errno('EMFILE'), 'EMFILE: connect EMFILE')).toStrictEqual({ ok: false, local: 'EMFILE', error: 'no probe sent: EMFILE: connect EMFILE' });
  });
});
