import { randomBytes } from 'node:crypto';
import { link, open, readFile, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';

export type IdentityErrorCode = 'IDENTITY_INSECURE' | 'IDENTITY_UNREADABLE' | 'IDENTITY_CORRUPT' | 'IDENTITY_WRITE_FAILED';

/** Why the identity file cannot be used. None is retryable: an operator must act. */
export class IdentityError extends Error {
  readonly code: IdentityErrorCode;
  readonly retryable = false;

  constructor(code: IdentityErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'IdentityError';
    this.code = code;
  }
}

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * The agent's persistent libp2p identity (Ed25519), created on first run.
 *
 * Why persistent: peers learn each other's peer id and accept observations
 * only from known ids; a new id at every restart would be a stranger.
 *
 * - Missing file: a new key is written to a temporary file (`wx`, mode
 *   0600, fsync'd) and hard-linked into place, so a crash never leaves a
 *   half-written key and two agents racing on the same path end up with the
 *   same key (the loser reads the winner's file).
 * - Existing file: it must be a regular file without any group or other
 *   permission bits; otherwise this **refuses** (like ssh with a private
 *   key) rather than warns, because a leaked key lets anyone holding the
 *   swarm key impersonate this agent. Unreadable or corrupt files are
 *   refused too: silently replacing them would change the agent's id.
 */
export async function loadOrCreateIdentity(path: string): Promise<PrivateKey> {
  const existing = await loadIdentity(path);
  if (existing !== undefined) return existing;
  return createIdentity(path);
}

async function loadIdentity(path: string): Promise<PrivateKey | undefined> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    if (errno(err) === 'ENOENT') return undefined;
    throw new IdentityError('IDENTITY_UNREADABLE', `identity key file ${path} cannot be accessed: ${String(err)}`, { cause: err });
  }
  if (!st.isFile()) throw new IdentityError('IDENTITY_UNREADABLE', `identity key file ${path} is not a regular file`);
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    throw new IdentityError('IDENTITY_INSECURE', `identity key file ${path} has mode ${mode}: group/others may read it; run \`chmod 600 ${path}\``);
  }
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (err) {
    throw new IdentityError('IDENTITY_UNREADABLE', `identity key file ${path} cannot be read: ${String(err)}`, { cause: err });
  }
  try {
    return privateKeyFromProtobuf(bytes);
  } catch (err) {
    throw new IdentityError(
      'IDENTITY_CORRUPT',
      `identity key file ${path} is not a libp2p private key (${String(err)}); restore it, or delete it to create a new identity (peers that pinned the old peer id must be updated)`,
      { cause: err },
    );
  }
}

async function createIdentity(path: string): Promise<PrivateKey> {
  const key = await generateKeyPair('Ed25519');
  const bytes = privateKeyToProtobuf(key);
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    const fh = await open(tmp, 'wx', 0o600);
    try {
      await fh.chmod(0o600); // whatever the umask
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    try {
      await link(tmp, path); // fails with EEXIST instead of replacing a file
    } catch (err) {
      const code = errno(err);
      if (code === 'EEXIST') {
        // Someone else created it meanwhile: theirs is the identity.
        const theirs = await loadIdentity(path);
        if (theirs !== undefined) return theirs;
      }
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      // A filesystem without hard links: fall back to rename.
      await rename(tmp, path);
    }
    await syncDir(dirname(path));
    return key;
  } catch (err) {
    if (err instanceof IdentityError) throw err;
    throw new IdentityError('IDENTITY_WRITE_FAILED', `cannot create identity key file ${path}: ${String(err)}`, { cause: err });
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // best effort: not every platform can fsync a directory
  }
}
