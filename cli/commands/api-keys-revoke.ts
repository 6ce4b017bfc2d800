import type { Command } from 'commander';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { type ApiKeyView, apiKeyTable } from './api-key-table';

/** `certflow api-keys revoke <id>`: idempotent; the key is refused from its next request on. */
export function registerApiKeysRevoke(apiKeys: Command, deps: CliDeps): void {
  apiKeys
    .command('revoke')
    .description('revoke an API key (needs an admin key)')
    .argument('<id>', 'key id (16 hex characters, as in `api-keys list`)')
    .action(async (id: string, _opts: unknown, cmd: Command) => {
      const key = await apiClient(cmd, deps).request<ApiKeyView>(
        'DELETE',
        `/api/api-keys/${encodeURIComponent(id)}`,
      );
      print(
        deps,
        render(globalOptions(cmd).output, key, () => apiKeyTable([key])),
      );
    });
}
