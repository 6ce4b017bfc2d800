import type { Command } from 'commander';
import type { DeviceView } from '../../domain/device';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { renderTable } from '../table';

interface DeviceHistory {
  device: DeviceView;
  workflows: {
    workflowId: string;
    runId: string;
    type: string;
    status: string;
    startTime: string;
    closeTime: string | null;
    historyLength: number;
    history?: unknown;
  }[];
  auditEvents: { seq: number; type: string; actor: string; workflowId: string | null; createdAt: string }[];
}

/**
 * `certflow devices history <id> [--full]`: every workflow that touched the device and the
 * registry's audit trail. `--full` adds each workflow's event history (JSON output only: it is
 * too large for a table).
 */
export function registerDevicesHistory(devices: Command, deps: CliDeps): void {
  devices
    .command('history')
    .description("a device's lifecycle: its workflows and audit events, oldest first")
    .argument('<id>', 'device id')
    .option('--full', "include each workflow's full event history")
    .action(async (id: string, opts: { full?: boolean }, cmd: Command) => {
      const history = await apiClient(cmd, deps).request<DeviceHistory>(
        'GET',
        `/api/devices/${encodeURIComponent(id)}/history?full=${opts.full ? 'true' : 'false'}`,
      );
      print(
        deps,
        render(globalOptions(cmd).output, history, () =>
          [
            `device ${history.device.name} (${history.device.id})`,
            '',
            'WORKFLOWS',
            renderTable(
              [
                { header: 'TYPE', value: (w) => w.type },
                { header: 'STATUS', value: (w) => w.status },
                { header: 'STARTED', value: (w) => w.startTime },
                { header: 'CLOSED', value: (w) => w.closeTime },
                { header: 'EVENTS', value: (w) => w.historyLength },
                { header: 'WORKFLOW ID', value: (w) => w.workflowId },
              ],
              history.workflows,
            ),
            '',
            'AUDIT EVENTS',
            renderTable(
              [
                { header: 'SEQ', value: (e) => e.seq },
                { header: 'TYPE', value: (e) => e.type },
                { header: 'ACTOR', value: (e) => e.actor },
                { header: 'AT', value: (e) => e.createdAt },
                { header: 'WORKFLOW ID', value: (e) => e.workflowId },
              ],
              history.auditEvents,
            ),
          ].join('\n'),
        ),
      );
    });
}
