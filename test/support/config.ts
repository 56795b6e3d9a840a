import { DEFAULTS, type Config } from '../../src/config/schema.js';

/** A valid Config built directly (no file), for agent-level tests. */
export function testConfig(
  over: {
    ips?: string[];
    hostnames?: string[];
    intervalMs?: number;
    failureThreshold?: number;
    recoveryThreshold?: number;
    reconcileIntervalMs?: number;
    minPeersAgree?: number;
    peers?: string[];
    port?: number;
    dnsDomain?: string;
    canaries?: string[];
    freezeMinTargets?: number;
    timeoutMs?: number;
    /** Rapid rechecks; off (0) unless a test asks for them, so tests of rounds see rounds only. */
    recheckIntervalMs?: number;
    suspectAfterMs?: number;
    maxRecheckRate?: number;
    standbyIps?: string[];
    minActive?: number;
    failbackDelayMs?: number;
  } = {},
): Config {
  const intervalMs = over.intervalMs ?? 20;
  return {
    file: '/nonexistent/goavail.toml',
    failureThreshold: over.failureThreshold ?? 2,
    recoveryThreshold: over.recoveryThreshold ?? over.failureThreshold ?? 2,
    intervalMs,
    timeoutMs: over.timeoutMs ?? Math.floor(intervalMs / 2),
    suspectAfterMs: over.suspectAfterMs ?? Math.max(1, Math.floor((over.timeoutMs ?? Math.floor(intervalMs / 2)) / 2)),
    recheckIntervalMs: over.recheckIntervalMs ?? 0,
    maxRecheckRate: over.maxRecheckRate ?? 200,
    probeType: 'ip',
    port: over.port ?? 80,
    slackAddr: undefined,
    reconcileIntervalMs: over.reconcileIntervalMs ?? 60_000,
    dnsProvider: 'cloudflare',
    members: {
      peers: over.peers ?? [],
      localAddr: undefined,
      membersPort: undefined,
      minPeersAgree: over.minPeersAgree ?? 0,
      cryptoKeys: [],
      keyFile: '/nonexistent/goavail.key',
    },
    cloudflare: {
      dnsProxied: false,
      dnsDomain: over.dnsDomain ?? 'example.com',
      hostnames: over.hostnames ?? ['www.example.com'],
      ipAddresses: over.ips ?? ['203.0.113.1', '203.0.113.2'],
      standbyIps: over.standbyIps ?? [],
      minActive: over.minActive ?? DEFAULTS.minActive,
      failbackDelayMs: over.failbackDelayMs ?? DEFAULTS.failbackDelaySeconds * 1000,
      dnsTtl: 1,
    },
    aws: undefined,
    route53: undefined,
    statusAddr: undefined,
    statusAddrExplicit: false,
    pagerdutyRoutingKey: undefined,
    pagerdutyUrl: DEFAULTS.pagerdutyUrl,
    opsgenieApiKey: undefined,
    opsgenieUrl: DEFAULTS.opsgenieUrl,
    teamsWebhook: undefined,
    discordWebhook: undefined,
    telegramBotToken: undefined,
    telegramChatId: undefined,
    telegramApiUrl: DEFAULTS.telegramApiUrl,
    auditFile: undefined,
    controlTokenFile: '/nonexistent/goavail.control-token',
    webhooks: [],
    canaries: over.canaries ?? [],
    freezeMinTargets: over.freezeMinTargets ?? 4,
    freezeShare: 0.5,
    maintenance: [],
  };
}
