import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

export interface WorkerProcessOptions {
  temporalAddress: string;
  taskQueue: string;
  /** SQLite file or PostgreSQL URL, as `DATABASE_URL` takes it. */
  databaseUrl: string;
  dataDir: string;
  kek: string;
}

export interface WorkerProcess {
  /** SIGKILL: no drain, in-flight activities and workflow tasks are lost mid-way. */
  kill(): Promise<void>;
  /** SIGTERM and wait for a drained exit. */
  stop(): Promise<void>;
}

/**
 * `npm run worker` as a real child process (the scale-out shape), so a test can kill it like a
 * crashed machine and start another. Resolves once the worker logs that it polls.
 */
export async function startWorkerProcess(
  opts: WorkerProcessOptions,
  timeoutMs = 120_000,
): Promise<WorkerProcess> {
  const child = spawn(process.execPath, [join(root, 'node_modules/tsx/dist/cli.mjs'), 'workers/worker.ts'], {
    cwd: root,
    env: {
      ...process.env,
      TEMPORAL_ADDRESS: opts.temporalAddress,
      TEMPORAL_TASK_QUEUE: opts.taskQueue,
      DATABASE_URL: opts.databaseUrl,
      DATA_DIR: opts.dataDir,
      CA_KEY_ENCRYPTION_KEY: opts.kek,
      RENEWAL_SWEEP_INTERVAL_SECONDS: '0',
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const ready = new Promise<void>((resolveReady, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`worker did not start:\n${output.slice(-2000)}`)),
      timeoutMs,
    );
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('worker running')) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`worker exited with ${code}:\n${output.slice(-2000)}`));
    });
  });
  await ready;
  return {
    kill: () => terminate(child, 'SIGKILL'),
    stop: () => terminate(child, 'SIGTERM'),
  };
}

async function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill(signal);
  await exited;
}
