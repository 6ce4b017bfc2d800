import { type Command, Option } from 'commander';
import { type Role, roles } from '../../domain/roles';
import { apiClient, type CliDeps, globalOptions, print } from '../context';
import { render } from '../output';
import { type ApiKeyView, apiKeyTable } from './api-key-table';

/** `certflow api-keys create <name> --role <role>`: prints the new key, the only time it is shown. */
export function registerApiKeysCreate(apiKeys: Command, deps: CliDeps): void {
  apiKeys
    .command('create')
    .description('create an API key in your tenant (needs an admin key); the key is shown once')
    .argument('<name>', 'what the key is for, e.g. "ci"')
    .addOption(new Option('--role <role>', 'what the key may do').choices(roles).makeOptionMandatory())
    .action(async (name: string, opts: { role: Role }, cmd: Command) => {
      const created = await apiClient(cmd, deps).request<{ apiKey: ApiKeyView; key: string }>(
        'POST',
        '/api/api-keys',
        { name, role: opts.role },
      );
      print(
        deps,
        render(globalOptions(cmd).output, created, () =>
          [apiKeyTable([created.apiKey]), '', `key  ${created.key}`].join('\n'),
        ),
      );
      deps.io.err('Store the key now: it is stored hashed and cannot be shown again.\n');
    });
}
