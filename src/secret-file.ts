import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { link, open, rename, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * Files that hold a secret (the identity key, the control token): private
 * to their owner, created whole or not at all. One home for both.
 */

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/**
 * Why an existing secret file must not be used as it is: not a regular
 * file, or readable/writable by group or others (`chmod 600` fixes it).
 * Undefined when it is fine. Pure.
 */
export function privateFileProblem(path: string, st: Pick<Stats, 'mode' | 'isFile'>): string | undefined {
  if (!st.isFile()) return `${path} is not a regular file`;
  if ((st.mode & 0o077) !== 0) {
    const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
    return `${path} has mode ${mode}: group/others may read it; run \`chmod 600 ${path}\``;
  }
  return undefined;
}

/**
 * Writes `bytes` to a new file at `path`, mode 0600 whatever the umask:
 * first to a temporary file (`wx`, fsync'd), then hard-linked into place, so
 * a crash never leaves a half-written secret and two processes racing on
 * the same path end up with one file (the loser gets `'exists'` and reads
 * the winner's). Never replaces a file that is there. Throws what the file
 * system said otherwise.
 */
export async function createPrivateFile(path: string, bytes: Uint8Array | string): Promise<'created' | 'exists'> {
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
      if (code === 'EEXIST') return 'exists';
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'ENOSYS') throw err;
      // A filesystem without hard links: fall back to rename.
      await rename(tmp, path);
    }
    await syncDir(dirname(path));
    return 'created';
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
