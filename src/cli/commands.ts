import { Agent } from '../agent.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { printableConfig } from '../config/print.js';
import type { Config, ConfigIssue } from '../config/schema.js';
import { CloudflareProvider, credentialsFromEnv, type CloudflareCredentials } from '../dns/cloudflare.js';
import { DryRunProvider } from '../dns/dryrun.js';
import { recordTypeOf } from '../dns/plan.js';
import type { DnsProvider } from '../dns/types.js';
import { createLogger, type Logger } from '../log.js';
import { createProber } from '../probe/index.js';
import { ProberSetupError } from '../probe/types.js';
import { EXIT } from './exit.js';
import { handleSignals } from './signals.js';

export interface MonitorFlags {
  readonly configFile: string;
  readonly dryRun: boolean;
  readonly debug: boolean;
  readonly probeType: 'ip' | 'tcp' | undefined;
  readonly dnsProvider: 'cloudflare' | undefined;
}

/** Command-line flags win over the file, on start and on every reload. */
function withFlags(config: Config, flags: MonitorFlags): Config {
  return { ...config, probeType: flags.probeType ?? config.probeType, dnsProvider: flags.dnsProvider ?? config.dnsProvider };
}

function warnAll(logger: Logger, file: string, warnings: readonly ConfigIssue[]): void {
  for (const w of warnings) logger.warn({ file, key: w.key }, `${file}: ${w.key}: ${w.message}`);
}

function errorLine(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Every configured record, for the dry-run simulation without credentials. */
function seedRecords(config: Config) {
  const cf = config.cloudflare;
  return cf.hostnames.flatMap((name) => cf.ipAddresses.map((ip) => ({ type: recordTypeOf(ip), name, content: ip, proxied: cf.dnsProxied, ttl: cf.dnsTtl })));
}

export function makeProviderFactory(logger: Logger, dryRun: boolean, credentials: CloudflareCredentials | undefined): (config: Config) => DnsProvider {
  return (config) => {
    const real = credentials
      ? new CloudflareProvider({ zoneName: config.cloudflare.dnsDomain, credentials, logger: logger.child({ component: 'cloudflare' }) })
      : undefined;
    if (!dryRun && real) return real;
    return new DryRunProvider(logger.child({ component: 'dns' }), real, seedRecords(config));
  };
}

/** `goavail monitor`: runs until SIGTERM/SIGINT; returns the exit code. */
export async function monitor(flags: MonitorFlags): Promise<number> {
  const logger = createLogger({ debug: flags.debug });
  let config: Config;
  try {
    const loaded = await loadConfig(flags.configFile);
    warnAll(logger, loaded.config.file, loaded.warnings);
    config = withFlags(loaded.config, flags);
  } catch (err) {
    process.stderr.write(`goavail: invalid config\n${errorLine(err)}\n`);
    return err instanceof ConfigError ? EXIT.usage : EXIT.failure;
  }

  const credentials = credentialsFromEnv(process.env);
  if (!flags.dryRun && !credentials) {
    process.stderr.write(
      'goavail: --no-dry-run needs Cloudflare credentials: set CLOUDFLARE_API_TOKEN (Zone:Read and DNS:Edit on the zone), or CF_API_KEY and CF_API_EMAIL\n',
    );
    return EXIT.usage;
  }
  if (flags.dryRun) {
    logger.info({ credentials: credentials ? 'present' : 'absent' }, credentials
      ? 'dry-run: reading real DNS records, changing nothing (pass --no-dry-run to act)'
      : 'dry-run without credentials: planning against a simulated zone that holds every configured record');
  }

  let agent: Agent;
  try {
    agent = new Agent({
      config,
      logger,
      dryRun: flags.dryRun,
      createProber: (c) => createProber(c.probeType, { logger: logger.child({ component: 'probe' }), port: c.port }),
      createProvider: makeProviderFactory(logger, flags.dryRun, credentials),
    });
  } catch (err) {
    if (err instanceof ProberSetupError) {
      process.stderr.write(`goavail: ${err.message}\n`);
      return EXIT.failure;
    }
    throw err;
  }

  agent.start();
  const exitCode = await handleSignals({
    logger,
    onReload: async () => {
      try {
        const loaded = await loadConfig(flags.configFile);
        warnAll(logger, loaded.config.file, loaded.warnings);
        agent.reload(withFlags(loaded.config, flags));
      } catch (err) {
        const issues = err instanceof ConfigError ? err.issues : [];
        logger.error({ issues, file: flags.configFile }, `config reload failed, still running on the previous config:\n${errorLine(err)}`);
      }
    },
    onStop: () => agent.stop(),
  });
  return exitCode;
}

/** `goavail check-config`: 0 when valid (prints the effective config, secrets masked), 2 otherwise. */
export async function checkConfig(path: string): Promise<number> {
  try {
    const { config, warnings } = await loadConfig(path);
    for (const w of warnings) process.stderr.write(`warning: ${config.file}: ${w.key}: ${w.message}\n`);
    process.stdout.write(`${JSON.stringify(printableConfig(config), null, 2)}\n`);
    process.stderr.write(`${config.file}: valid\n`);
    return EXIT.ok;
  } catch (err) {
    process.stderr.write(`${errorLine(err)}\n`);
    return err instanceof ConfigError ? EXIT.usage : EXIT.failure;
  }
}
