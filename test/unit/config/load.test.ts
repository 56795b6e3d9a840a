import { execFile } from 'node:child_process';
import { mkdtemp, readdir, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { promisify } from 'node:util';
import { ConfigError, formatIssues, loadConfig, MAX_CONFIG_BYTES } from '../../../src/config/load.js';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/config');
const BAD = join(FIXTURES, 'bad');

async function loadError(path: string): Promise<ConfigError> {
  try {
    await loadConfig(path);
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error(`${path} loaded without error`);
}

describe('loadConfig: the original goavail.toml', () => {
  it('loads unchanged into the expected Config', async () => {
    const file = join(FIXTURES, 'original.toml');
    const { config, warnings } = await loadConfig(file);
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      file,
      failureThreshold: 5,
      recoveryThreshold: 5,
      intervalMs: 2000,
      timeoutMs: 1000,
      suspectAfterMs: 100,
      recheckIntervalMs: 200,
      maxRecheckRate: 200,
      probeType: 'ip',
      port: 80,
      slackAddr: 'T000/B000/XXXX',
      reconcileIntervalMs: 60_000,
      dnsProvider: 'cloudflare',
      members: {
        peers: ['127.0.0.1:8082'],
        localAddr: '127.0.0.1:8081',
        membersPort: 7947,
        minPeersAgree: 1,
        cryptoKeys: ['1234567891012345'],
        keyFile: join(FIXTURES, 'goavail.key'),
      },
      cloudflare: {
        dnsProxied: false,
        dnsDomain: 'example.com',
        hostnames: ['test.example.com'],
        ipAddresses: ['203.0.113.1'],
        standbyIps: [],
        minActive: 1,
        failbackDelayMs: 60_000,
        dnsTtl: 1,
      },
      route53: {
        aws_domain: 'example.com',
        hostnames: ['test'],
        ip_addresses: ['203.0.113.10'],
        ttl: 30,
        aws_zoneid: 'ZZZZZZZZZZZZZ',
        aws_region: 'us-west-2',
      },
      statusAddr: '127.0.0.1:9470',
      statusAddrExplicit: false,
      webhooks: [],
      pagerdutyRoutingKey: undefined,
      pagerdutyUrl: 'https://events.pagerduty.com/v2/enqueue',
      opsgenieApiKey: undefined,
      opsgenieUrl: 'https://api.opsgenie.com',
      teamsWebhook: undefined,
      discordWebhook: undefined,
      telegramBotToken: undefined,
      telegramChatId: undefined,
      telegramApiUrl: 'https://api.telegram.org',
      auditFile: undefined,
      controlTokenFile: resolve(FIXTURES, 'goavail.control-token'),
      canaries: [],
      freezeMinTargets: 4,
      freezeShare: 0.5,
      maintenance: [],
    });
    // Route53 is copied into plain objects, not smol-toml's null-prototype tables.
    expect(Object.getPrototypeOf(config.route53)).toBe(Object.prototype);
  });

  it('resolves a relative path against the working directory', async () => {
    const rel = join('test/fixtures/config', 'original.toml');
    const { config } = await loadConfig(rel);
    expect(config.file).toBe(resolve(rel));
  });
});

describe('loadConfig: valid files', () => {
  it('accepts a single-node file without [Members], with defaults', async () => {
    const file = join(FIXTURES, 'minimal.toml');
    const { config, warnings } = await loadConfig(file);
    expect(warnings).toEqual([]);
    expect(config.members).toEqual({
      peers: [],
      localAddr: undefined,
      membersPort: undefined,
      minPeersAgree: 0,
      cryptoKeys: [],
      keyFile: join(FIXTURES, 'goavail.key'),
    });
    expect(config.cloudflare?.hostnames).toEqual(['www.example.com']);
    expect(config.cloudflare?.ipAddresses).toEqual(['127.0.0.1', '127.0.0.2']);
    expect(config.failureThreshold).toBe(3);
    expect(config.recoveryThreshold).toBe(3);
  });

  it('reads every new key (fractional interval, key list, key_file, apex, IPv6)', async () => {
    const file = join(FIXTURES, 'full.toml');
    const { config, warnings } = await loadConfig(file);
    expect(warnings).toEqual([]);
    expect(config).toMatchObject({
      failureThreshold: 4,
      recoveryThreshold: 2,
      intervalMs: 500,
      timeoutMs: 200,
      reconcileIntervalMs: 15_000,
      probeType: 'tcp',
      port: 443,
      members: {
        peers: ['198.51.100.2:7946', '[2001:db8::2]:7946', 'agent-c.example.net:7946', '/ip4/198.51.100.4/tcp/7946'],
        localAddr: '0.0.0.0:7946',
        minPeersAgree: 2,
        cryptoKeys: ['new-key-0123456789abcdef', 'old-key-0123456789abcdef'],
        keyFile: join(FIXTURES, 'state/identity.key'),
      },
      cloudflare: {
        dnsProxied: true,
        dnsDomain: 'example.com',
        hostnames: ['example.com', 'www.example.com', 'api.example.com', 'mail.example.com'],
        ipAddresses: ['192.0.2.1', '2001:db8::10', '2001:db8::1:0:0:1'],
        standbyIps: [],
        minActive: 1,
        failbackDelayMs: 60_000,
        dnsTtl: 1,
        zoneId: '023e105f4ecef8ad9ca31a8372d0c353',
      },
    });
    expect(config.slackAddr).toBeUndefined();
    expect(config.route53).toBeUndefined();
  });
});

/**
 * Every file in bad/ must appear here with the key its error names and a
 * fragment of the reason; each file holds exactly one mistake.
 */
const BAD_CASES: ReadonlyArray<readonly [file: string, key: string, fragment: string]> = [
  ['syntax-error', '(syntax)', 'line 2, column 12'],
  ['syntax-duplicate-key', '(syntax)', 'line 2, column 1'],
  ['syntax-secret', '(syntax)', 'line 2, column 32'],
  ['threshold-fraction', 'failure_threshold', 'must be an integer ≥ 1, got a float 2.5'],
  ['threshold-zero', 'failure_threshold', 'integer ≥ 1, got 0'],
  ['threshold-string', 'failure_threshold', 'got a string "3"'],
  ['recovery-zero', 'recovery_threshold', 'integer ≥ 1, got 0'],
  ['interval-zero', 'interval', 'greater than 0, got 0'],
  ['interval-negative', 'interval', 'got -1.5'],
  ['interval-string', 'interval', 'number of seconds greater than 0, got a string "2s"'],
  ['interval-nan', 'interval', 'got a float nan'],
  ['interval-date', 'interval', 'got a date/time 1979-05-27'],
  ['interval-table', 'interval', 'got a table'],
  ['timeout-equals-interval', 'timeout', 'must be less than interval (2 s)'],
  ['timeout-above-interval', 'timeout', 'less than interval (0.5 s)'],
  ['timeout-zero', 'timeout', 'greater than 0'],
  ['suspect-after-not-below-timeout', 'suspect_after', 'must be less than timeout (0.5 s)'],
  ['suspect-after-zero', 'suspect_after', 'greater than 0, got 0'],
  ['recheck-interval-not-below-interval', 'recheck_interval', 'must be less than interval (1 s)'],
  ['recheck-interval-negative', 'recheck_interval', '≥ 0, got -0.1'],
  ['max-recheck-rate-zero', 'max_recheck_rate', 'an integer ≥ 1, got 0'],
  ['reconcile-too-short', 'reconcile_interval', '≥ 1, got 0.5'],
  ['type-unknown', 'type', 'must be "ip", "tcp", "http" or "https", got a string "icmp"'],
  ['status-addr-no-port', 'status_addr', 'must be "host:port"'],
  ['ip-unspecified', 'Cloudflare.ip_addresses[0]', 'unspecified address'],
  ['ip-v4-mapped', 'Cloudflare.ip_addresses[0]', 'IPv4-mapped'],
  ['webhook-not-http', 'webhooks[0]', 'http:// or https:// URL'],
  ['webhooks-not-a-list', 'webhooks', 'must be a list of http(s) URLs'],
  ['canary-invalid', 'canaries[1]', 'got a string "gateway"'],
  ['maintenance-not-array', 'maintenance', 'must be an array of tables ([[maintenance]] above each window), got a string'],
  ['maintenance-single-table', 'maintenance', 'write [[maintenance]] (two brackets) above each window, got a single [maintenance] table'],
  ['maintenance-ip-unmanaged', 'maintenance[1].ips[1]', '198.18.0.9 is not one of the managed ip_addresses (Cloudflare.ip_addresses)'],
  ['maintenance-route53-ip', 'maintenance[0].ips[0]', '198.18.0.1 is not one of the managed ip_addresses (Route53.ip_addresses)'],
  ['maintenance-ip-invalid', 'maintenance[0].ips[0]', 'is not an IPv4 or IPv6 address, got "198.18.0"'],
  ['maintenance-ip-duplicate', 'maintenance[0].ips[2]', 'duplicate: "198.18.0.1" is the same address as ips[0]'],
  ['maintenance-ips-empty', 'maintenance[0].ips', 'must not be empty'],
  ['maintenance-ips-missing', 'maintenance[0].ips', 'is required: the managed IPs this window drains'],
  ['maintenance-start-local', 'maintenance[0].start', 'is a local date-time without an offset'],
  ['maintenance-start-date-only', 'maintenance[0].start', 'is a date or a time alone'],
  ['maintenance-start-string-no-offset', 'maintenance[0].start', 'has no offset: add Z or an offset'],
  ['maintenance-start-not-a-date', 'maintenance[0].start', 'is not a real date and time, got "2026-02-30T01:00:00Z"'],
  ['maintenance-start-missing', 'maintenance[0].start', 'is required: when the window opens'],
  ['maintenance-duration-missing', 'maintenance[0].duration', 'is required: how long the window stays open'],
  ['maintenance-duration-zero', 'maintenance[0].duration', 'greater than 0'],
  ['maintenance-duration-text', 'maintenance[0].duration', 'got "2 hours"'],
  ['maintenance-duration-weekly-too-long', 'maintenance[0].duration', 'must be at most 7 days (604800 s) for a weekly window, got 691200 s'],
  ['maintenance-never-closes', 'maintenance[0].duration', 'makes the window never close'],
  ['maintenance-reason-too-long', 'maintenance[0].reason', 'must be at most 200 characters, got 201'],
  ['maintenance-weekday-capital', 'maintenance[0].weekdays[0]', 'did you mean "sat"?'],
  ['maintenance-weekday-duplicate', 'maintenance[0].weekdays[2]', 'duplicate: "sat" is already listed as weekdays[0]'],
  ['maintenance-at-invalid', 'maintenance[0].at', 'must be a 24-hour local time "HH:MM"'],
  ['maintenance-at-without-weekdays', 'maintenance[0].weekdays', 'is required with at'],
  ['maintenance-weekdays-without-at', 'maintenance[0].at', 'is required with weekdays'],
  ['maintenance-timezone-unknown', 'maintenance[0].timezone', 'must be an IANA time zone name'],
  ['maintenance-timezone-one-off', 'maintenance[0].timezone', 'only applies to a weekly window'],
  ['maintenance-unknown-key', 'maintenance[0].reasn', 'unknown key in a [[maintenance]] table; did you mean `reason`?'],
  ['canary-managed', 'canaries[0]', 'also in Cloudflare.ip_addresses'],
  ['freeze-share-above-one', 'freeze_share', 'at most 1'],
  ['freeze-min-targets-zero', 'freeze_min_targets', 'an integer ≥ 1'],
  ['port-out-of-range', 'port', 'between 1 and 65535, got 70000'],
  ['port-zero', 'port', 'between 1 and 65535, got 0'],
  ['ports-bad-entry', 'ports[0]', 'between 1 and 65535, got 0'],
  ['provider-unknown', 'dns_provider', 'unsupported DNS provider "powerdns"; supported: "cloudflare" or "route53"'],
  ['provider-capitalised', 'dns_provider', 'did you mean "route53"? (provider names are lower case)'],
  ['route53-missing', 'Route53', 'the [Route53] table is required when dns_provider is "route53"'],
  ['route53-lowercase', 'Route53', 'found `route53`'],
  ['route53-domain-typo', 'Route53.aws_domain', 'found `aws_domian`'],
  ['route53-zoneid-invalid', 'Route53.aws_zoneid', 'must be a Route 53 hosted zone id'],
  ['route53-ttl-zero', 'Route53.ttl', 'between 1 and 86400, got 0'],
  ['route53-hostname-outside-zone', 'Route53.hostnames[0]', 'outside aws_domain "example.com"'],
  ['slack-not-string', 'slack_addr', 'must be a string, got an integer'],
  ['cloudflare-missing', 'Cloudflare', 'the [Cloudflare] table is required'],
  ['cloudflare-lowercase', 'Cloudflare', 'found `cloudflare`'],
  ['cloudflare-not-table', 'Cloudflare', 'must be a table'],
  ['cloudflare-array-of-tables', 'Cloudflare', 'array of tables ([[Cloudflare]])'],
  ['domain-missing', 'Cloudflare.dns_domain', 'is required'],
  ['domain-typo', 'Cloudflare.dns_domain', 'found `dns_domian`'],
  ['domain-invalid', 'Cloudflare.dns_domain', 'label "exa mple" may only hold'],
  ['proxied-string', 'Cloudflare.dns_proxied', 'must be a boolean'],
  ['ttl-out-of-range', 'Cloudflare.dns_ttl', '1 (automatic) or between 30 and 86400 seconds, got 10'],
  ['zone-id-not-hex', 'Cloudflare.zone_id', 'must be a Cloudflare zone id, 32 hexadecimal digits'],
  ['ttl-fraction', 'Cloudflare.dns_ttl', 'must be an integer, got a float 60.5'],
  ['ip-missing', 'Cloudflare.ip_addresses', 'is required'],
  ['ip-empty', 'Cloudflare.ip_addresses', 'must not be empty'],
  ['ip-not-a-list', 'Cloudflare.ip_addresses', 'must be a list of IP addresses, got a string "203.0.113.1"'],
  ['ip-invalid', 'Cloudflare.ip_addresses[1]', 'not an IPv4 or IPv6 address, got "203.0.113.300"'],
  ['ip-not-string', 'Cloudflare.ip_addresses[1]', 'got an integer 42'],
  ['ip-leading-zero', 'Cloudflare.ip_addresses[0]', 'not an IPv4 or IPv6 address'],
  ['ip-zone-index', 'Cloudflare.ip_addresses[0]', 'zone index'],
  ['ip-duplicate-ipv6', 'Cloudflare.ip_addresses[1]', 'same address as ip_addresses[0] (2001:db8::1)'],
  ['ip-duplicate-ipv4', 'Cloudflare.ip_addresses[2]', 'same address as ip_addresses[0]'],
  ['hostnames-missing', 'Cloudflare.hostnames', 'is required'],
  ['hostnames-empty', 'Cloudflare.hostnames', 'must not be empty'],
  ['hostname-wildcard', 'Cloudflare.hostnames[1]', 'wildcard labels (*) are not allowed; got "*"'],
  ['hostname-wildcard-label', 'Cloudflare.hostnames[0]', 'wildcard'],
  ['hostname-leading-hyphen', 'Cloudflare.hostnames[0]', "must not start or end with '-'"],
  ['hostname-underscore', 'Cloudflare.hostnames[0]', 'letters, digits and'],
  ['hostname-empty-label', 'Cloudflare.hostnames[0]', 'empty label'],
  ['hostname-label-too-long', 'Cloudflare.hostnames[0]', '64 characters long (at most 63)'],
  ['hostname-outside-zone', 'Cloudflare.hostnames[0]', 'outside dns_domain "example.com"'],
  ['hostname-duplicate', 'Cloudflare.hostnames[1]', 'is www.example.com, already listed as hostnames[0]'],
  ['hostname-apex-duplicate', 'Cloudflare.hostnames[1]', 'already listed as hostnames[0]'],
  ['peers-not-a-list', 'Members.peers', 'must be a list'],
  ['peer-missing-port', 'Members.peers[0]', 'port is missing'],
  ['peer-ipv6-unbracketed', 'Members.peers[0]', 'must be in brackets'],
  ['peer-bad-port', 'Members.peers[0]', 'port 99999 is outside 1..65535'],
  ['peer-bad-multiaddr', 'Members.peers[0]', 'not a valid multiaddr'],
  ['local-addr-no-port', 'Members.local_addr', 'port is missing'],
  ['local-addr-missing', 'Members.local_addr', 'required when Members.peers is set'],
  ['members-port-zero', 'Members.members_port', 'between 1 and 65535, got 0'],
  ['min-peers-unreachable', 'Members.min_peers_agree', '2 can never be reached: only 1 peer is listed'],
  ['min-peers-negative', 'Members.min_peers_agree', 'integer ≥ 0, got -1'],
  ['crypto-key-empty-list', 'Members.crypto_key', 'must not be an empty list'],
  ['crypto-key-empty-entry', 'Members.crypto_key[1]', 'must not be empty'],
  ['crypto-key-number', 'Members.crypto_key', 'must be a string or a list of strings, got an integer'],
  ['key-file-empty', 'Members.key_file', 'must be a file path'],
  ['control-token-file-empty', 'control_token_file', 'must be a file path'],
  ['members-not-table', 'Members', 'must be a table'],
  ['alert-telegram-no-chat', 'telegram_chat_id', 'is required with telegram_bot_token'],
  ['alert-telegram-chat-invalid', 'telegram_chat_id', 'must be a chat id'],
  ['alert-teams-not-http', 'teams_webhook', 'must be an http:// or https:// URL, got a ftp: URL'],
  ['alert-pagerduty-key-space', 'pagerduty_routing_key', 'must not contain spaces or line breaks'],
  ['http-method-unknown', 'HTTP.method', 'must be "GET" or "HEAD", got a string "POST"'],
  ['http-status-600', 'HTTP.expect_status[1]', '600 is not an HTTP status code (100..599)'],
  ['http-status-class-range', 'HTTP.expect_status[0]', 'the ends of a range must be status codes'],
  ['http-status-reversed', 'HTTP.expect_status[0]', 'the range is reversed: 299 is above 200'],
  ['http-status-empty', 'HTTP.expect_status', 'must be a non-empty list'],
  ['http-keys-with-ip', 'HTTP.path', 'only applies to type = "http" or "https" (type is "ip")'],
  ['http-keys-with-tcp', 'HTTP.expect_status', '(type is "tcp")'],
  ['http-ca-file-missing', 'HTTP.ca_file', 'cannot read no-such-ca.pem: no such file'],
  ['http-ca-file-not-pem', 'HTTP.ca_file', 'holds no PEM certificate'],
  ['http-path-relative', 'HTTP.path', 'must start with "/"'],
  ['http-host-invalid', 'HTTP.host', 'must be a DNS name'],
  ['http-header-host', 'HTTP.headers.Host', 'set `host` in [HTTP] instead'],
  ['http-header-newline', 'HTTP.headers.Authorization', 'must not hold line breaks'],
  ['http-header-not-string', 'HTTP.headers.Authorization', 'must be a string, got an integer'],
  ['http-headers-not-table', 'HTTP.headers', 'must be a table of header names to values'],
  ['http-body-empty', 'HTTP.expect_body', 'must not be empty'],
  ['http-tls-verify-string', 'HTTP.tls_verify', 'must be a boolean'],
  ['http-cert-min-days-negative', 'HTTP.cert_min_days', 'integer ≥ 0, got -1'],
  ['http-table-not-table', 'HTTP', 'must be a table (a [HTTP] section)'],
  ['standby-also-primary', 'Cloudflare.standby_ips[1]', '198.18.0.2 is also Cloudflare.ip_addresses[1]: an IP is either a primary or a standby'],
  ['standby-ip-invalid', 'Cloudflare.standby_ips[1]', 'is not an IPv4 or IPv6 address, got "not-an-ip"'],
  ['standby-ip-duplicate', 'Cloudflare.standby_ips[1]', 'is the same address as Cloudflare.standby_ips[0] (2001:db8::9)'],
  ['standby-ips-not-list', 'Cloudflare.standby_ips', 'must be a list of IP addresses, got a string'],
  ['standby-min-active-above-primaries', 'Cloudflare.min_active', 'at most the number of Cloudflare.ip_addresses (2), got 3'],
  ['standby-min-active-zero', 'Cloudflare.min_active', 'integer ≥ 1, got 0'],
  ['standby-failback-delay-negative', 'Cloudflare.failback_delay', 'seconds ≥ 0, got -1'],
  ['route53-standby-also-primary', 'Route53.standby_ips[0]', '198.18.0.1 is also Route53.ip_addresses[0]'],
  ['route53-standby-min-active-above-primaries', 'Route53.min_active', 'at most the number of Route53.ip_addresses (1), got 2'],
];

describe('loadConfig: the bad corpus', () => {
  it('has a case for every file in bad/ and a file for every case', async () => {
    const files = (await readdir(BAD))
      .filter((f) => f.endsWith('.toml'))
      .map((f) => basename(f, '.toml'))
      .sort();
    expect(files).toEqual(BAD_CASES.map(([f]) => f).sort());
    expect(files.length).toBeGreaterThanOrEqual(25);
  });

  it.each(BAD_CASES)('%s.toml → %s', async (name, key, fragment) => {
    const file = join(BAD, `${name}.toml`);
    const err = await loadError(file);
    expect(err.file).toBe(file);
    // One mistake per file: exactly one issue, naming the key, with the reason.
    expect(err.issues).toHaveLength(1);
    expect(err.issues[0]?.key).toBe(key);
    expect(err.issues[0]?.message).toContain(fragment);
    expect(err.message).toBe(`${file}: ${key}: ${err.issues[0]?.message}`);
  });

  it('never echoes a secret in an error', async () => {
    const err = await loadError(join(BAD, 'crypto-key-number.toml'));
    expect(err.message).not.toContain('1234567890');
    const slack = await loadError(join(BAD, 'slack-not-string.toml'));
    expect(slack.message).not.toContain('12345');
    // [HTTP] headers values are secrets too (an auth header).
    for (const name of ['http-header-newline', 'http-header-not-string', 'http-headers-not-table']) {
      const header = await loadError(join(BAD, `${name}.toml`));
      expect(header.message).not.toMatch(/s3cret|12345/);
    }
  });

  it.each(['alert-telegram-no-chat', 'alert-teams-not-http', 'alert-pagerduty-key-space', 'alert-telegram-chat-invalid'])(
    'never echoes an alert channel secret: %s',
    async (name) => {
      const err = await loadError(join(BAD, `${name}.toml`));
      expect(err.message).not.toMatch(/SECRET/);
    },
  );

  it('shows the offending line for a syntax error', async () => {
    const err = await loadError(join(BAD, 'syntax-error.toml'));
    expect(err.message).toBe(`${join(BAD, 'syntax-error.toml')}: (syntax): invalid TOML at line 2, column 12: invalid value`);
  });

  it('does not quote the offending line of a syntax error (it may hold a secret)', async () => {
    const err = await loadError(join(BAD, 'syntax-secret.toml'));
    expect(err.issues[0]?.message).toContain('line 2, column 32');
    expect(err.message).not.toContain('s3cr3t');
  });
});

describe('loadConfig: files that cannot be read', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'goavail-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names a missing file without a stack trace', async () => {
    const file = join(dir, 'nope.toml');
    const err = await loadError(file);
    expect(err.message).toBe(`${file}: (file): config file not found (no such file)`);
  });

  it('refuses a directory', async () => {
    const err = await loadError(dir);
    expect(err.issues[0]).toEqual({ key: '(file)', message: 'is a directory, not a regular file' });
  });

  it('refuses a FIFO at once instead of blocking in open() until a writer comes', async () => {
    const fifo = join(dir, 'fifo.toml');
    await promisify(execFile)('mkfifo', [fifo]);
    const started = Date.now();
    const err = await loadError(fifo);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(err.message).toBe(`${fifo}: (file): is a FIFO (named pipe), not a regular file`);
  }, 5_000);

  it('refuses a symlink to /dev/zero without reading it', async () => {
    const link = join(dir, 'zero.toml');
    await symlink('/dev/zero', link);
    const err = await loadError(link);
    expect(err.message).toBe(`${link}: (file): is a character device, not a regular file`);
  }, 5_000);

  it('refuses a file above 10 MiB before reading it, naming its size', async () => {
    const big = join(dir, 'big.toml');
    await writeFile(big, '');
    await truncate(big, MAX_CONFIG_BYTES + 1); // sparse: nothing to write
    const err = await loadError(big);
    expect(MAX_CONFIG_BYTES).toBe(10 * 1024 * 1024);
    expect(err.message).toBe(`${big}: (file): is 10485761 bytes: a config file may be at most 10 MiB (10485760 bytes)`);
  });

  it('reads a file of exactly 10 MiB (the limit is inclusive)', async () => {
    const file = join(dir, 'limit.toml');
    const body = 'interval = 1\n[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["@"]\nip_addresses = ["192.0.2.1"]\n';
    await writeFile(file, body + '#'.repeat(MAX_CONFIG_BYTES - body.length - 1) + '\n');
    const { config } = await loadConfig(file);
    expect(config.intervalMs).toBe(1000);
  });

  it('reports several problems at once, one line each', async () => {
    const file = join(dir, 'many.toml');
    await writeFile(file, 'failure_threshold = 0\ninterval = -1\n[Cloudflare]\ndns_domain = "example.com"\nhostnames = []\nip_addresses = ["x"]\n');
    const err = await loadError(file);
    expect(err.issues.map((i) => i.key)).toEqual(['failure_threshold', 'interval', 'Cloudflare.hostnames', 'Cloudflare.ip_addresses[0]']);
    expect(err.message.split('\n')).toHaveLength(4);
    for (const line of err.message.split('\n')) expect(line.startsWith(`${file}: `)).toBe(true);
  });

  it('accepts a UTF-8 byte order mark', async () => {
    const file = join(dir, 'bom.toml');
    await writeFile(file, '\uFEFFinterval = 1\n[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["@"]\nip_addresses = ["192.0.2.1"]\n');
    const { config } = await loadConfig(file);
    expect(config.intervalMs).toBe(1000);
    expect(config.timeoutMs).toBe(500);
  });
});

describe('formatIssues', () => {
  it('writes one `<file>: <key>: <message>` line per issue', () => {
    expect(
      formatIssues('/etc/goavail.toml', [
        { key: 'interval', message: 'must be a number' },
        { key: 'Cloudflare.hostnames[1]', message: 'duplicate' },
      ]),
    ).toBe('/etc/goavail.toml: interval: must be a number\n/etc/goavail.toml: Cloudflare.hostnames[1]: duplicate');
  });
});
