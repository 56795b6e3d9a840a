import { hostname } from 'node:os';
import { Agent } from '../agent.js';
import { AuditLog } from '../audit/log.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { printableConfig } from '../config/print.js';
import { failoverSentence } from '../detect/recheck.js';
import { maintenanceDrains, maintenanceSummary } from '../drain/maintenance.js';
import { managedRecords, type Config, type ConfigIssue, type ProbeType } from '../config/schema.js';
import type { ConfigOverrides } from '../config/validate.js';
// The Cloudflare SDK (~55 MB, ~1 s of CPU) and libp2p (~30 MB) are loaded
// only when used: with credentials, and in cluster mode.
import type { CloudflareCredentials, CloudflareProvider } from '../dns/cloudflare.js';
// So is the AWS SDK (~19 MB): only with dns_provider = "route53".
import type * as Route53Module from '../dns/route53.js';
import type { DnsChangeSettledEvent } from '../events.js';
import { DryRunProvider } from '../dns/dryrun.js';
import { drainStateFile } from '../drain/store.js';
import { fanOut, type AgentEvents } from '../events.js';
import { createNotifier, type Notifier } from '../notify/notifier.js';
import { GossipListenError } from '../gossip/errors.js';
import { IdentityError, loadOrCreateIdentity } from '../gossip/identity.js';
import { Keyring } from '../gossip/keyring.js';
import type { Libp2pGossip } from '../gossip/node.js';
import { recordTypeOf } from '../dns/plan.js';
import type { DnsProvider } from '../dns/types.js';
import { createLogger, type Logger } from '../log.js';
import { createProber } from '../probe/index.js';
import { ProberSetupError } from '../probe/types.js';
import { History } from '../status/history.js';
import { Metrics } from '../status/metrics.js';
import { startStatusServer, type StatusServer } from '../status/server.js';
import { agentToken, ControlTokenError, tokenProblem, TOKEN_ENV, type ControlToken } from '../control/token.js';
import { auditSigningKey } from './audit.js';
import { tuneHeap } from './heap.js';
import { EXIT } from './exit.js';
import { createReloader, RELOAD_TIMEOUT_MS, within } from './reload.js';
import type { SignalGate } from './signals.js';

export interface MonitorFlags {
  readonly configFile: string;
  readonly dryRun: boolean;
  readonly debug: boolean;
  readonly probeType: ProbeType | undefined;
  readonly dnsProvider: 'cloudflare' | 'route53' | undefined;
}

/**
 * Command-line flags win over the file, on start and on every reload, and
 * validation sees them: `-p` decides which provider table is checked and
 * required, `-t` which rules apply (the [HTTP] keys, the https port).
 */
function overridesOf(flags: MonitorFlags): ConfigOverrides {
  return { probeType: flags.probeType, dnsProvider: flags.dnsProvider };
}

function warnAll(logger: Logger, file: string, warnings: readonly ConfigIssue[]): void {
  for (const w of warnings) logger.warn({ file, key: w.key }, `${file}: ${w.key}: ${w.message}`);
}

function errorLine(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Every configured primary record (standbys are out until a failover), for the dry-run simulation without credentials. */
function seedRecords(config: Config) {
  const m = managedRecords(config);
  return m.hostnames.flatMap((name) => m.primaryIps.map((ip) => ({ type: recordTypeOf(ip), name, content: ip, proxied: m.proxied, ttl: m.ttl })));
}

/** Env names that may carry Cloudflare credentials (see credentialsFromEnv). */
const CREDENTIAL_ENV = ['CLOUDFLARE_API_TOKEN', 'CF_API_KEY', 'CLOUDFLARE_API_KEY'];

export function makeProviderFactory(
  logger: Logger,
  dryRun: boolean,
  credentials: CloudflareCredentials | undefined,
  Provider: typeof CloudflareProvider | undefined,
): (config: Config) => DnsProvider {
  return (config) => {
    const cf = config.cloudflare;
    const real =
      credentials && Provider && cf
        ? new Provider({
            zoneName: cf.dnsDomain,
            zoneId: cf.zoneId,
            credentials,
            logger: logger.child({ component: 'cloudflare' }),
          })
        : undefined;
    if (!dryRun && real) return real;
    return new DryRunProvider(real, seedRecords(config));
  };
}

/** What the Route 53 factory needs from start-up: the SDK module, whether credentials were found, the zone found. */
export interface Route53Start {
  readonly module: typeof Route53Module;
  readonly credentials: boolean;
  /** The zone id found at start-up for `domain` (no second lookup). */
  readonly found?: { readonly domain: string; readonly zoneId: string } | undefined;
}

/**
 * The Route 53 provider for a config: the real one when credentials were
 * found, wrapped in dry-run unless --no-dry-run; without credentials a dry
 * run plans against a simulated zone and never builds an SDK provider.
 */
export function makeRoute53ProviderFactory(
  logger: Logger,
  dryRun: boolean,
  start: Route53Start,
): (config: Config, settled?: (e: DnsChangeSettledEvent) => void) => DnsProvider {
  return (config, settled) => {
    const aws = config.aws;
    let real: DnsProvider | undefined;
    if (aws && start.credentials) {
      const m = start.module;
      const zoneId = aws.zoneId ?? (start.found?.domain === aws.domain ? start.found.zoneId : undefined);
      real = new m.Route53Provider({
        zoneName: aws.domain,
        zoneId,
        api: m.sdkRoute53Api(m.createRoute53Client({ region: aws.region })),
        logger: logger.child({ component: 'route53' }),
        ttl: aws.ttl,
        onChangeSettled: settled,
      });
    }
    if (!dryRun && real) return real;
    return new DryRunProvider(real, seedRecords(config));
  };
}

/**
 * Route 53 start-up: load the SDK, look for credentials with the default
 * chain (never logged), and find the zone once. Exit code on a refusal:
 * --no-dry-run without credentials, or a zone name that several zones share.
 */
async function startRoute53(config: Config, flags: MonitorFlags, logger: Logger): Promise<Route53Start | number> {
  const aws = config.aws;
  if (!aws) return EXIT.usage;
  const module = await import('../dns/route53.js');
  const client = module.createRoute53Client({ region: aws.region });
  const credentials = await module.hasCredentials(client);
  if (!flags.dryRun && !credentials) {
    process.stderr.write(
      'goavail: --no-dry-run needs AWS credentials and none were found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or AWS_PROFILE with ~/.aws/credentials, or run with an instance or container role\n',
    );
    return EXIT.usage;
  }
  logger.info({ provider: 'route53', credentials: credentials ? 'present' : 'absent' }, 'Route 53 provider');
  if (!credentials) return { module, credentials };
  const probe = new module.Route53Provider({
    zoneName: aws.domain,
    zoneId: aws.zoneId,
    api: module.sdkRoute53Api(client),
    logger: logger.child({ component: 'route53' }),
    ttl: aws.ttl,
    retry: { attempts: 2 },
  });
  try {
    const zoneId = await probe.zoneId(AbortSignal.timeout(20_000));
    return { module, credentials, found: { domain: aws.domain, zoneId } };
  } catch (err) {
    if (err instanceof module.AmbiguousZoneError) {
      process.stderr.write(`goavail: ${err.message}\n`);
      return EXIT.usage;
    }
    // Anything else (the API unreachable, credentials refused) heals or is reported by the reconcile loop.
    logger.warn({ err: errorLine(err) }, 'Route 53: cannot find the hosted zone yet; the reconcile loop will keep trying');
    return { module, credentials };
  } finally {
    client.destroy();
  }
}

/** `goavail monitor`: runs until SIGTERM/SIGINT; returns the exit code. */
export async function monitor(flags: MonitorFlags, signals: SignalGate): Promise<number> {
  tuneHeap();
  const logger = createLogger({ debug: flags.debug });
  let config: Config;
  try {
    const loaded = await within(loadConfig(flags.configFile, overridesOf(flags)), RELOAD_TIMEOUT_MS, `reading ${flags.configFile}`);
    warnAll(logger, loaded.config.file, loaded.warnings);
    config = loaded.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`goavail: invalid config\n${errorLine(err)}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`goavail: ${errorLine(err)}\n`);
    return EXIT.failure;
  }

  let createProvider: (config: Config, settled?: (e: DnsChangeSettledEvent) => void) => DnsProvider;
  let hasCredentials: boolean;
  if (config.dnsProvider === 'route53') {
    const r53 = await startRoute53(config, flags, logger);
    if (typeof r53 === 'number') return r53;
    createProvider = makeRoute53ProviderFactory(logger, flags.dryRun, r53);
    hasCredentials = r53.credentials;
  } else {
    const cloudflare = CREDENTIAL_ENV.some((k) => (process.env[k] ?? '') !== '') ? await import('../dns/cloudflare.js') : undefined;
    const credentials = cloudflare?.credentialsFromEnv(process.env);
    if (!flags.dryRun && !credentials) {
      process.stderr.write(
        'goavail: --no-dry-run needs Cloudflare credentials: set CLOUDFLARE_API_TOKEN (Zone:Read and DNS:Edit on the zone), or CF_API_KEY and CF_API_EMAIL\n',
      );
      return EXIT.usage;
    }
    createProvider = makeProviderFactory(logger, flags.dryRun, credentials, cloudflare?.CloudflareProvider);
    hasCredentials = credentials !== undefined;
  }
  if (flags.dryRun) {
    logger.info(
      { credentials: hasCredentials ? 'present' : 'absent' },
      hasCredentials
        ? 'dry-run: reading real DNS records, changing nothing (pass --no-dry-run to act)'
        : 'dry-run without credentials: planning against a simulated zone that holds every configured record',
    );
  }

  // The control endpoint's token: read or created before anything starts, so a bad one stops nothing running.
  let token: ControlToken | undefined;
  if (config.statusAddr !== undefined) {
    try {
      token = await agentToken(config.controlTokenFile);
      logger.info(
        { controlToken: token.source, created: token.created },
        token.created ? `control token created in ${token.source} (mode 0600)` : `control token from ${token.source}`,
      );
    } catch (err) {
      if (err instanceof ControlTokenError && (err.code === 'TOKEN_WRITE_FAILED' || err.code === 'TOKEN_UNREADABLE')) {
        // A read-only config folder (systemd's ProtectSystem, a read-only mount), or a token file of another
        // user, must not stop the failover agent: only drains need it. A bad token (empty, short, readable by
        // others) is refused below: someone wrote it, and it would be weak.
        logger.warn(
          { controlTokenFile: config.controlTokenFile, err: errorLine(err) },
          `${errorLine(err)}: running without the control endpoint (drain, undrain and drains are refused with 503); set control_token_file to a writable path, or GOAVAIL_CONTROL_TOKEN`,
        );
      } else {
        process.stderr.write(`goavail: ${errorLine(err)}\n`);
        return err instanceof ControlTokenError ? EXIT.usage : EXIT.failure;
      }
    }
  }

  let agent: Agent;
  let gossip: Libp2pGossip | undefined;
  let metrics: Metrics;
  let events: AgentEvents;
  let notifier: Notifier | undefined;
  // Recent events and RTTs, bounded: the status page and GET /events.
  const history = new History();
  // The managed IPs follow reloads; the gossip layer drops observations of other IPs.
  let managed = new Set(managedRecords(config).ipAddresses);
  // The config in force (reloads swap it); metrics drop the series of IPs it no longer has.
  let current = config;
  // Closed if start-up fails later: an open ICMP session kept the process alive ~15 s after the error.
  let firstProber: ReturnType<typeof createProber> | undefined;
  try {
    const createProberFor = (c: Config) =>
      createProber(c.probeType, { logger: logger.child({ component: 'probe' }), port: c.port, http: c.http, canaries: c.canaries });
    // Fail on raw-socket permission before anything else starts.
    firstProber = createProberFor(config);
    const first = firstProber;
    let usedFirst = false;
    if (isClustered(config)) {
      gossip = await startGossip(config, logger, (ip) => managed.has(ip));
    }
    metrics = new Metrics({ gossip, config: () => ({ ipAddresses: managedRecords(current).ipAddresses, canaries: current.canaries }), processMetrics: true });
    // Watchers of the agent's events; each is isolated from the others and from the agent.
    notifier = createNotifier(config, { logger: logger.child({ component: 'notify' }), agentId: () => gossip?.selfId ?? hostname(), dryRun: flags.dryRun });
    const sinks: AgentEvents[] = [metrics, notifier, history];
    if (config.auditFile !== undefined) {
      const m = metrics;
      const key = await auditSigningKey(config);
      sinks.push(
        new AuditLog({
          file: config.auditFile,
          key,
          logger: logger.child({ component: 'audit' }),
          agentId: () => gossip?.selfId ?? hostname(),
          provider: config.dnsProvider,
          onWrite: (ok) => m.auditWrite(ok),
        }),
      );
      logger.info({ auditFile: config.auditFile, keyId: key.id }, 'audit log on: every DNS write is appended, signed and chained');
    }
    events = fanOut(sinks, (err) => logger.warn({ err }, 'an event watcher failed'));
    agent = new Agent({
      config,
      logger,
      dryRun: flags.dryRun,
      createProber: (c) => {
        if (!usedFirst) {
          usedFirst = true;
          return first;
        }
        return createProberFor(c);
      },
      createProvider,
      gossip,
      selfId: gossip?.selfId,
      events,
      drainStateFile: drainStateFile(config.members.keyFile),
      // [[maintenance]] windows of the config in force (a reload may add or change them; the first look is while the agent is built)
      maintenance: (now) => maintenanceDrains((agent as Agent | undefined)?.currentConfig.maintenance ?? config.maintenance, now),
    });
  } catch (err) {
    await gossip?.stop().catch(() => undefined);
    notifier?.close();
    firstProber?.close();
    if (err instanceof ProberSetupError || err instanceof IdentityError || err instanceof GossipListenError) {
      process.stderr.write(`goavail: ${err.message}\n`);
      return EXIT.failure;
    }
    process.stderr.write(`goavail: failed to start: ${errorLine(err)}\n`);
    return EXIT.failure;
  }

  let statusServer: StatusServer | undefined;
  if (config.statusAddr !== undefined) {
    try {
      statusServer = await startStatusServer({
        addr: config.statusAddr,
        agent,
        metrics,
        logger: logger.child({ component: 'status' }),
        gossip,
        history,
        control: agent.drains,
        controlToken: token?.value,
      });
    } catch (err) {
      if (!config.statusAddrExplicit) {
        // Only the default may be skipped: a second agent on this machine, or
        // another program on the port, must not stop the failover agent.
        logger.warn(
          { statusAddr: config.statusAddr, err: errorLine(err) },
          `status_addr is not set and the default ${config.statusAddr} cannot be used (${errorLine(err)}): running without the status listener, so the status page, /status, /events, /metrics and /healthz are unavailable; set status_addr = "127.0.0.1:<free port>" to have them, or status_addr = "" to run without them and without this warning`,
        );
      } else {
        await agent.stop().catch(() => undefined);
        await gossip?.stop().catch(() => undefined);
        notifier?.close();
        process.stderr.write(`goavail: ${errorLine(err)}; set status_addr to a free address, or status_addr = "" to disable the listener\n`);
        return EXIT.failure;
      }
    }
  }

  // SIGHUP: the read is bounded in time and never runs twice at once (see reload.ts).
  const reloader = createReloader({
    logger,
    read: () => loadConfig(flags.configFile, overridesOf(flags)),
    apply: (loaded) => {
      warnAll(logger, loaded.config.file, loaded.warnings);
      const next = loaded.config;
      if (next.dnsProvider !== current.dnsProvider) {
        // The provider's SDK, credentials and zone are set up at start.
        throw new Error(`dns_provider changed from "${current.dnsProvider}" to "${next.dnsProvider}": a provider change needs a restart`);
      }
      if (next.statusAddr !== current.statusAddr) logger.warn({ statusAddr: current.statusAddr ?? '' }, 'status_addr changes take effect after a restart');
      if (next.controlTokenFile !== current.controlTokenFile) {
        logger.warn({ controlTokenFile: current.controlTokenFile }, 'control_token_file changes take effect after a restart');
      }
      if (next.auditFile !== current.auditFile) logger.warn({ auditFile: current.auditFile ?? '' }, 'audit_file changes take effect after a restart');
      managed = new Set(managedRecords(next).ipAddresses);
      current = next;
      notifier?.update(next);
      agent.reload(next); // reports the successful reload to the event watchers itself
    },
    failed: (err) => {
      const issues = err instanceof ConfigError ? err.issues : [];
      logger.error(
        { issues, file: flags.configFile, reason: err instanceof Error ? err.name : 'Error' },
        `config reload failed, still running on the previous config:\n${errorLine(err)}`,
      );
      events.configReload?.({ ok: false, error: errorLine(err), at: Date.now() });
    },
  });

  agent.start();
  // The early listeners have held every signal until here.
  return signals.handle({
    logger,
    onReload: () => reloader.run(),
    onStop: async () => {
      reloader.close();
      await Promise.all([agent.stop(), statusServer?.close()]);
      await gossip?.stop();
      // Give notifications already queued a moment, inside the 5 s stop promise.
      await notifier?.flush(1_500);
      notifier?.close();
    },
  });
}

/** Cluster mode: any peer or a listen address configured. */
function isClustered(config: Config): boolean {
  return config.members.peers.length > 0 || config.members.localAddr !== undefined;
}

async function startGossip(config: Config, logger: Logger, isKnownIp: (ip: string) => boolean): Promise<Libp2pGossip> {
  const m = config.members;
  // validate() refuses peers without local_addr ("Members.local_addr: required when Members.peers is set").
  if (m.localAddr === undefined) throw new Error('cluster mode without Members.local_addr');
  const keyring = m.cryptoKeys.length > 0 ? Keyring.fromSecrets(m.cryptoKeys) : undefined;
  if (!keyring) {
    logger.warn('no [Members] crypto_key: observations between agents are unauthenticated and anyone who can reach local_addr can join; set crypto_key');
  }
  const privateKey = await loadOrCreateIdentity(m.keyFile);
  const { createLibp2pGossip } = await import('../gossip/node.js');
  const gossip = await createLibp2pGossip({ listen: m.localAddr, peers: m.peers, privateKey, keyring, isKnownIp, logger });
  await gossip.start();
  return gossip;
}

export interface CheckConfigFlags {
  readonly configFile: string;
  readonly probeType: ProbeType | undefined;
  readonly dnsProvider: 'cloudflare' | 'route53' | undefined;
}

/**
 * `goavail check-config`: 0 when valid (prints the effective config, secrets
 * masked), 2 otherwise. `--type` and `--dns-provider` override the file as in
 * `monitor`, and validation sees them.
 */
export async function checkConfig(flags: CheckConfigFlags): Promise<number> {
  const path = flags.configFile;
  try {
    const overrides = { probeType: flags.probeType, dnsProvider: flags.dnsProvider };
    const { config, warnings } = await within(loadConfig(path, overrides), RELOAD_TIMEOUT_MS, `reading ${path}`);
    for (const w of warnings) process.stderr.write(`warning: ${config.file}: ${w.key}: ${w.message}\n`);
    process.stdout.write(`${JSON.stringify(printableConfig(config), null, 2)}\n`);
    // The token itself is never printed: only where it comes from, and whether the env one is usable.
    const envToken = process.env[TOKEN_ENV];
    if (envToken !== undefined) {
      const problem = tokenProblem(envToken.trim());
      if (problem !== undefined) {
        process.stderr.write(`${TOKEN_ENV} ${problem}; unset it to use control_token_file\n`);
        return EXIT.usage;
      }
      process.stderr.write(`control token: from ${TOKEN_ENV} (********), not from control_token_file\n`);
    }
    process.stderr.write(`${failoverSentence(config)}\n`);
    for (const line of maintenanceSummary(config.maintenance, Date.now())) process.stderr.write(`${line}\n`);
    process.stderr.write(`${config.file}: valid\n`);
    return EXIT.ok;
  } catch (err) {
    process.stderr.write(`${errorLine(err)}\n`);
    return err instanceof ConfigError ? EXIT.usage : EXIT.failure;
  }
}
