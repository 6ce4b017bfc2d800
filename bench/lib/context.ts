import type { DevicePool } from './device-pool';

export interface Options {
  quick: boolean;
  /** Devices per scenario (JITP storm, reconnect, HTTP provisioning, and their baselines). */
  n: number;
  /** Workflows started for the engine-rate measurement. */
  workflows: number;
  /** Operations in flight at once (also: simulated devices connecting at once before the rotation run). */
  concurrency: number;
  /** The rotation run's `concurrency` option: devices rotating at once. */
  rotationConcurrency: number;
  /** Per scenario: no new operation starts after this many seconds (keeps a slow run bounded). */
  maxSeconds: number;
}

export interface BenchContext {
  opts: Options;
  pool: DevicePool;
  say: (msg: string) => void;
}
