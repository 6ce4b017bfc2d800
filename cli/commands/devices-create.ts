import type { Command } from 'commander';
import type { DeviceView } from '../../domain/device';
import { accessTokenRequest, collect } from '../args';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { deviceDetails } from './device-table';

interface CreatedDevice {
  device: DeviceView;
  workflowId: string;
  accessToken?: string;
}

/** `certflow devices create <name>`: POST /api/devices (runs the createDevice workflow). */
export function registerDevicesCreate(devices: Command, deps: CliDeps): void {
  devices
    .command('create')
    .description('pre-provision a device')
    .argument('<name>', 'device name, unique in the tenant')
    .option('--tag <tag>', 'a tag (repeat for more)', collect, [])
    .option('--label <label>', 'a free-form label')
    .option(
      '--access-token [token]',
      'give the device an access token; without a value the server generates one',
    )
    .action(
      async (
        name: string,
        opts: { tag: string[]; label?: string; accessToken?: string | boolean },
        cmd: Command,
      ) => {
        const accessToken = accessTokenRequest(opts.accessToken);
        const body = {
          name,
          ...(opts.label === undefined ? {} : { label: opts.label }),
          ...(opts.tag.length > 0 ? { tags: opts.tag } : {}),
          ...(accessToken ? { accessToken } : {}),
        };
        const created = await apiClient(cmd, deps).request<CreatedDevice>('POST', '/api/devices', body);
        print(
          deps,
          render(globalOptions(cmd).output, created, () => {
            const lines = [deviceDetails(created.device), '', `workflow     ${created.workflowId}`];
            if (created.accessToken) lines.push(`access token ${created.accessToken}  (shown once)`);
            return lines.join('\n');
          }),
        );
      },
    );
}
