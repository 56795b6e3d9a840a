import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, GoavailProcess, runCli } from '../support/cli.js';
import { scratch, waitFor, type Scratch } from '../support/kit.js';
import { LABS } from '../support/labs.js';
import { ensureBlackhole, labSubnet } from '../support/netns.js';

/**
 * The audit log through the built CLI: a dry-run agent (simulated zone)
 * with audit_file set would remove a dead target's records, one signed line
 * each; `goavail audit verify` says ok, and finds the line an edit broke.
 * Single-node: the key comes from the agent's key_file.
 */
const DEAD = `${labSubnet(LABS['e2e/audit'].subnetIndex)}.254`;
const NO_CREDENTIALS = { CLOUDFLARE_API_TOKEN: '', CF_API_KEY: '', CF_API_EMAIL: '', CLOUDFLARE_API_KEY: '', CLOUDFLARE_EMAIL: '' };

describe('audit log end to end', () => {
  let dir: Scratch;
  let agent: GoavailProcess | undefined;
  beforeAll(async () => {
    assertBuilt();
    await ensureBlackhole();
    dir = await scratch('audit-e2e');
  });
  afterAll(async () => {
    agent?.kill();
    await dir?.cleanup();
  });

  it('every (would-be) DNS write is one signed line; verify says ok, then names the edited line', async () => {
    const file = await dir.write(
      'goavail.toml',
      `
failure_threshold = 2
interval = 0.3
timeout = 0.15
status_addr = ""
audit_file = "audit.jsonl"
[Cloudflare]
dns_proxied = false
dns_domain = "example.com"
hostnames = ["www", "api"]
ip_addresses = ["127.0.0.1", "${DEAD}"]
`,
    );
    const log = join(dir.dir, 'audit.jsonl');
    agent = new GoavailProcess(['monitor', '-f', file], { env: NO_CREDENTIALS });
    await agent.waitForLog((l) => l.msg === 'audit log on: every DNS write is appended, signed and chained');
    await waitFor('two would-be removals in the audit log', async () => (await readFile(log, 'utf8').catch(() => '')).split('\n').filter(Boolean).length >= 2, {
      timeoutMs: 20_000,
    });
    expect((await agent.stop()).code).toBe(0);
    const lines = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    expect(lines).toHaveLength(2);
    const entries = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(entries.map((e) => (e.change as { hostname: string }).hostname).sort()).toEqual(['api.example.com', 'www.example.com']);
    for (const e of entries) {
      expect(e).toMatchObject({ dryRun: true, verdict: 'down', result: 'not sent (dry-run)', provider: 'cloudflare' });
      // the agreeing agents, each with when its vote turned: here only this agent, before the write
      const agreed = e.agreed as Array<{ agent: string; since: string }>;
      expect(agreed).toEqual([{ agent: 'self', since: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) }]);
      expect(Date.parse(agreed[0]!.since)).toBeLessThanOrEqual(Date.parse(e.at as string));
    }

    const ok = await runCli(['audit', 'verify', log, '-f', file]);
    expect(ok).toMatchObject({ code: 0, stdout: 'ok, 2 entries\n' });

    await writeFile(log, `${lines[0]}\n${lines[1]!.replace('"dryRun":true', '"dryRun":false')}\n`);
    const bad = await runCli(['audit', 'verify', log, '-f', file]);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe(`${log}: line 2: its mac does not match: the line was changed\n`);

    // the key is the agent's key_file: without it nothing can be verified, and verify says so rather than make a new one
    await mkdir(join(dir.dir, 'other'));
    const elsewhere = await dir.write('other/goavail.toml', await readFile(file, 'utf8'));
    const nokey = await runCli(['audit', 'verify', log, '-f', elsewhere]);
    expect(nokey.code).toBe(1);
    expect(nokey.stderr).toMatch(/ENOENT.*goavail\.key/);
  }, 60_000);
});
