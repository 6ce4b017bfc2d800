import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cpus, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { findTemporalCli } from '../../runtime/temporal-cli';
import { root } from './certflow';

export interface Machine {
  cores: number;
  cpuModel: string;
  memoryGb: number;
  kernel: string;
  node: string;
  temporalCli: string;
  temporalSdk: string;
}

/** What the figures were measured on, so runs on different machines can be compared. */
export function describeMachine(): Machine {
  const cli = findTemporalCli({
    explicit: process.env.TEMPORAL_CLI,
    projectRoot: root,
    path: process.env.PATH,
  });
  let temporalCli = 'not found';
  if (cli) {
    try {
      temporalCli = execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim();
    } catch {
      temporalCli = `${cli} (version unknown)`;
    }
  }
  const sdk = JSON.parse(
    readFileSync(join(root, 'node_modules', '@temporalio', 'client', 'package.json'), 'utf8'),
  ) as { version: string };
  return {
    cores: cpus().length,
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round(totalmem() / 2 ** 30),
    kernel: `${process.platform} ${release()}`,
    node: process.version,
    temporalCli,
    temporalSdk: sdk.version,
  };
}
