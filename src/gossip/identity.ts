import { readFile, stat } from 'node:fs/promises';
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys';
import type { PrivateKey } from '@libp2p/interface';
import { createPrivateFile, privateFileProblem } from '../secret-file.js';

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
  const problem = privateFileProblem(path, st);
  if (problem !== undefined) throw new IdentityError(st.isFile() ? 'IDENTITY_INSECURE' : 'IDENTITY_UNREADABLE', `identity key file ${problem}`);
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
  let made: 'created' | 'exists';
  try {
    made = await createPrivateFile(path, privateKeyToProtobuf(key));
  } catch (err) {
    throw new IdentityError('IDENTITY_WRITE_FAILED', `cannot create identity key file ${path}: ${String(err)}`, { cause: err });
  }
  if (made === 'created') return key;
  // Someone else created it meanwhile: theirs is the identity.
  const theirs = await loadIdentity(path);
  if (theirs !== undefined) return theirs;
  throw new IdentityError('IDENTITY_UNREADABLE', `identity key file ${path} vanished while it was being created`);
}
