import type { Command } from 'commander';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { certificateTable, type DeviceCertificate } from './certificate-views';

/** `certflow devices certificates <id>`: a device's certificates, active and revoked. */
export function registerDevicesCertificates(devices: Command, deps: CliDeps): void {
  devices
    .command('certificates')
    .description("list a device's certificates")
    .argument('<id>', 'device id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const body = await apiClient(cmd, deps).request<{ certificates: DeviceCertificate[] }>(
        'GET',
        `/api/devices/${encodeURIComponent(id)}/certificates`,
      );
      print(
        deps,
        render(globalOptions(cmd).output, body, () => certificateTable(body.certificates)),
      );
    });
}
