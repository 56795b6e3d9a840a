#!/usr/bin/env node
import { Command, CommanderError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
// commands.js pulls in libp2p and the Cloudflare SDK (~2.5 s to load on a busy
// machine): it is imported only by the commands that need it.
import type { MonitorFlags } from './commands.js';
import type { ProbeType } from '../model.js';
import { endProcess, EXIT } from './exit.js';
import { catchSignals } from './signals.js';
import { DEFAULT_STATUS_ADDR, status } from './status.js';
import { agentTarget, isTargetError } from './target.js';
import { TOKEN_ENV } from '../control/token.js';

function version(): string {
  // dist/src/cli/main.js and src/cli/main.ts both sit two levels below the package root's parent folder layout.
  for (const up of ['../../..', '../..']) {
    try {
      const pkg = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), up, 'package.json'), 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'goavail' && pkg.version) return pkg.version;
    } catch {
      // try the next candidate
    }
  }
  return '0.0.0';
}

/** Resolves the config path from `-f [path]` and the positional form `monitor --config-file --no-dry-run goavail.toml`. */
function configPath(flag: string | boolean | undefined, positional: string | undefined): string {
  if (typeof flag === 'string') return flag;
  return positional ?? 'goavail.toml';
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('goavail')
    .description('Gossip-based DNS failover agent: probes IPs, agrees with peers, keeps Cloudflare A/AAAA records in line with health')
    .version(version(), '-v, --version')
    .showSuggestionAfterError(true)
    .exitOverride()
    .configureOutput({ outputError: (str, write) => write(str.split('\n')[0] + '\n') });

  program
    .command('monitor')
    .description('probe the configured IPs and keep DNS in line with their health (dry-run unless --no-dry-run)')
    .argument('[config]', 'config file (the original `--config-file --no-dry-run goavail.toml` form)')
    .option('-f, --config-file [path]', 'config file', undefined)
    .option('--dry-run', 'log the DNS changes it would make, change nothing (default)', true)
    .option('--no-dry-run', 'really change DNS')
    .option('-b, --debug', 'log every probe', false)
    .addOption(new Option('-t, --type <type>', 'probe type (overrides the config file)').choices(['ip', 'tcp', 'http', 'https']))
    .addOption(new Option('-p, --dns-provider <provider>', 'DNS provider (overrides the config file)').choices(['cloudflare', 'route53']))
    .exitOverride()
    .action(
      async (
        positional: string | undefined,
        opts: { configFile?: string | boolean; dryRun: boolean; debug: boolean; type?: ProbeType; dnsProvider?: 'cloudflare' | 'route53' },
      ) => {
        const flags: MonitorFlags = {
          configFile: configPath(opts.configFile, positional),
          dryRun: opts.dryRun !== false,
          debug: opts.debug,
          probeType: opts.type,
          dnsProvider: opts.dnsProvider,
        };
        // Catch signals before the slow import: without a listener SIGHUP and
        // SIGTERM kill the process outright.
        const signals = catchSignals({ onForcedExit: (code) => endProcess(code) });
        try {
          const { monitor } = await import('./commands.js');
          process.exitCode = await monitor(flags, signals);
        } finally {
          signals.release();
        }
      },
    );

  program
    .command('check-config')
    .description('validate a config file and print the effective config (secrets masked); exit 0 when valid, 2 otherwise')
    .argument('[config]', 'config file')
    .option('-f, --config-file <path>', 'config file')
    .addOption(new Option('-t, --type <type>', 'probe type (overrides the config file, as in monitor)').choices(['ip', 'tcp', 'http', 'https']))
    .addOption(new Option('-p, --dns-provider <provider>', 'DNS provider (overrides the config file, as in monitor)').choices(['cloudflare', 'route53']))
    .exitOverride()
    .action(async (positional: string | undefined, opts: { configFile?: string; type?: ProbeType; dnsProvider?: 'cloudflare' | 'route53' }) => {
      const { checkConfig } = await import('./commands.js');
      process.exitCode = await checkConfig({ configFile: configPath(opts.configFile, positional), probeType: opts.type, dnsProvider: opts.dnsProvider });
    });

  const audit = program.command('audit').description('the audit log of DNS writes (audit_file)');
  audit
    .command('verify')
    .description('check every line of an audit log against the config\'s keys; prints "ok, N entries" (exit 0) or the first bad line (exit 1)')
    .argument('<file>', 'the audit log')
    .option('-f, --config-file <path>', 'the config whose crypto_key (or key_file) signed it', 'goavail.toml')
    .exitOverride()
    .action(async (file: string, opts: { configFile: string }) => {
      const { auditVerify } = await import('./audit.js');
      process.exitCode = await auditVerify({ file, configFile: opts.configFile });
    });

  program
    .command('status')
    .description('show what a running agent sees: verdicts, peer votes, DNS, peers, self-check (exit 1 when it cannot be reached)')
    .option('--addr <host:port>', `the agent's status_addr (default: the config's, else ${DEFAULT_STATUS_ADDR})`)
    .option('-f, --config-file <path>', "the agent's config file: its status_addr")
    .option('--json', 'print the raw /status JSON', false)
    .exitOverride()
    .action(async (opts: { addr?: string; configFile?: string; json: boolean }) => {
      const target = await agentTarget(opts);
      if (isTargetError(target)) {
        process.stderr.write(`goavail: ${target.error}\n`);
        process.exitCode = target.code;
        return;
      }
      process.exitCode = await status({ addr: target.addr, json: opts.json });
    });

  const agentOptions = (c: Command): Command =>
    c
      .option('--addr <host:port>', `the agent's status_addr (default: the config's, else ${DEFAULT_STATUS_ADDR})`)
      .option('-f, --config-file <path>', "the agent's config file: its status_addr and control_token_file")
      .option('--token-file <path>', `the control token file (default: the config's control_token_file, else ./goavail.control-token; env ${TOKEN_ENV} wins)`)
      .exitOverride();

  agentOptions(
    program
      .command('drain')
      .description('take an IP out of DNS on purpose, on every agent of the cluster, until undrained or for a while (it is still probed)')
      .argument('<ip>', 'the IP address to drain')
      .option('--for <duration>', 'how long: 90s, 30m, 2h, 1d, 1h30m (default: until undrained)')
      .option('--reason <text>', 'why (shown in `goavail drains` and the status)')
      .option('--force', 'drain even the last up IP of a hostname (its record still stays)', false),
  ).action(async (ip: string, opts: { for?: string; reason?: string; force: boolean; addr?: string; configFile?: string; tokenFile?: string }) => {
    const { drain } = await import('./drain.js');
    process.exitCode = await drain({ ip, ...opts });
  });

  agentOptions(program.command('undrain').description('end a drain: the IP counts by its probes again').argument('<ip>', 'the drained IP address')).action(
    async (ip: string, opts: { addr?: string; configFile?: string; tokenFile?: string }) => {
      const { undrain } = await import('./drain.js');
      process.exitCode = await undrain({ ip, ...opts });
    },
  );

  agentOptions(program.command('drains').description('list the drains: who, when, until, why').option('--json', 'print the raw JSON', false)).action(
    async (opts: { json: boolean; addr?: string; configFile?: string; tokenFile?: string }) => {
      const { drains } = await import('./drain.js');
      process.exitCode = await drains(opts);
    },
  );

  return program;
}

async function main(argv: string[]): Promise<void> {
  const program = buildProgram();
  if (argv.length <= 2) {
    program.outputHelp();
    process.exitCode = EXIT.usage;
    return;
  }
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      const ok = err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help';
      process.exitCode = ok ? EXIT.ok : EXIT.usage;
      return;
    }
    process.stderr.write(`goavail: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = EXIT.failure;
  }
}

/**
 * After a command is done the event loop is normally empty and Node exits
 * by itself, with `process.exitCode`. A file-system request that never
 * returns (a config on a hung network file system) would keep the process
 * alive for ever after "agent stopped"; Node cannot cancel it. So the exit
 * is forced a moment later (endProcess says how): the timer is unref'd and
 * only fires when something still holds the loop.
 */
const EXIT_GRACE_MS = 250;

await main(process.argv);
setTimeout(() => endProcess(Number(process.exitCode ?? EXIT.ok)), EXIT_GRACE_MS).unref();
