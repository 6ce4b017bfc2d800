import type { Command } from 'commander';
import type { DeviceView } from '../../domain/device';
import type { ApiClient } from '../api-client';
import { chunk, type DeviceRequest, parseDeviceImport, rebaseFieldErrors } from '../args';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { CliError, ProblemError } from '../errors';
import { render } from '../output';
import { createProgress } from '../progress';
import { renderTable } from '../table';

/** The bulk API's limit per request (BULK_MAX in api/http/devices/contract.ts). */
export const IMPORT_CHUNK_SIZE = 1000;

export interface BulkItemResult {
  index: number;
  name: string;
  status: 'created' | 'failed';
  device?: DeviceView;
  workflowId?: string;
  accessToken?: string;
  error?: { code: string; detail: string };
}

export interface ImportResult {
  created: number;
  failed: number;
  results: BulkItemResult[];
}

/**
 * Sends the devices in chunks, one after the other, and merges the per-item results with
 * indexes into the whole file. A chunk refused as a whole (bad key, invalid request) stops the
 * import: its problem is re-thrown with field paths renumbered to the file, and earlier chunks
 * stay imported (re-running reports them as DEVICE_NAME_TAKEN, nothing is duplicated).
 */
export async function importInChunks(
  api: ApiClient,
  devices: readonly DeviceRequest[],
  onProgress: (sent: number, result: ImportResult) => void,
  size = IMPORT_CHUNK_SIZE,
): Promise<ImportResult> {
  const total: ImportResult = { created: 0, failed: 0, results: [] };
  let offset = 0;
  for (const part of chunk(devices, size)) {
    let answer: ImportResult;
    try {
      answer = await api.request<ImportResult>('POST', '/api/devices/bulk', { devices: part });
    } catch (err) {
      if (!(err instanceof ProblemError)) throw err;
      const p = err.problem;
      throw new ProblemError({
        ...p,
        detail: `devices ${offset}-${offset + part.length - 1} refused (${total.created} created before): ${p.detail}`,
        ...(p.errors ? { errors: rebaseFieldErrors(p.errors, offset) } : {}),
      });
    }
    total.created += answer.created;
    total.failed += answer.failed;
    for (const r of answer.results) total.results.push({ ...r, index: r.index + offset });
    offset += part.length;
    onProgress(offset, total);
  }
  return total;
}

/** `certflow devices import <file.json>`: bulk pre-provisioning from a JSON array. */
export function registerDevicesImport(devices: Command, deps: CliDeps): void {
  devices
    .command('import')
    .description(
      'pre-provision devices from a JSON array of device requests, 1000 per request; exits 1 if any failed',
    )
    .argument('<file>', 'JSON file: [{"name": "sensor-1", "tags": ["a"]}, …]')
    .action(async (file: string, _opts: unknown, cmd: Command) => {
      let text: string;
      try {
        text = await deps.readFile(file);
      } catch (err) {
        throw new CliError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const requests = parseDeviceImport(text, file);
      const api = apiClient(cmd, deps);
      const progress = createProgress(requests.length, (s) => deps.io.err(s), deps.io.errIsTTY);
      progress.update(0);
      let result: ImportResult;
      try {
        result = await importInChunks(api, requests, (sent, sofar) =>
          progress.update(sent, sofar.failed > 0 ? `${sofar.failed} failed` : undefined),
        );
      } finally {
        progress.done();
      }
      print(
        deps,
        render(globalOptions(cmd).output, result, () =>
          [
            renderTable(
              [
                { header: 'INDEX', value: (r: BulkItemResult) => r.index },
                { header: 'NAME', value: (r: BulkItemResult) => r.name },
                { header: 'STATUS', value: (r: BulkItemResult) => r.status },
                { header: 'ID / ERROR', value: (r: BulkItemResult) => r.device?.id ?? r.error?.code },
              ],
              result.results,
            ),
            `created ${result.created}, failed ${result.failed}`,
          ].join('\n'),
        ),
      );
      if (result.failed > 0) {
        const failures = result.results.filter((r) => r.status === 'failed');
        const lines = failures
          .slice(0, 20)
          .map((r) =>
            `[${r.index}] ${r.name}: ${r.error?.code ?? 'FAILED'} ${r.error?.detail ?? ''}`.trimEnd(),
          );
        if (failures.length > 20) lines.push(`… and ${failures.length - 20} more (see the output)`);
        throw new CliError(`${result.failed} of ${requests.length} devices were not created`, lines);
      }
    });
}
