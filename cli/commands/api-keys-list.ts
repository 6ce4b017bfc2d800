import type { Command } from 'commander';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { type ApiKeyView, apiKeyTable } from './api-key-table';

/** `certflow api-keys list`: the tenant's keys, without secrets (the API never returns them). */
export function registerApiKeysList(apiKeys: Command, deps: CliDeps): void {
  apiKeys
    .command('list')
    .description("list your tenant's API keys (needs an admin key)")
    .action(async (_opts: unknown, cmd: Command) => {
      const { apiKeys: keys } = await apiClient(cmd, deps).request<{ apiKeys: ApiKeyView[] }>(
        'GET',
        '/api/api-keys',
      );
      print(
        deps,
        render(globalOptions(cmd).output, keys, () => apiKeyTable(keys)),
      );
    });
}
