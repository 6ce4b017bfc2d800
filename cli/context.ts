import type { Command } from 'commander';
import type { Registry } from '../registry/connect';
import { type ApiClient, createApiClient, type Fetch } from './api-client';
import { type OutputFormat, resolveApiTarget } from './args';

export interface CliIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal: progress bars are drawn only there. */
  errIsTTY: boolean;
}

/** Everything a command touches, injected by cli/main.ts so commands are testable in-process. */
export interface CliDeps {
  env: Record<string, string | undefined>;
  io: CliIo;
  fetch: Fetch;
  readFile(path: string): Promise<string>;
  /** Opens and migrates the registry named by DATA_DIR / DATABASE_URL; the caller closes it. */
  openRegistry(): Promise<Registry>;
}

export interface GlobalOptions {
  apiUrl?: string;
  apiKey?: string;
  output: OutputFormat;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

export function apiClient(cmd: Command, deps: CliDeps): ApiClient {
  return createApiClient(resolveApiTarget(globalOptions(cmd), deps.env), deps.fetch);
}

/** Writes a command's result on stdout, newline-terminated. */
export function print(deps: CliDeps, text: string): void {
  deps.io.out(text.endsWith('\n') ? text : `${text}\n`);
}

/** Runs `use` over an opened registry and always closes it, so the process can exit. */
export async function withRegistry<T>(deps: CliDeps, use: (registry: Registry) => Promise<T>): Promise<T> {
  const registry = await deps.openRegistry();
  try {
    return await use(registry);
  } finally {
    await registry.close();
  }
}
