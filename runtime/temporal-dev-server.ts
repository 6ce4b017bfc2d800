import { Connection } from '@temporalio/client';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { searchAttributes } from '../domain/ids';

export interface DevServerOptions {
  cli: string;
  ip?: string;
  port: number;
  /** Web UI port; `undefined` runs headless. */
  uiPort?: number;
  /** SQLite file for persistence; `undefined` keeps state in memory (tests). */
  dbFile?: string;
  namespace: string;
  /** How long to wait for the frontend to answer. Generous: two cores, cold start. */
  readyTimeoutMs?: number;
  log?: (msg: string) => void;
}

export interface DevServer {
  address: string;
  uiUrl?: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Starts `temporal server start-dev` and resolves once the namespace answers. Search
 * attributes are passed on the command line, which only takes effect when the namespace is
 * first created; `ensureSearchAttributes` covers databases created before.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(opts.port), '--log-level', 'warn'];
  if (opts.uiPort === undefined) args.push('--headless');
  else args.push('--ui-port', String(opts.uiPort), '--ui-disable-news-fetch');
  if (opts.dbFile) {
    mkdirSync(dirname(opts.dbFile), { recursive: true });
    args.push('--db-filename', opts.dbFile);
    // WAL with synchronous=NORMAL: durable across process crashes (not power loss), and far
    // fewer fsyncs than the default on a single-machine dev server.
    args.push('--sqlite-pragma', 'journal_mode=wal', '--sqlite-pragma', 'synchronous=normal');
  }
  // One partition per task queue: the dev server defaults to four, and with the few workflow
  // pollers of one worker a new workflow's first task could wait seconds on a partition no
  // poller was on (JITP storm: p90 workflow 5 s and 11% CONNACK 3 with four; p99 2.2 s with one).
  for (const key of ['matching.numTaskqueueReadPartitions', 'matching.numTaskqueueWritePartitions']) {
    args.push('--dynamic-config-value', `${key}=1`);
  }
  if (opts.namespace !== 'default') args.push('--namespace', opts.namespace);
  for (const name of Object.values(searchAttributes)) args.push('--search-attribute', `${name}=Keyword`);

  const child = spawn(opts.cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let exited: string | undefined;
  child.once('exit', (code, signal) => {
    exited = `exited with ${signal ?? `code ${code}`}`;
  });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  const address = `${ip}:${opts.port}`;
  const stop = async () => {
    process.off('exit', killOnExit);
    if (exited) return;
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
  };

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 90_000);
  for (;;) {
    if (exited) throw new Error(`Temporal dev server ${exited} before it was ready:\n${output.trim()}`);
    if (await namespaceAnswers(address, opts.namespace)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`Temporal dev server on ${address} did not become ready in time:\n${output.trim()}`);
    }
    await sleep(250);
  }
  opts.log?.(`Temporal dev server ready on ${address}`);
  return {
    address,
    uiUrl:
      opts.uiPort === undefined ? undefined : `http://${ip === '0.0.0.0' ? '127.0.0.1' : ip}:${opts.uiPort}`,
    process: child,
    stop,
  };
}

async function namespaceAnswers(address: string, namespace: string): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    connection = await Connection.connect({ address, connectTimeout: 1_000 });
    await connection.workflowService.describeNamespace({ namespace });
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
