import { parse, TomlError } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { describeRedefinition } from '../../../src/config/redefinition.js';

/** The line smol-toml reports for the document, and what we say of it. */
function explain(doc: string): { line: number; said: string | undefined } {
  try {
    parse(doc);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    expect(err.message).toMatch(/redefine/);
    return { line: err.line, said: describeRedefinition(doc, err.line) };
  }
  throw new Error('the document parsed');
}

describe('describeRedefinition names the key defined twice and both lines', () => {
  it.each<[string, string, string | undefined]>([
    ['a top-level key', 'interval = 2\ninterval = 3\n', 'interval is set twice: on line 1 and on line 2'],
    [
      'a key in a table',
      '[Cloudflare]\ndns_domain = "a.example"\nttl = 1\n\ndns_domain = "b.example"\n',
      '[Cloudflare] dns_domain is set twice: on line 2 and on line 5',
    ],
    ['a table header', '[Cloudflare]\nttl = 1\n[Other]\nx = 1\n[Cloudflare]\nttl = 2\n', 'table [Cloudflare] is defined twice: on line 1 and on line 5'],
    ['a dotted key, then a header of the table it made', 'a.b = 1\n[a]\nb = 2\n', 'table [a] is defined twice: on line 1 and on line 2'],
    ['a value, then a key below it', 'a = 1\na.b = 2\n', 'a.b is set twice: on line 1 and on line 2'],
    ['quoted keys, with comments and CRLF', '# c\r\n"odd key" = 1 # x\r\n\'odd key\' = 2\r\n', '"odd key" is set twice: on line 2 and on line 3'],
    [
      'keys in two elements of an array of tables do not clash; a repeat inside one does',
      '[[n]]\nx = 1\n[[n]]\nx = 2\nx = 3\n',
      '[n] x is set twice: on line 4 and on line 5',
    ],
  ])('%s', (_name, doc, want) => {
    expect(explain(doc).said).toBe(want);
  });

  it('never shows a value, only key names', () => {
    const { said } = explain('[Cloudflare]\ncrypto_key = "s3cret-value"\ncrypto_key = "other-s3cret"\n');
    expect(said).toBe('[Cloudflare] crypto_key is set twice: on line 2 and on line 3');
  });

  it.each<[string, string, number]>([
    ['a line past the end', 'a = 1\n', 5],
    ['a line that is no key or header', 'a = 1\n"""\n', 2],
    ['no earlier definition found', 'a = 1\nb = 2\n', 2],
  ])('says nothing it cannot place: %s', (_name, doc, line) => {
    expect(describeRedefinition(doc, line)).toBeUndefined();
  });
});
