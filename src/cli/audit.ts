import { readFile, stat } from 'node:fs/promises';
import { auditKey, verifyChain, type AuditKey } from '../audit/chain.js';
import { ConfigError, loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { loadOrCreateIdentity } from '../gossip/identity.js';
import { EXIT } from './exit.js';

/**
 * The audit keys of a config, the signing one first: one per `crypto_key`
 * (a log spanning a rotation verifies with the keyring), or, without one
 * (single-node mode), the agent's key file. `create`: make the key file if
 * it is missing (the agent does; `audit verify` must not).
 */
async function auditKeys(config: Config, create: boolean): Promise<AuditKey[]> {
  const secrets = config.members.cryptoKeys;
  if (secrets.length > 0) return secrets.map((s) => auditKey(s));
  const file = config.members.keyFile;
  if (!create) await stat(file); // ENOENT: say so rather than make a new key that verifies nothing
  const identity = await loadOrCreateIdentity(file);
  return [auditKey(identity.raw)];
}

export async function auditSigningKey(config: Config): Promise<AuditKey> {
  return (await auditKeys(config, true))[0] as AuditKey;
}

/** `goavail audit verify <file> [-f goavail.toml]`: "ok, N entries" and 0, or the first bad line and 1; 2 for a bad config. */
export async function auditVerify(flags: { file: string; configFile: string }): Promise<number> {
  let keys: AuditKey[];
  try {
    const { config } = await loadConfig(flags.configFile);
    keys = await auditKeys(config, false);
  } catch (err) {
    process.stderr.write(`goavail: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof ConfigError ? EXIT.usage : EXIT.failure;
  }
  let text: string;
  try {
    text = await readFile(flags.file, 'utf8');
  } catch (err) {
    process.stderr.write(`goavail: cannot read ${flags.file}: ${err instanceof Error ? err.message : String(err)}\n`);
    return EXIT.failure;
  }
  const r = verifyChain(text, keys);
  if (r.ok) {
    process.stdout.write(`ok, ${r.entries} entries\n`);
    return EXIT.ok;
  }
  process.stdout.write(`${flags.file}: line ${r.line}: ${r.reason}\n`);
  return EXIT.failure;
}
