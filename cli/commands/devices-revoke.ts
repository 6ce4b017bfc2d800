import type { Command } from 'commander';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { type RevokeResult, revokeResultText } from './certificate-views';

/** `certflow devices revoke <id> --reason R`: the device and every credential, refused at once. */
export function registerDevicesRevoke(devices: Command, deps: CliDeps): void {
  devices
    .command('revoke')
    .description('revoke a device: every credential and certificate; live sessions are cut')
    .argument('<id>', 'device id')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (id: string, opts: { reason: string }, cmd: Command) => {
      const result = await apiClient(cmd, deps).request<RevokeResult>(
        'POST',
        `/api/devices/${encodeURIComponent(id)}/revoke`,
        { reason: opts.reason },
      );
      print(
        deps,
        render(globalOptions(cmd).output, result, () => revokeResultText(result)),
      );
    });
}
