/**
 * Test certificates made with the `openssl` CLI (OpenSSL 3.0): a private CA
 * and server certificates signed by it, valid, expired, for the wrong name,
 * expiring soon, plus a self-signed one. `openssl ca` is used because it can
 * backdate (`-startdate`), which `req -x509` cannot (see FIELD-NOTES).
 * Everything lives in one scratch folder the caller removes.
 */
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertPair {
  readonly cert: string;
  readonly key: string;
  /** Paths of the PEM files. */
  readonly certFile: string;
  readonly keyFile: string;
}

export interface TestCa {
  /** The CA certificate, PEM, and its path (for `ca_file`). */
  readonly pem: string;
  readonly file: string;
  /** A server certificate for `name` signed by the CA, valid from `from` to `to` (Date). */
  issue(id: string, name: string, from: Date, to: Date): Promise<CertPair>;
  /** A self-signed certificate for `name` (no CA), valid for a year from an hour ago. */
  selfSigned(id: string, name: string): Promise<CertPair>;
}

/** `YYYYMMDDHHMMSSZ`, the form `openssl ca -startdate/-enddate` takes. */
function opensslDate(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

async function openssl(dir: string, args: string[]): Promise<void> {
  try {
    await run('openssl', args, { cwd: dir });
  } catch (err) {
    throw new Error(`openssl ${args.join(' ')} failed: ${(err as { stderr?: string }).stderr ?? String(err)}`, { cause: err });
  }
}

async function createTestCa(dir: string): Promise<TestCa> {
  const cnf = join(dir, 'ca.cnf');
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  await writeFile(
    cnf,
    `[ ca ]
default_ca = test_ca
[ test_ca ]
dir = ${dir}
database = ${join(dir, 'index.txt')}
serial = ${join(dir, 'serial')}
new_certs_dir = ${dir}
default_md = sha256
policy = any_cn
unique_subject = no
copy_extensions = copy
x509_extensions = server_ext
[ any_cn ]
commonName = supplied
[ server_ext ]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
`,
  );
  await openssl(dir, [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
    '-days',
    '3650',
    '-subj',
    '/CN=goavail test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  const file = join(dir, 'ca.crt');
  const pem = await readFile(file, 'utf8');

  async function pair(id: string): Promise<CertPair> {
    const certFile = join(dir, `${id}.crt`);
    const keyFile = join(dir, `${id}.key`);
    return { cert: await readFile(certFile, 'utf8'), key: await readFile(keyFile, 'utf8'), certFile, keyFile };
  }

  return {
    pem,
    file,
    async issue(id, name, from, to) {
      await openssl(dir, [
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${id}.key`,
        '-out',
        `${id}.csr`,
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
      ]);
      await openssl(dir, [
        'ca',
        '-batch',
        '-notext',
        '-config',
        cnf,
        '-cert',
        'ca.crt',
        '-keyfile',
        'ca.key',
        '-in',
        `${id}.csr`,
        '-out',
        `${id}.crt`,
        '-startdate',
        opensslDate(from),
        '-enddate',
        opensslDate(to),
      ]);
      return pair(id);
    },
    async selfSigned(id, name) {
      await openssl(dir, [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${id}.key`,
        '-out',
        `${id}.crt`,
        '-days',
        '365',
        '-subj',
        `/CN=${name}`,
        '-addext',
        `subjectAltName=DNS:${name}`,
      ]);
      return pair(id);
    },
  };
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The certificates the HTTPS tests use, for `name`. */
export interface CertSet {
  readonly ca: TestCa;
  readonly valid: CertPair;
  readonly expired: CertPair;
  readonly wrongName: CertPair;
  readonly selfSigned: CertPair;
  /** Valid now, expires in 3 days and a few hours. */
  readonly expiringSoon: CertPair;
}

export async function createCertSet(dir: string, name: string, now = Date.now()): Promise<CertSet> {
  const ca = await createTestCa(dir);
  const start = new Date(now - HOUR); // an hour in the past: no clock skew trouble
  return {
    ca,
    valid: await ca.issue('valid', name, start, new Date(now + 365 * DAY)),
    expired: await ca.issue('expired', name, new Date(now - 60 * DAY), new Date(now - 30 * DAY)),
    wrongName: await ca.issue('wrong-name', `other.${name.split('.').slice(1).join('.') || 'invalid'}`, start, new Date(now + 365 * DAY)),
    selfSigned: await ca.selfSigned('self-signed', name),
    expiringSoon: await ca.issue('expiring', name, start, new Date(now + 3 * DAY + 6 * HOUR)),
  };
}
