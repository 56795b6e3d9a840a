import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'smol-toml';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/load.js';
import { printableConfig } from '../../../src/config/print.js';
import { validate, type ConfigOverrides, type ValidateResult } from '../../../src/config/validate.js';

/** The [HTTP] table: defaults, the type-dependent rules, printing with secrets masked. */
const FILE = '/etc/goavail/goavail.toml';
const CF = '[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www", "@"]\nip_addresses = ["192.0.2.1"]\n';

function run(toml: string, overrides: ConfigOverrides = {}): ValidateResult {
  return validate(parse(toml), FILE, overrides);
}
function ok(toml: string, overrides: ConfigOverrides = {}) {
  const r = run(toml, overrides);
  if (!r.ok) throw new Error(`expected valid, got ${JSON.stringify(r.errors)}`);
  return r;
}

describe('[HTTP] defaults', () => {
  it('fills every default for type = "https", host = the first hostname, port 443', () => {
    const { config, warnings } = ok(`type = "https"\n${CF}`);
    expect(warnings).toEqual([]);
    expect(config.port).toBe(443);
    expect(config.http).toEqual({
      path: '/',
      method: 'GET',
      host: 'www.example.com',
      expectStatus: [{ min: 200, max: 399 }],
      expectBody: undefined,
      headers: {},
      tlsVerify: true,
      caFile: undefined,
      certMinDays: 7,
    });
  });

  it.each([
    ['http', '', 80],
    ['https', '', 443],
    ['https', 'port = 8443\n', 8443],
    ['http', 'port = 8080\n', 8080],
    ['tcp', '', 80],
    ['ip', '', 80],
  ])('type = %s %j → port %d', (type, extra, port) => {
    expect(ok(`type = "${type}"\n${extra}${CF}`).config.port).toBe(port);
  });

  it('-t https (an override) gives port 443 and allows [HTTP] in a file that says type = "ip"', () => {
    const { config } = ok(`type = "ip"\n[HTTP]\npath = "/health"\n${CF}`, { probeType: 'https' });
    expect(config.probeType).toBe('https');
    expect(config.port).toBe(443);
    expect(config.http?.path).toBe('/health');
  });

  it('-t tcp refuses the [HTTP] keys of an http file', () => {
    const r = run(`type = "http"\n[HTTP]\npath = "/health"\n${CF}`, { probeType: 'tcp' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.key)).toEqual(['HTTP.path']);
  });

  it('ip and tcp configs carry no http part (they are what they always were)', () => {
    expect(ok(CF).config.http).toBeUndefined();
    expect(ok(`type = "tcp"\n${CF}`).config.http).toBeUndefined();
    // An empty [HTTP] table is no mistake.
    expect(ok(`type = "tcp"\n[HTTP]\n${CF}`).config.http).toBeUndefined();
  });

  it('reads every key', () => {
    const { config } = ok(`type = "https"
[HTTP]
path = "/healthz?full=1"
method = "HEAD"
host = "Origin.Example.COM."
expect_status = ["200", "3xx", 404, "500-502"]
expect_body = "ok"
headers = { "User-Agent" = "probe/1", Authorization = "Bearer t0ken" }
tls_verify = false
ca_file = "ca/private.pem"
cert_min_days = 14
${CF}`);
    expect(config.http).toEqual({
      path: '/healthz?full=1',
      method: 'HEAD',
      host: 'origin.example.com',
      expectStatus: [
        { min: 200, max: 200 },
        { min: 300, max: 399 },
        { min: 404, max: 404 },
        { min: 500, max: 502 },
      ],
      expectBody: 'ok',
      headers: { 'User-Agent': 'probe/1', Authorization: 'Bearer t0ken' },
      tlsVerify: false,
      caFile: '/etc/goavail/ca/private.pem',
      certMinDays: 14,
    });
  });

  it('warns that the TLS keys mean nothing for plain http', () => {
    const { warnings } = ok(`type = "http"\n[HTTP]\ntls_verify = false\ncert_min_days = 3\n${CF}`);
    expect(warnings.map((w) => w.key)).toEqual(['HTTP.tls_verify', 'HTTP.cert_min_days']);
    expect(warnings[0]?.message).toContain('only applies to type = "https"');
  });

  it('warns about an unknown [HTTP] key with a suggestion', () => {
    const { warnings } = ok(`type = "http"\n[HTTP]\nexpect_stauts = ["200"]\n${CF}`);
    expect(warnings).toEqual([{ key: 'HTTP.expect_stauts', message: 'unknown key, ignored; did you mean `expect_status`?' }]);
  });

  it('a body longer than what a probe reads can never match', () => {
    const r = run(`type = "http"\n[HTTP]\nexpect_body = "${'x'.repeat(65_537)}"\n${CF}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]).toMatchObject({ key: 'HTTP.expect_body' });
  });

  it.each(['Connection', 'content-length', 'Transfer-Encoding', 'HOST'])('refuses the reserved header %s', (name) => {
    const r = run(`type = "http"\n[HTTP]\nheaders = { "${name}" = "x" }\n${CF}`);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.key).toBe(`HTTP.headers.${name}`);
  });

  it('refuses a header name that is not a token, and one listed twice', () => {
    const bad = run(`type = "http"\n[HTTP]\nheaders = { "X Bad" = "x" }\n${CF}`);
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors[0]?.key).toBe('HTTP.headers."X Bad"');
    const twice = run(`type = "http"\n[HTTP]\nheaders = { "X-A" = "1", "x-a" = "2" }\n${CF}`);
    expect(twice.ok).toBe(false);
    if (!twice.ok) expect(twice.errors[0]?.message).toContain('listed twice');
  });
});

describe('[HTTP] printed', () => {
  it('masks header values, keeps names; prints ranges as written', () => {
    const { config } = ok(`type = "https"\n[HTTP]\nexpect_status = ["2xx", "301-302"]\nheaders = { Authorization = "Bearer s3cret" }\n${CF}`);
    const printed = printableConfig(config);
    expect(printed.HTTP).toEqual({
      path: '/',
      method: 'GET',
      host: 'www.example.com',
      expect_status: ['2xx', '301-302'],
      headers: { Authorization: '********' },
      tls_verify: true,
      cert_min_days: 7,
    });
    expect(JSON.stringify(printed)).not.toContain('s3cret');
  });

  it('is not printed for ip and tcp', () => {
    expect(printableConfig(ok(CF).config)).not.toHaveProperty('HTTP');
    expect(printableConfig(ok(`type = "tcp"\n${CF}`).config)).not.toHaveProperty('HTTP');
  });
});

describe('[HTTP] ca_file (read by loadConfig)', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  // A real certificate (a throwaway self-signed one, made once for this test with openssl).
  const PEM = `-----BEGIN CERTIFICATE-----
MIIBfzCCASWgAwIBAgIUQ2a6C1bGkz1nS3C9qm7R3b4Fq9UwCgYIKoZIzj0EAwIw
FTETMBEGA1UEAwwKZ29hdmFpbC1jYTAeFw0yNjAxMDEwMDAwMDBaFw0zNjAxMDEw
MDAwMDBaMBUxEzARBgNVBAMMCmdvYXZhaWwtY2EwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAAQ=
-----END CERTIFICATE-----`;

  async function write(files: Record<string, string>): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'goavail-cafile-'));
    dirs.push(dir);
    for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
    return join(dir, 'goavail.toml');
  }

  it('a missing file is a key-named error', async () => {
    const file = await write({ 'goavail.toml': `type = "https"\n[HTTP]\nca_file = "none.pem"\n${CF}` });
    const err = (await loadConfig(file).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues).toEqual([{ key: 'HTTP.ca_file', message: 'cannot read none.pem: no such file' }]);
  });

  it('a PEM block that does not parse is an error', async () => {
    const file = await write({ 'goavail.toml': `type = "https"\n[HTTP]\nca_file = "bad.pem"\n${CF}`, 'bad.pem': PEM });
    const err = (await loadConfig(file).catch((e: unknown) => e)) as ConfigError;
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.issues[0]?.message).toContain('bad.pem: certificate 1 cannot be parsed');
  });

  it('is not read for type = "http" (only warned about)', async () => {
    const file = await write({ 'goavail.toml': `type = "http"\n[HTTP]\nca_file = "none.pem"\n${CF}` });
    const { config, warnings } = await loadConfig(file);
    expect(config.http?.caPem).toBeUndefined();
    expect(warnings.map((w) => w.key)).toEqual(['HTTP.ca_file']);
  });
});
