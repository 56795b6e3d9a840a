import { parse } from 'smol-toml';
import { describe, expect, it } from 'vitest';
import { managedRecords, type ConfigIssue } from '../../../src/config/schema.js';
import { editDistance, suggest, validate, type ValidateResult } from '../../../src/config/validate.js';

const FILE = '/etc/goavail/goavail.toml';
const CF = '[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["192.0.2.1"]\n';

function run(toml: string): ValidateResult {
  return validate(parse(toml), FILE);
}
function ok(toml: string) {
  const r = run(toml);
  if (!r.ok) throw new Error(`expected valid, got ${JSON.stringify(r.errors)}`);
  return r;
}
function errors(toml: string): ConfigIssue[] {
  const r = run(toml);
  if (r.ok) throw new Error('expected errors, config was valid');
  return r.errors;
}

describe('defaults', () => {
  it('fills every default for the smallest valid file', () => {
    const { config, warnings } = ok(CF);
    expect(warnings).toEqual([]);
    expect(config).toEqual({
      file: FILE,
      failureThreshold: 3,
      recoveryThreshold: 3,
      intervalMs: 2000,
      timeoutMs: 1000,
      suspectAfterMs: 100,
      recheckIntervalMs: 200,
      maxRecheckRate: 200,
      probeType: 'ip',
      port: 80,
      slackAddr: undefined,
      reconcileIntervalMs: 60_000,
      dnsProvider: 'cloudflare',
      members: {
        peers: [],
        localAddr: undefined,
        membersPort: undefined,
        minPeersAgree: 0,
        cryptoKeys: [],
        keyFile: '/etc/goavail/goavail.key',
      },
      cloudflare: {
        dnsProxied: false,
        dnsDomain: 'example.com',
        hostnames: ['www.example.com'],
        ipAddresses: ['192.0.2.1'],
        standbyIps: [],
        minActive: 1,
        failbackDelayMs: 60_000,
        dnsTtl: 1,
      },
      route53: undefined,
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
      controlTokenFile: '/etc/goavail/goavail.control-token',
      canaries: [],
      freezeMinTargets: 4,
      freezeShare: 0.5,
      maintenance: [],
    });
  });

  it.each([
    ['no key_file: beside the config file', '', '/etc/goavail/goavail.control-token'],
    ['beside a key_file elsewhere', '[Members]\nkey_file = "/var/lib/goavail/id.key"\n', '/var/lib/goavail/goavail.control-token'],
    ['beside a relative key_file', '[Members]\nkey_file = "state/id.key"\n', '/etc/goavail/state/goavail.control-token'],
    ['set, relative to the config file', 'control_token_file = "secret/ctl"\n', '/etc/goavail/secret/ctl'],
    ['set, absolute', 'control_token_file = "/run/goavail/ctl"\n', '/run/goavail/ctl'],
  ])('control_token_file %s', (_what, extra, want) => {
    const { config } = ok(`${extra.startsWith('[') ? '' : extra}${CF}\n${extra.startsWith('[') ? extra : ''}`);
    expect(config.controlTokenFile).toBe(want);
  });

  it('recovery_threshold defaults to failure_threshold', () => {
    expect(ok(`failure_threshold = 7\n${CF}`).config.recoveryThreshold).toBe(7);
    expect(ok(`failure_threshold = 7\nrecovery_threshold = 2\n${CF}`).config.recoveryThreshold).toBe(2);
  });

  it('an empty slack_addr means no Slack', () => {
    expect(ok(`slack_addr = ""\n${CF}`).config.slackAddr).toBeUndefined();
  });
});

describe('interval and timeout', () => {
  // [interval, timeout (absent = default), intervalMs, timeoutMs]
  const cases: ReadonlyArray<readonly [string, string | undefined, number, number]> = [
    ['2', undefined, 2000, 1000],
    ['5', undefined, 5000, 1000], // default is min(1 s, interval / 2)
    ['1.5', undefined, 1500, 750],
    ['0.5', undefined, 500, 250],
    ['0.3', undefined, 300, 150], // 0.3 * 1000 is 300.00000000000006: rounded
    ['0.1', undefined, 100, 50],
    ['2', '1.9', 2000, 1900],
    ['0.5', '0.1', 500, 100],
    ['1', '0.25', 1000, 250],
  ];
  it.each(cases)('interval = %s, timeout = %s → %i ms / %i ms', (interval, timeout, intervalMs, timeoutMs) => {
    const t = timeout === undefined ? '' : `timeout = ${timeout}\n`;
    const { config } = ok(`interval = ${interval}\n${t}${CF}`);
    expect(config.intervalMs).toBe(intervalMs);
    expect(config.timeoutMs).toBe(timeoutMs);
  });

  it('does not report a timeout error when interval itself is wrong', () => {
    expect(errors(`interval = "2"\ntimeout = 5\n${CF}`).map((e) => e.key)).toEqual(['interval']);
  });

  it('refuses an interval that rounds to 0 ms', () => {
    expect(errors(`interval = 0.0001\n${CF}`)).toEqual([{ key: 'interval', message: 'must be at least 0.001 seconds (1 ms), got 0.0001' }]);
  });

  it('reconcile_interval may be fractional too', () => {
    expect(ok(`reconcile_interval = 1.5\n${CF}`).config.reconcileIntervalMs).toBe(1500);
  });
});

describe('port and the deprecated ports list', () => {
  it('uses the first entry of `ports` when `port` is absent, with a warning', () => {
    const { config, warnings } = ok(`ports = [8000, 80]\n${CF}`);
    expect(config.port).toBe(8000);
    expect(warnings).toEqual([{ key: 'ports', message: 'is deprecated: use `port = 8000` (entries after the first, [80], were never used)' }]);
  });

  it('ignores `ports` when `port` is set, with a warning', () => {
    const { config, warnings } = ok(`port = 443\nports = [8000]\n${CF}`);
    expect(config.port).toBe(443);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.key).toBe('ports');
    expect(warnings[0]?.message).toContain('ignored because `port` is set');
  });

  it('an empty `ports` list is an error', () => {
    expect(errors(`ports = []\n${CF}`)[0]?.key).toBe('ports');
  });
});

describe('unknown keys are warnings, with suggestions', () => {
  // [toml, warning key, exact message]
  const cases: ReadonlyArray<readonly [string, string, string]> = [
    [`failure_treshold = 3\n${CF}`, 'failure_treshold', 'unknown key, ignored; did you mean `failure_threshold`?'],
    [`intervall = 2\n${CF}`, 'intervall', 'unknown key, ignored; did you mean `interval`?'],
    [`interavl = 2\n${CF}`, 'interavl', 'unknown key, ignored; did you mean `interval`?'],
    [`Failure_Threshold = 2\n${CF}`, 'Failure_Threshold', 'unknown key, ignored; did you mean `failure_threshold`? (names are case-sensitive)'],
    [`reconcile_intervals = 9\n${CF}`, 'reconcile_intervals', 'unknown key, ignored; did you mean `reconcile_interval`?'],
    [`verbose = true\n${CF}`, 'verbose', 'unknown key, ignored'],
    [`[Members]\npeer = []\n${CF}`, 'Members.peer', 'unknown key, ignored; did you mean `peers`?'],
    [`[Members]\ncrypto_keys = ["0123456789abcdef"]\n${CF}`, 'Members.crypto_keys', 'unknown key, ignored; did you mean `crypto_key`?'],
    [`${CF}dns_proxy = true\n`, 'Cloudflare.dns_proxy', 'unknown key, ignored; did you mean `dns_proxied`?'],
    [`${CF}hostname = ["api"]\n`, 'Cloudflare.hostname', 'unknown key, ignored; did you mean `hostnames`?'],
    [`${CF}[Monitoring]\nurl = "x"\n`, 'Monitoring', 'unknown table, ignored'],
    [`${CF}[Member]\npeers = []\n`, 'Member', 'unknown table, ignored; did you mean `Members`?'],
    [`peers = []\n${CF}`, 'peers', 'unknown key, ignored; `peers` is a key of the [Members] table: move it under [Members]'],
    [`${CF}interval = 2\n`, 'Cloudflare.interval', 'unknown key, ignored; `interval` is a top-level key: move it above the first [table] header'],
    [`constructor = 1\n${CF}`, 'constructor', 'unknown key, ignored'],
    [`"odd key" = 1\n${CF}`, '"odd key"', 'unknown key, ignored'],
  ];
  it.each(cases)('%#: %s', (toml, key, message) => {
    const { warnings } = ok(toml);
    expect(warnings).toEqual([{ key, message }]);
  });

  it('accepts anything inside [Route53] without warnings', () => {
    const { config, warnings } = ok(`${CF}[Route53]\nwhatever = 1\naws_domian = "x"\n`);
    expect(warnings).toEqual([]);
    expect(config.route53).toEqual({ whatever: 1, aws_domian: 'x' });
  });

  it('works on plain objects as well as null-prototype tables', () => {
    const raw = {
      failure_treshold: 2,
      Cloudflare: { dns_domain: 'example.com', hostnames: ['www'], ip_addresses: ['192.0.2.1'] },
    };
    const r = validate(raw, FILE);
    expect(r.ok).toBe(true);
    expect(r.warnings.map((w) => w.key)).toEqual(['failure_treshold']);
  });
});

describe('other warnings', () => {
  it('warns about short crypto keys, by position, without showing them', () => {
    const { config, warnings } = ok(
      `[Members]\npeers = ["198.51.100.2:7946"]\nlocal_addr = "198.51.100.1:7946"\ncrypto_key = ["0123456789abcdef", "short-secret"]\n${CF}`,
    );
    expect(config.members.cryptoKeys).toEqual(['0123456789abcdef', 'short-secret']);
    expect(warnings.map((w) => w.key)).toEqual(['Members.crypto_key[1]']);
    expect(warnings[0]?.message).toContain('shorter than 16 characters');
    expect(JSON.stringify(warnings)).not.toContain('short-secret');
  });

  it('warns when peers are set but no crypto_key (unsealed gossip)', () => {
    const { config, warnings } = ok(`[Members]\npeers = ["198.51.100.2:7946"]\nlocal_addr = "198.51.100.1:7946"\n${CF}`);
    expect(config.members.cryptoKeys).toEqual([]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.key).toBe('Members.crypto_key');
    expect(warnings[0]?.message).toContain('unsealed and unauthenticated');
  });

  it('a single node without crypto_key is not warned about', () => {
    expect(ok(`[Members]\nlocal_addr = "127.0.0.1:7946"\n${CF}`).warnings).toEqual([]);
  });

  it('warns about a single short crypto key', () => {
    expect(ok(`[Members]\ncrypto_key = "abc"\n${CF}`).warnings.map((w) => w.key)).toEqual(['Members.crypto_key']);
  });

  it('warns about a duplicate peer and keeps one', () => {
    const { config, warnings } = ok(
      `[Members]\npeers = ["198.51.100.2:7946", "198.51.100.2:7946"]\nlocal_addr = "198.51.100.1:7946"\ncrypto_key = "0123456789abcdef"\nmin_peers_agree = 1\n${CF}`,
    );
    expect(config.members.peers).toEqual(['198.51.100.2:7946']);
    expect(warnings.map((w) => w.key)).toEqual(['Members.peers[1]']);
  });

  it('warns that Cloudflare ignores dns_ttl on proxied records', () => {
    const { config, warnings } = ok(`${CF}dns_proxied = true\ndns_ttl = 300\n`);
    expect(config.cloudflare?.dnsTtl).toBe(300);
    expect(warnings.map((w) => w.key)).toEqual(['Cloudflare.dns_ttl']);
  });
});

describe('crypto_key', () => {
  it('a string becomes a one-key ring', () => {
    expect(ok(`[Members]\ncrypto_key = "0123456789abcdef"\n${CF}`).config.members.cryptoKeys).toEqual(['0123456789abcdef']);
  });
  it('a list keeps its order: the first seals, all open', () => {
    const { config } = ok(`[Members]\ncrypto_key = ["new-0123456789abcdef", "old-0123456789abcdef"]\n${CF}`);
    expect(config.members.cryptoKeys).toEqual(['new-0123456789abcdef', 'old-0123456789abcdef']);
  });
  it('an empty string is an error', () => {
    expect(errors(`[Members]\ncrypto_key = ""\n${CF}`)).toEqual([{ key: 'Members.crypto_key', message: 'must not be empty' }]);
  });
});

describe('key_file', () => {
  it.each([
    ['identity.key', '/etc/goavail/identity.key'],
    ['../state/id.key', '/etc/state/id.key'],
    ['/var/lib/goavail/id.key', '/var/lib/goavail/id.key'],
  ])('%s → %s', (value, expected) => {
    expect(ok(`[Members]\nkey_file = "${value}"\n${CF}`).config.members.keyFile).toBe(expected);
  });
});

describe('hostnames', () => {
  // [dns_domain, hostnames, expected FQDNs]
  const good: ReadonlyArray<readonly [string, string[], string[]]> = [
    ['example.com', ['@'], ['example.com']],
    ['example.com', ['www'], ['www.example.com']],
    ['example.com', ['a.b.c'], ['a.b.c.example.com']],
    ['example.com', ['WWW'], ['www.example.com']],
    ['Example.COM.', ['www'], ['www.example.com']],
    ['example.com', ['www.example.com'], ['www.example.com']],
    ['example.com', ['www.example.com.'], ['www.example.com']],
    ['example.com', ['example.com.'], ['example.com']],
    ['example.com', ['example.com'], ['example.com']],
    ['example.com', ['xn--bcher-kva'], ['xn--bcher-kva.example.com']],
    ['example.com', ['1', 'a-b'], ['1.example.com', 'a-b.example.com']],
    // "notexample.com" does not end with ".example.com": it is relative.
    ['example.com', ['notexample.com'], ['notexample.com.example.com']],
    ['sub.example.com', ['@', 'api'], ['sub.example.com', 'api.sub.example.com']],
  ];
  it.each(good)('zone %s, %j → %j', (domain, hostnames, fqdns) => {
    const { config } = ok(`[Cloudflare]\ndns_domain = "${domain}"\nhostnames = ${JSON.stringify(hostnames)}\nip_addresses = ["192.0.2.1"]\n`);
    expect(config.cloudflare?.hostnames).toEqual(fqdns);
  });

  // [hostnames, error key, message fragment]
  const bad: ReadonlyArray<readonly [string[], string, string]> = [
    [['*'], 'Cloudflare.hostnames[0]', 'wildcard'],
    [['www.example.net.'], 'Cloudflare.hostnames[0]', 'outside dns_domain'],
    [['ample.com.'], 'Cloudflare.hostnames[0]', 'outside dns_domain'],
    [['@', 'example.com'], 'Cloudflare.hostnames[1]', 'already listed as hostnames[0]'],
    [['www', 'www.'], 'Cloudflare.hostnames[1]', 'outside dns_domain'],
    [['www-'], 'Cloudflare.hostnames[0]', "must not start or end with '-'"],
    [['.www'], 'Cloudflare.hostnames[0]', 'empty label'],
    [['@.www'], 'Cloudflare.hostnames[0]', 'letters, digits'],
    [[''], 'Cloudflare.hostnames[0]', 'it is empty'],
    [[`${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(50)}`], 'Cloudflare.hostnames[0]', 'once dns_domain is appended'],
  ];
  it.each(bad)('%j → %s', (hostnames, key, fragment) => {
    const errs = errors(`[Cloudflare]\ndns_domain = "example.com"\nhostnames = ${JSON.stringify(hostnames)}\nip_addresses = ["192.0.2.1"]\n`);
    expect(errs).toHaveLength(1);
    expect(errs[0]?.key).toBe(key);
    expect(errs[0]?.message).toContain(fragment);
  });

  it('still checks hostname syntax when dns_domain is invalid', () => {
    const errs = errors('[Cloudflare]\ndns_domain = "bad_domain"\nhostnames = ["ok", "-bad"]\nip_addresses = ["192.0.2.1"]\n');
    expect(errs.map((e) => e.key)).toEqual(['Cloudflare.dns_domain', 'Cloudflare.hostnames[1]']);
  });
});

describe('ip_addresses', () => {
  it('normalises IPv6 to the canonical compressed lower-case form', () => {
    const { config } = ok(
      '[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\n' +
        'ip_addresses = ["203.0.113.5", "2001:0DB8:0000:0000:0000:0000:0000:0001", "2001:db8:0:0:1:0:0:1", "::FFFF:C000:0201"]\n',
    );
    expect(config.cloudflare?.ipAddresses).toEqual(['203.0.113.5', '2001:db8::1', '2001:db8::1:0:0:1', '::ffff:192.0.2.1']);
  });
});

describe('standby_ips, min_active, failback_delay', () => {
  const CF2 = '[Cloudflare]\ndns_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["198.18.0.1", "198.18.0.2"]\n';
  const R53 = 'dns_provider = "route53"\n[Route53]\naws_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["198.18.0.1", "198.18.0.2"]\n';
  it.each([
    ['cloudflare, absent: no standby, the defaults', CF2, [], 1, 60_000],
    [
      'cloudflare, all three',
      `${CF2}standby_ips = ["198.18.0.9", "2001:DB8::9"]\nmin_active = 2\nfailback_delay = 1.5\n`,
      ['198.18.0.9', '2001:db8::9'],
      2,
      1500,
    ],
    ['cloudflare, an empty list: no standby', `${CF2}standby_ips = []\n`, [], 1, 60_000],
    ['cloudflare, failback_delay = 0: at once', `${CF2}standby_ips = ["198.18.0.9"]\nfailback_delay = 0\n`, ['198.18.0.9'], 1, 0],
    ['route53, all three', `${R53}standby_ips = ["198.18.0.9"]\nmin_active = 2\nfailback_delay = 30\n`, ['198.18.0.9'], 2, 30_000],
  ])('%s', (_name, toml, standbyIps, minActive, failbackDelayMs) => {
    const { config, warnings } = ok(toml);
    expect(warnings).toEqual([]);
    const m = managedRecords(config);
    expect(m.standby).toEqual({ standbyIps, minActive, failbackDelayMs });
    // Standbys are probed, gossiped and voted on like the primaries: they are in the IP list, after them.
    expect(m.primaryIps).toEqual(['198.18.0.1', '198.18.0.2']);
    expect(m.ipAddresses).toEqual(['198.18.0.1', '198.18.0.2', ...standbyIps]);
  });

  it.each([
    ['min_active', `${CF2}min_active = 2\n`, 'Cloudflare.min_active'],
    ['failback_delay', `${CF2}standby_ips = []\nfailback_delay = 10\n`, 'Cloudflare.failback_delay'],
  ])('%s without standby_ips is a warning: it does nothing', (_name, toml, key) => {
    const { warnings } = ok(toml);
    expect(warnings).toEqual([{ key, message: 'has no effect without Cloudflare.standby_ips' }]);
  });

  it('a canary that is a standby is refused, naming standby_ips', () => {
    expect(errors(`canaries = ["198.18.0.9"]\n${CF2}standby_ips = ["198.18.0.9"]\n`)).toEqual([
      {
        key: 'canaries[0]',
        message: '198.18.0.9 is also in Cloudflare.standby_ips: a canary must be an address this agent should always reach, not a managed one',
      },
    ]);
  });
});

describe('local_addr', () => {
  it('allows port 0 (any free port)', () => {
    expect(ok(`[Members]\nlocal_addr = "127.0.0.1:0"\n${CF}`).config.members.localAddr).toBe('127.0.0.1:0');
  });
});

describe('edit distance and suggestions', () => {
  it.each([
    ['failure_treshold', 'failure_threshold', 1],
    ['interavl', 'interval', 1], // adjacent transposition counts once
    ['abc', 'abc', 0],
    ['', 'abc', 3],
    ['kitten', 'sitting', 3],
  ])('%s ↔ %s = %i', (a, b, d) => {
    expect(editDistance(a, b)).toBe(d);
    expect(editDistance(b, a)).toBe(d);
  });

  it('suggests only within distance 2, nearest first', () => {
    expect(suggest('tipe', ['type', 'timeout'])).toEqual(['type']);
    expect(suggest('zzzz', ['type', 'port'])).toEqual([]);
    expect(suggest('pert', ['port', 'peers'])).toEqual(['port']);
  });
});

describe('structure errors', () => {
  it.each([null, [], 'text', 3])('a root that is not a table (%j) is an error', (raw) => {
    const r = validate(raw, FILE);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors[0]?.key).toBe('(root)');
  });

  it('a table where a value is expected names the key', () => {
    expect(errors(`[port]\nnumber = 80\n${CF}`)).toEqual([{ key: 'port', message: 'must be an integer between 1 and 65535, got a table' }]);
  });

  it('a value where a table is expected names the table', () => {
    expect(errors(`Route53 = 1\n${CF}`)).toEqual([{ key: 'Route53', message: 'must be a table (a [Route53] section), got an integer 1' }]);
  });

  it('route53 provider: checks [Route53] with its own key names, does not ask for [Cloudflare]', () => {
    expect(validate(parse('dns_provider = "route53"\n[Route53]\naws_domain = "example.com"\n'), FILE)).toEqual({
      ok: false,
      errors: [
        { key: 'Route53.hostnames', message: 'is required: the names whose record sets goavail manages, e.g. ["www"] or ["@"]' },
        { key: 'Route53.ip_addresses', message: 'is required: the addresses to probe and publish' },
      ],
      warnings: [],
    });
  });

  it('route53 provider: the [Route53] table fills Config.aws; [Cloudflare] is neither checked nor used', () => {
    const r = validate(
      parse(
        'dns_provider = "route53"\n[Cloudflare]\ndns_domain = 7\n[Route53]\naws_domain = "Example.COM."\nhostnames = ["test", "@"]\nip_addresses = ["198.18.0.1", "2001:db8::1"]\naws_zoneid = "/hostedzone/Z1D633PJN98FT9"\naws_region = "us-west-2"\n',
      ),
      FILE,
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.config.dnsProvider).toBe('route53');
    expect(r.config.cloudflare).toBeUndefined();
    expect(r.config.aws).toEqual({
      domain: 'example.com',
      hostnames: ['test.example.com', 'example.com'],
      ipAddresses: ['198.18.0.1', '2001:db8::1'],
      standbyIps: [],
      minActive: 1,
      failbackDelayMs: 60_000,
      ttl: 60,
      zoneId: 'Z1D633PJN98FT9',
      region: 'us-west-2',
    });
    expect(managedRecords(r.config)).toEqual({
      domain: 'example.com',
      hostnames: ['test.example.com', 'example.com'],
      ipAddresses: ['198.18.0.1', '2001:db8::1'],
      primaryIps: ['198.18.0.1', '2001:db8::1'],
      standby: { standbyIps: [], minActive: 1, failbackDelayMs: 60_000 },
      ttl: 60,
      proxied: false,
    });
  });

  it('--dns-provider route53 overrides the file: [Route53] is checked, [Cloudflare] is not required', () => {
    const r = validate(parse('[Route53]\naws_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["198.18.0.1"]\nttl = 30\n'), FILE, {
      dnsProvider: 'route53',
    });
    expect(r.ok && r.config.aws?.ttl).toBe(30);
  });

  it('cloudflare provider: [Route53] is kept as written and not checked', () => {
    const r = validate(parse(`[Route53]\naws_zoneid = 7\n${CF}`), FILE);
    expect(r.ok && r.config.route53).toEqual({ aws_zoneid: 7 });
    expect(r.ok && r.config.aws).toBeUndefined();
  });

  it('a canary that is a managed Route 53 IP names the [Route53] key', () => {
    const r = validate(
      parse('dns_provider = "route53"\ncanaries = ["198.18.0.1"]\n[Route53]\naws_domain = "example.com"\nhostnames = ["www"]\nip_addresses = ["198.18.0.1"]\n'),
      FILE,
    );
    expect(r.ok ? [] : r.errors).toEqual([
      {
        key: 'canaries[0]',
        message: '198.18.0.1 is also in Route53.ip_addresses: a canary must be an address this agent should always reach, not a managed one',
      },
    ]);
  });

  it('min_peers_agree may equal the number of peers', () => {
    const { config } = ok(
      `[Members]\npeers = ["198.51.100.2:7946", "198.51.100.3:7946"]\nlocal_addr = "198.51.100.1:7946"\nmin_peers_agree = 2\ncrypto_key = "0123456789abcdef"\n${CF}`,
    );
    expect(config.members.minPeersAgree).toBe(2);
  });

  it('peers without local_addr is an error (the peers could not dial this agent)', () => {
    expect(errors(`[Members]\npeers = ["198.51.100.2:7946"]\ncrypto_key = "0123456789abcdef"\n${CF}`)).toEqual([
      { key: 'Members.local_addr', message: 'required when Members.peers is set (the address this agent listens on for its peers, host:port)' },
    ]);
    expect(ok(`[Members]\npeers = []\n${CF}`).config.members.localAddr).toBeUndefined();
    expect(ok(`[Members]\nlocal_addr = "127.0.0.1:0"\n${CF}`).config.members.peers).toEqual([]);
  });

  it('--type and --dns-provider override the file once its own values are checked', () => {
    const r = validate(parse(`type = "ip"\n${CF}`), FILE, { probeType: 'tcp', dnsProvider: 'cloudflare' });
    if (!r.ok) throw new Error(JSON.stringify(r.errors));
    expect(r.config.probeType).toBe('tcp');
    expect(r.config.dnsProvider).toBe('cloudflare');
    expect(ok(`type = "tcp"\n${CF}`).config.probeType).toBe('tcp');
    // The file's own value must still be valid: monitor refuses it too.
    const bad = validate(parse(`type = "icmp"\n${CF}`), FILE, { probeType: 'ip' });
    expect(bad.ok).toBe(false);
  });

  it('min_peers_agree with no peers at all says it can never be reached', () => {
    expect(errors(`[Members]\nmin_peers_agree = 1\n${CF}`)).toEqual([
      { key: 'Members.min_peers_agree', message: '1 can never be reached: only 0 peers are listed in Members.peers' },
    ]);
  });
});
