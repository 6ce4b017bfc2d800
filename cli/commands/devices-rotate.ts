import { type Command, InvalidArgumentError } from 'commander';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';

/** `certflow devices rotate <id>`: ask one device to rotate; answers once the request is out. */
export function registerDevicesRotate(devices: Command, deps: CliDeps): void {
  devices
    .command('rotate')
    .description('ask a device to rotate its certificate (it has until the deadline to confirm)')
    .argument('<id>', 'device id')
    .option('--deadline <seconds>', 'deadline for the CSR and the first connect (default 7 days)', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('must be a positive integer');
      return n;
    })
    .option('--issuing-ca <id>', 'sign the new certificate with this issuing CA')
    .action(async (id: string, opts: { deadline?: number; issuingCa?: string }, cmd: Command) => {
      const started = await apiClient(cmd, deps).request<{ rotationId: string; workflowId: string }>(
        'POST',
        `/api/devices/${encodeURIComponent(id)}/rotate`,
        {
          ...(opts.deadline !== undefined ? { deadlineSeconds: opts.deadline } : {}),
          ...(opts.issuingCa ? { issuingCaId: opts.issuingCa } : {}),
        },
      );
      print(
        deps,
        render(
          globalOptions(cmd).output,
          started,
          () => `rotation ${started.rotationId} (${started.workflowId})`,
        ),
      );
    });
}
