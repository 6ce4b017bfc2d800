import type { Command } from 'commander';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { type RevokeResult, revokeResultText } from './certificate-views';

/** `certflow certificates revoke <deviceId> <fingerprint> --reason R`: one certificate of a device. */
export function registerCertificatesRevoke(certificates: Command, deps: CliDeps): void {
  certificates
    .command('revoke')
    .description("revoke one of a device's certificates (see `devices certificates`)")
    .argument('<deviceId>', 'device id')
    .argument('<fingerprint>', 'SHA-256 of the certificate, hex')
    .requiredOption('--reason <text>', 'why (recorded in the audit trail)')
    .action(async (deviceId: string, fingerprint: string, opts: { reason: string }, cmd: Command) => {
      const result = await apiClient(cmd, deps).request<RevokeResult>(
        'POST',
        `/api/devices/${encodeURIComponent(deviceId)}/certificates/${encodeURIComponent(fingerprint)}/revoke`,
        { reason: opts.reason },
      );
      print(
        deps,
        render(globalOptions(cmd).output, result, () => revokeResultText(result)),
      );
    });
}
