import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { IdentityError, loadOrCreateIdentity } from '../../../src/gossip/identity.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'goavail-identity-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const idOf = (k: Awaited<ReturnType<typeof loadOrCreateIdentity>>): string => peerIdFromPrivateKey(k).toString();

describe('loadOrCreateIdentity', () => {
  it('creates an Ed25519 key with mode 0600 and leaves no temporary file', async () => {
    const path = join(dir, 'goavail.key');
    const key = await loadOrCreateIdentity(path);
    expect(key.type).toBe('Ed25519');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['goavail.key']);
  });

  it('creates 0600 even under a permissive umask', async () => {
    const old = process.umask(0o000);
    try {
      const path = join(dir, 'k');
      await loadOrCreateIdentity(path);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    } finally {
      process.umask(old);
    }
  });

  it('loads the same peer id on every later call', async () => {
    const path = join(dir, 'goavail.key');
    const first = idOf(await loadOrCreateIdentity(path));
    const bytes = await readFile(path);
    expect(idOf(await loadOrCreateIdentity(path))).toBe(first);
    expect(idOf(await loadOrCreateIdentity(path))).toBe(first);
    expect((await readFile(path)).equals(bytes)).toBe(true);
  });

  it('two paths give two identities', async () => {
    const a = idOf(await loadOrCreateIdentity(join(dir, 'a.key')));
    const b = idOf(await loadOrCreateIdentity(join(dir, 'b.key')));
    expect(a).not.toBe(b);
  });

  it('concurrent first runs on one path agree on one identity', async () => {
    const path = join(dir, 'race.key');
    const ids = (await Promise.all(Array.from({ length: 8 }, () => loadOrCreateIdentity(path)))).map(idOf);
    expect(new Set(ids).size).toBe(1);
    expect(idOf(await loadOrCreateIdentity(path))).toBe(ids[0]);
    expect(await readdir(dir)).toEqual(['race.key']);
  });

  it.each([0o640, 0o604, 0o644, 0o660])('refuses a key file with mode %o', async (mode) => {
    const path = join(dir, 'goavail.key');
    await loadOrCreateIdentity(path);
    await chmod(path, mode);
    await expect(loadOrCreateIdentity(path)).rejects.toMatchObject({ name: 'IdentityError', code: 'IDENTITY_INSECURE' });
    await expect(loadOrCreateIdentity(path)).rejects.toThrow(/chmod 600/);
  });

  it('accepts a stricter mode (0400)', async () => {
    const path = join(dir, 'goavail.key');
    const id = idOf(await loadOrCreateIdentity(path));
    await chmod(path, 0o400);
    expect(idOf(await loadOrCreateIdentity(path))).toBe(id);
  });

  it.each([
    ['empty', Buffer.alloc(0)],
    ['text', Buffer.from('not a key\n')],
    ['truncated protobuf', Buffer.from([0x08, 0x01, 0x12, 0x40, 1, 2, 3])],
  ])('refuses a corrupt key file (%s) and does not overwrite it', async (_n, content) => {
    const path = join(dir, 'goavail.key');
    await writeFile(path, content, { mode: 0o600 });
    const err = await loadOrCreateIdentity(path).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IdentityError);
    expect((err as IdentityError).code).toBe('IDENTITY_CORRUPT');
    expect((await readFile(path)).equals(content)).toBe(true);
  });

  it('refuses a directory where the key should be', async () => {
    await expect(loadOrCreateIdentity(dir)).rejects.toMatchObject({ code: 'IDENTITY_UNREADABLE' });
  });

  it('reports a missing parent directory as a write failure', async () => {
    await expect(loadOrCreateIdentity(join(dir, 'no', 'such', 'goavail.key'))).rejects.toMatchObject({ code: 'IDENTITY_WRITE_FAILED' });
  });
});
