import { bundleWorkflowCode } from '@temporalio/worker';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ensureTemporalCli } from '../../runtime/temporal-cli';
import { type DevServer, startDevServer } from '../../runtime/temporal-dev-server';
import { freePort } from './ports';

declare module 'vitest' {
  export interface ProvidedContext {
    temporalAddress: string;
    workflowBundlePath: string;
  }
}

/**
 * One real Temporal dev server for the whole integration run (or the one named by
 * TEMPORAL_ADDRESS), and the workflow bundle built once: every test worker loads it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const root = resolve(__dirname, '../..');
  const scratch = mkdtempSync(join(tmpdir(), 'certflow-test-'));
  let server: DevServer | undefined;
  let address = process.env.TEMPORAL_ADDRESS;
  const bundling = bundleWorkflowCode({
    workflowsPath: join(root, 'workflows', 'index.ts'),
    logger: { log() {}, trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error },
  });
  if (!address) {
    const cli = await ensureTemporalCli(
      { explicit: process.env.TEMPORAL_CLI, projectRoot: root, path: process.env.PATH },
      console.log,
    );
    server = await startDevServer({
      cli,
      port: await freePort(),
      namespace: 'default',
      readyTimeoutMs: 120_000,
    });
    address = server.address;
  }
  const bundlePath = join(scratch, 'workflow-bundle.js');
  writeFileSync(bundlePath, (await bundling).code);
  project.provide('temporalAddress', address);
  project.provide('workflowBundlePath', bundlePath);
  return async () => {
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
  };
}
