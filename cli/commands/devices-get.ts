import type { Command } from 'commander';
import type { DeviceView } from '../../domain/device';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { deviceDetails } from './device-table';

/** `certflow devices get <id>`: GET /api/devices/{id}. */
export function registerDevicesGet(devices: Command, deps: CliDeps): void {
  devices
    .command('get')
    .description('show a device')
    .argument('<id>', 'device id')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const device = await apiClient(cmd, deps).request<DeviceView>(
        'GET',
        `/api/devices/${encodeURIComponent(id)}`,
      );
      print(
        deps,
        render(globalOptions(cmd).output, device, () => deviceDetails(device)),
      );
    });
}
