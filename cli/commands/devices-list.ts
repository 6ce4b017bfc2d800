import type { Command } from 'commander';
import type { DeviceView } from '../../domain/device';
import { parseLimit } from '../args';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { deviceTable } from './device-table';

interface DevicePage {
  devices: DeviceView[];
  next: string | null;
}

/** `certflow devices list`: one page (keyset pagination with `--after`), or every page with `--all`. */
export function registerDevicesList(devices: Command, deps: CliDeps): void {
  devices
    .command('list')
    .description('list devices')
    .option('--limit <n>', 'devices per page (1-500)', parseLimit, 100)
    .option('--after <id>', 'start after this device id (the `next` of the previous page)')
    .option('--all', 'follow `next` until the last page')
    .action(async (opts: { limit: number; after?: string; all?: boolean }, cmd: Command) => {
      const api = apiClient(cmd, deps);
      const page = async (after: string | undefined) => {
        const query = new URLSearchParams({ limit: String(opts.limit), ...(after ? { after } : {}) });
        return api.request<DevicePage>('GET', `/api/devices?${query.toString()}`);
      };
      let result = await page(opts.after);
      if (opts.all) {
        const all = [...result.devices];
        while (result.next) {
          result = await page(result.next);
          all.push(...result.devices);
        }
        result = { devices: all, next: null };
      }
      const { devices: found, next } = result;
      print(
        deps,
        render(globalOptions(cmd).output, result, () => deviceTable(found)),
      );
      if (next && globalOptions(cmd).output === 'table') deps.io.err(`more devices: --after ${next}\n`);
    });
}
