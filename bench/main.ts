// `npm run bench [-- --quick] [-- --n 10000 --concurrency 100 --workflows 2000 --max-seconds 180
//   --rotation-concurrency 200]`
// Starts certflow with its embedded defaults (`npm start`), drives it over loopback and compares
// each hot path with a baseline measured in the same run. See docs/benchmarks.md.
import { parseArgs } from 'node:util';
import { BENCH_LIMITS, type Certflow, startCertflow } from './lib/certflow';
import type { BenchContext, Options } from './lib/context';
import { devicePool } from './lib/device-pool';
import { type EmptyWorker, startEmptyWorker } from './lib/empty-worker';
import { describeMachine } from './lib/machine';
import type { ScenarioResult } from './lib/measure';
import { markdown, type Report, writeReport } from './lib/report';
import { registerJitpCa } from './lib/setup';
import { connectFleet } from './lib/sim-devices';
import { baselineHono } from './scenarios/baseline-hono';
import { baselineMtls } from './scenarios/baseline-mtls';
import { baselineSigning } from './scenarios/baseline-signing';
import { emptyWorkflows } from './scenarios/empty-workflows';
import { fleetRotation } from './scenarios/fleet-rotation';
import { httpProvision } from './scenarios/http-provision';
import { jitpStorm } from './scenarios/jitp-storm';
import { reconnect } from './scenarios/reconnect';
import { revocation } from './scenarios/revocation';
import { workflowRate } from './scenarios/workflow-rate';

function options(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      n: { type: 'string' },
      concurrency: { type: 'string' },
      workflows: { type: 'string' },
      'max-seconds': { type: 'string' },
      'rotation-concurrency': { type: 'string' },
    },
  });
  const quick = values.quick ?? false;
  const int = (v: string | undefined, fallback: number) => {
    const x = v === undefined ? fallback : Number(v);
    if (!Number.isInteger(x) || x < 1) throw new Error(`not a positive integer: ${v}`);
    return x;
  };
  return {
    quick,
    n: int(values.n, quick ? 300 : 10_000),
    workflows: int(values.workflows, quick ? 100 : 2_000),
    concurrency: int(values.concurrency, 100),
    rotationConcurrency: int(values['rotation-concurrency'], 200),
    maxSeconds: int(values['max-seconds'], quick ? 30 : 180),
  };
}

const say = (msg: string) => process.stdout.write(`${msg}\n`);

async function step(label: string, run: () => Promise<ScenarioResult>): Promise<ScenarioResult> {
  say(`▶ ${label}`);
  const r = await run();
  say(
    `  ${r.ok}/${r.attempted} ok (of ${r.n}), ${r.throughput} /s, p99 ${r.latencyMs?.p99} ms, ${r.durationS} s`,
  );
  say(`  CPU s: ${JSON.stringify(r.cpuS)}`);
  if (r.checks) say(`  checks: ${JSON.stringify(r.checks)}`);
  return r;
}

async function main(): Promise<void> {
  const opts = options();
  const startedAt = new Date().toISOString();
  const machine = describeMachine();
  say(
    `certflow bench: N=${opts.n}, concurrency=${opts.concurrency}, ${machine.cores} cores, Node ${machine.node}`,
  );
  const ctx: BenchContext = { opts, pool: await devicePool(opts.n, say), say };
  const scenarios: ScenarioResult[] = [];

  // Baselines first, on a quiet machine (certflow not yet started).
  const tls = await step('baseline: bare mTLS', () => baselineMtls(ctx));
  const hono = await step('baseline: empty Hono handler', () => baselineHono(ctx));
  const signing = await step('baseline: certificate issuance', () => baselineSigning(ctx));

  say('▶ starting certflow (npm start, embedded defaults)…');
  let cf: Certflow | undefined;
  let worker: EmptyWorker | undefined;
  try {
    cf = await startCertflow();
    const running = cf;
    await registerJitpCa(running, ctx.pool.root);
    say('▶ starting the bench-only empty worker…');
    worker = await startEmptyWorker(running);
    const empty = worker;
    scenarios.push(
      await step('workflow engine: empty workflows', () =>
        emptyWorkflows(ctx, running, empty, {
          id: 'empty-workflows',
          title: 'Workflow engine: empty workflows start→result',
          n: ctx.opts.workflows,
          label: 'engine',
        }),
      ),
    );
    scenarios.push(await step('workflow engine: createDeviceWorkflow', () => workflowRate(ctx, running)));
    const storm = await step('JITP first-connect storm', () => jitpStorm(ctx, running, tls));
    const provisioned = Number(storm.checks?.distinctNames ?? 0);
    scenarios.push(storm);
    // Before the rotation: it revokes the factory certificates this scenario connects with.
    scenarios.push(await step('known-device reconnect', () => reconnect(ctx, running, tls, provisioned)));
    scenarios.push(await step('HTTP key/secret provisioning', () => httpProvision(ctx, running, hono)));
    const rotating = Math.min(ctx.opts.n, provisioned);
    if (rotating > 0) {
      const baseline = await step(`baseline: ${rotating} empty workflows`, () =>
        emptyWorkflows(ctx, running, empty, {
          id: 'empty-workflows-rotation',
          title: `Baseline: ${rotating} empty workflows (as many as devices rotated)`,
          n: rotating,
          label: 'rotation',
        }),
      );
      scenarios.push(baseline);
      say('▶ connecting the storm’s devices as simulated devices…');
      const fleet = await connectFleet(ctx, running, ctx.opts.n);
      try {
        scenarios.push(
          await step('fleet rotation run', () => fleetRotation(ctx, running, empty, baseline, fleet)),
        );
        // Right after the rotation, while its devices are still connected.
        scenarios.push(await step('revocation takes effect', () => revocation(ctx, running, fleet)));
      } finally {
        await fleet.stop();
      }
    } else {
      const notes = ['the storm provisioned no device to rotate'];
      scenarios.push(
        { id: 'fleet-rotation', title: 'Fleet rotation run', measured: false, notes },
        { id: 'revocation', title: 'Revocation takes effect', measured: false, notes },
      );
    }
  } finally {
    await worker?.stop();
    await cf?.stop();
  }
  scenarios.push(tls, hono, signing);

  const report: Report = { startedAt, options: opts, machine, certflowEnv: BENCH_LIMITS, scenarios };
  const file = writeReport(report);
  say('');
  say(markdown(report));
  say('');
  say(`results: ${file}`);
}

main().catch((err: unknown) => {
  console.error('bench failed:', err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
