import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../src/config/load.js';
import { printableConfig } from '../../../src/config/print.js';
import { validate } from '../../../src/config/validate.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/config');
const FILE = '/etc/goavail/goavail.toml';

describe('printableConfig', () => {
  it('route53: prints the checked [Route53] table (defaults filled, zone id without prefix), no [Cloudflare]', async () => {
    const { config } = await loadConfig(join(FIXTURES, 'original.toml'), { dnsProvider: 'route53' });
    const printed = printableConfig(config);
    expect(printed.dns_provider).toBe('route53');
    expect(printed.Cloudflare).toBeUndefined();
    expect(printed.Route53).toEqual({
      aws_domain: 'example.com',
      hostnames: ['test.example.com'],
      ip_addresses: ['203.0.113.10'],
      standby_ips: [],
      min_active: 1,
      failback_delay: 60,
      ttl: 30,
      aws_zoneid: 'ZZZZZZZZZZZZZ',
      aws_region: 'us-west-2',
    });
    const r = validate(parse('dns_provider = "route53"\n[Route53]\naws_domain = "example.com"\nhostnames = ["@"]\nip_addresses = ["198.18.0.1"]\n'), FILE);
    expect(r.ok && printableConfig(r.config).Route53).toEqual({
      aws_domain: 'example.com',
      hostnames: ['example.com'],
      ip_addresses: ['198.18.0.1'],
      standby_ips: [],
      min_active: 1,
      failback_delay: 60,
      ttl: 60,
    });
  });

  it("prints [[maintenance]] windows in the file's key names (start in UTC, duration in seconds, timezone filled); none: no key", () => {
    const base = '[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["198.18.0.1", "198.18.0.2"]\n';
    const r = validate(
      parse(
        `${base}[[maintenance]]\nips = ["198.18.0.1"]\nstart = 2026-12-05T02:00:00+01:00\nduration = "2h"\nreason = "kernel upgrade"\n` +
          '[[maintenance]]\nips = ["198.18.0.2", "198.18.0.1"]\nweekdays = ["sun", "sat"]\nat = "02:30"\nduration = 5400\n',
      ),
      FILE,
    );
    expect(r.ok && printableConfig(r.config).maintenance).toEqual([
      { ips: ['198.18.0.1'], start: '2026-12-05T01:00:00.000Z', duration: 7200, reason: 'kernel upgrade' },
      { ips: ['198.18.0.2', '198.18.0.1'], duration: 5400, weekdays: ['sat', 'sun'], at: '02:30', timezone: 'UTC' },
    ]);
    const none = validate(parse(base), FILE);
    expect(none.ok && none.config.maintenance).toEqual([]);
    expect(none.ok && Object.keys(printableConfig(none.config))).not.toContain('maintenance');
  });

  it('prints the original file in its own key names, defaults filled, secrets masked', async () => {
    const { config } = await loadConfig(join(FIXTURES, 'original.toml'));
    expect(printableConfig(config)).toEqual({
      failure_threshold: 5,
      recovery_threshold: 5,
      interval: 2,
      timeout: 1,
      suspect_after: 0.1,
      recheck_interval: 0.2,
      max_recheck_rate: 200,
      reconcile_interval: 60,
      type: 'ip',
      port: 80,
      dns_provider: 'cloudflare',
      status_addr: '127.0.0.1:9470',
      webhooks: [],
      pagerduty_url: 'https://events.pagerduty.com/v2/enqueue',
      opsgenie_url: 'https://api.opsgenie.com',
      telegram_api_url: 'https://api.telegram.org',
      control_token_file: join(FIXTURES, 'goavail.control-token'),
      canaries: [],
      freeze_min_targets: 4,
      freeze_share: 0.5,
      slack_addr: '********',
      Members: {
        peers: ['127.0.0.1:8082'],
        local_addr: '127.0.0.1:8081',
        members_port: 7947,
        min_peers_agree: 1,
        crypto_key: ['********'],
        key_file: join(FIXTURES, 'goavail.key'),
      },
      Cloudflare: {
        dns_proxied: false,
        dns_domain: 'example.com',
        hostnames: ['test.example.com'],
        ip_addresses: ['203.0.113.1'],
        standby_ips: [],
        min_active: 1,
        failback_delay: 60,
        dns_ttl: 1,
      },
      Route53: {
        aws_domain: 'example.com',
        hostnames: ['test'],
        ip_addresses: ['203.0.113.10'],
        ttl: 30,
        aws_zoneid: 'ZZZZZZZZZZZZZ',
        aws_region: 'us-west-2',
      },
    });
  });

  it('never shows any part of a secret', () => {
    const secrets = ['Zq9-first-secret-key', 'Wx7-second-secret-key', 'T0SLACK/B0SLACK/XSLACK', 'AWSsecretVALUE'];
    const r = validate(
      parse(
        `slack_addr = "${secrets[2]}"\n[Members]\ncrypto_key = ["${secrets[0]}", "${secrets[1]}"]\n` +
          '[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["192.0.2.1"]\n' +
          `[Route53]\naws_secret_access_key = "${secrets[3]}"\naws_zoneid = "Z1"\n`,
      ),
      FILE,
    );
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const printed = printableConfig(r.config);
    const text = JSON.stringify(printed);
    for (const s of secrets) {
      // Not the secret, and not even its first 3 characters.
      expect(text).not.toContain(s.slice(0, 3));
    }
    expect((printed.Members as Record<string, unknown>).crypto_key).toEqual(['********', '********']);
    expect((printed.Route53 as Record<string, unknown>).aws_secret_access_key).toBe('********');
    expect((printed.Route53 as Record<string, unknown>).aws_zoneid).toBe('Z1');
  });

  it('prints TOML the loader reads back to the same config (secrets aside)', async () => {
    const { config } = await loadConfig(join(FIXTURES, 'full.toml'));
    const again = validate(parse(stringify(printableConfig(config))), config.file);
    if (!again.ok) throw new Error(JSON.stringify(again.errors));
    expect({
      ...again.config,
      members: { ...again.config.members, cryptoKeys: config.members.cryptoKeys },
      // the printed file always sets status_addr, the original may leave it to the default
      statusAddrExplicit: config.statusAddrExplicit,
    }).toEqual(config);
    expect(again.config.members.cryptoKeys).toEqual(['********', '********']);
  });

  it('omits absent optional values instead of printing undefined', () => {
    const r = validate(parse('[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["@"]\nip_addresses = ["192.0.2.1"]\n'), FILE);
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    const printed = printableConfig(r.config);
    expect(Object.keys(printed)).not.toContain('slack_addr');
    expect(Object.keys(printed)).not.toContain('Route53');
    expect(printed.Members).toEqual({ peers: [], min_peers_agree: 0, crypto_key: [], key_file: '/etc/goavail/goavail.key' });
    expect(() => stringify(printed)).not.toThrow();
  });

  // What `check-config` writes to stdout, byte for byte (key order included).
  it.each(['original', 'full'])('%s.toml prints exactly as pinned in its .printed.json', async (name) => {
    const { config } = await loadConfig(join(FIXTURES, `${name}.toml`));
    const text = `${JSON.stringify(printableConfig(config), null, 2)}\n`.split(FIXTURES).join('<fixtures>');
    await expect(text).toMatchFileSnapshot(join(FIXTURES, `${name}.printed.json`));
  });
});
