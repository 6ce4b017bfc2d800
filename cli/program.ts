import { Command, CommanderError, Option } from 'commander';
import { registerApiKeysCreate } from './commands/api-keys-create';
import { registerApiKeysList } from './commands/api-keys-list';
import { registerApiKeysRevoke } from './commands/api-keys-revoke';
import { registerCertificatesRevoke } from './commands/certificates-revoke';
import { registerDevicesCertificates } from './commands/devices-certificates';
import { registerDevicesCreate } from './commands/devices-create';
import { registerDevicesGet } from './commands/devices-get';
import { registerDevicesHistory } from './commands/devices-history';
import { registerDevicesImport } from './commands/devices-import';
import { registerDevicesList } from './commands/devices-list';
import { registerDevicesRevoke } from './commands/devices-revoke';
import { registerDevicesRotate } from './commands/devices-rotate';
import { registerRotationControl } from './commands/rotation-control';
import { registerRotationList } from './commands/rotation-list';
import { registerRotationReport } from './commands/rotation-report';
import { registerRotationStart } from './commands/rotation-start';
import { registerRotationStatus } from './commands/rotation-status';
import { registerTenantsCreate } from './commands/tenants-create';
import { registerTenantsList } from './commands/tenants-list';
import { DEFAULT_API_URL, outputFormats } from './args';
import type { CliDeps } from './context';
import { formatExpectedError } from './problem';

/** The command tree over injected dependencies; no process globals, so tests can run it in-process. */
export function buildProgram(deps: CliDeps): Command {
  const program = new Command('certflow')
    .description('Operate a certflow platform: tenants, devices, API keys, rotation and revocation.')
    .addOption(
      new Option('--api-url <url>', `certflow HTTP API (default: $CERTFLOW_API_URL or ${DEFAULT_API_URL})`),
    )
    // No commander default: it would print the key in --help.
    .addOption(new Option('--api-key <key>', 'API key (default: $CERTFLOW_API_KEY)'))
    .addOption(new Option('-o, --output <format>', 'output format').choices(outputFormats).default('json'))
    // Settings below are inherited by every subcommand created after them.
    .exitOverride()
    .configureOutput({ writeOut: (s) => deps.io.out(s), writeErr: (s) => deps.io.err(s) })
    .showHelpAfterError('(add --help for usage)');

  const tenants = program
    .command('tenants')
    .description('manage tenants; reads the registry directly (DATA_DIR / DATABASE_URL), no API key');
  registerTenantsCreate(tenants, deps);
  registerTenantsList(tenants, deps);

  const devices = program.command('devices').description('manage devices through the HTTP API');
  registerDevicesCreate(devices, deps);
  registerDevicesList(devices, deps);
  registerDevicesGet(devices, deps);
  registerDevicesHistory(devices, deps);
  registerDevicesImport(devices, deps);
  registerDevicesRevoke(devices, deps);
  registerDevicesCertificates(devices, deps);
  registerDevicesRotate(devices, deps);

  const certificates = program.command('certificates').description('manage device certificates');
  registerCertificatesRevoke(certificates, deps);

  const rotation = program.command('rotation').description('fleet certificate rotation runs');
  registerRotationStart(rotation, deps);
  registerRotationList(rotation, deps);
  registerRotationStatus(rotation, deps);
  registerRotationControl(rotation, deps);
  registerRotationReport(rotation, deps);

  const apiKeys = program.command('api-keys').description("manage your tenant's API keys (admin)");
  registerApiKeysCreate(apiKeys, deps);
  registerApiKeysList(apiKeys, deps);
  registerApiKeysRevoke(apiKeys, deps);
  return program;
}

/**
 * Runs one command line and returns the exit code: 0 on success, 1 on any failure. Expected
 * failures print one clear message; an unexpected one prints its message too, and its stack
 * only with CERTFLOW_DEBUG set.
 */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  try {
    await buildProgram(deps).parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    // Commander has already printed usage errors and help; its code is 0 for --help.
    if (err instanceof CommanderError) return err.exitCode;
    const expected = formatExpectedError(err);
    if (expected) {
      deps.io.err(`${expected.join('\n')}\n`);
      return 1;
    }
    const message = err instanceof Error ? err.message : String(err);
    deps.io.err(`error: unexpected failure: ${message}\n`);
    if (deps.env.CERTFLOW_DEBUG && err instanceof Error && err.stack) deps.io.err(`${err.stack}\n`);
    else deps.io.err('  (set CERTFLOW_DEBUG=1 to see the stack trace)\n');
    return 1;
  }
}
