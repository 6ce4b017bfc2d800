// `certflow …`: the CLI's composition root, the only file here that reads process globals.
import { readFile } from 'node:fs/promises';
import type { Registry } from '../registry/connect';
import { describeRegistry, openMigratedRegistry } from '../runtime/registry';
import { ConfigError, loadConfig } from '../workers/config';
import type { CliDeps } from './context';
import { CliError } from './errors';
import { runCli } from './program';

/** The registry exactly as the workers and the edge find it (workers/config.ts). */
async function openRegistryFromEnv(env: Record<string, string | undefined>): Promise<Registry> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
  try {
    return await openMigratedRegistry(config.registry);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new CliError(`cannot open the registry (${describeRegistry(config.registry)}): ${why}`);
  }
}

const deps: CliDeps = {
  env: process.env,
  io: {
    out: (s) => void process.stdout.write(s),
    err: (s) => void process.stderr.write(s),
    errIsTTY: process.stderr.isTTY === true,
  },
  fetch: globalThis.fetch,
  readFile: (path) => readFile(path, 'utf8'),
  openRegistry: () => openRegistryFromEnv(process.env),
};

// exitCode rather than exit(): stdout may still be flushing into a pipe.
void runCli(process.argv.slice(2), deps).then((code) => {
  process.exitCode = code;
});
