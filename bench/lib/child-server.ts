import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { root } from './certflow';

export interface ChildServer {
  /** The port it listens on; 0 for a process that serves nothing (a worker). */
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/**
 * Runs bench/servers/<name>.ts in its own Node process and waits for its `listening <port>`
 * line (a server) or its `ready` line (a worker, port 0).
 */
export async function startChildServer(name: string, args: string[] = []): Promise<ChildServer> {
  const file = join(root, 'bench', 'servers', `${name}.ts`);
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', file, ...args], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /^(?:listening (\d+)|ready)\n/m.exec(out);
      if (m) resolve(Number(m[1] ?? 0));
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code}`)));
  });
  return {
    port,
    pid: child.pid ?? 0,
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      await exited;
    },
  };
}
