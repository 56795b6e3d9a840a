import { describe, expect, it } from 'vitest';
import { checkDnsName } from '../../../src/net/dnsname.js';

describe('checkDnsName', () => {
  it.each([
    ['example.com', undefined],
    ['a', undefined],
    ['xn--bcher-kva.example', undefined],
    ['0-9.example', undefined],
    [`${'a'.repeat(63)}.com`, undefined],
    [`${'a'.repeat(64)}.com`, 'at most 63'],
    [Array.from({ length: 127 }, () => 'a').join('.'), undefined], // 253 characters
    [Array.from({ length: 128 }, () => 'a').join('.'), 'at most 253'],
    ['', 'it is empty'],
    ['a..b', 'empty label'],
    ['*.example.com', 'wildcard'],
    ['a*b.example.com', 'wildcard'],
    ['under_score.example.com', 'letters, digits'],
    ['-a.example.com', "start or end with '-'"],
    ['a-.example.com', "start or end with '-'"],
  ])('%s → %s', (name, fragment) => {
    const reason = checkDnsName(name);
    if (fragment === undefined) expect(reason).toBeUndefined();
    else expect(reason).toContain(fragment);
  });
});
