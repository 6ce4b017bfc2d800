// `npm run bench [-- --quick] [-- --n 10000 --concurrency 100 --workflows 2000 --max-seconds 180]`
// Starts certflow with its embedded defaults (`npm start`), drives it over loopback and compares
// each hot path with a baseline measured in the same run. See docs/benchmarks.md.
import { parseArgs } from 'node:util';
import { BENCH_LIMITS, type Certflow, startCertflow } from './lib/certflow';
import type { BenchContext, Options } from './lib/context';
import { devicePool } from './lib/device-pool';
import { describeMachine } from './lib/machine';
import type { ScenarioResult } from './lib/measure';
import { markdown, type Report, writeReport } from './lib/report';
import { registerJitpCa } from './lib/setup';
import { baselineHono } from './scenarios/baseline-hono';
import { baselineMtls } from './scenarios/baseline-mtls';
import { httpProvision } from './scenarios/http-provision';
import { jitpStorm } from './scenarios/jitp-storm';
import { reconnect } from './scenarios/reconnect';
import { workflowRate } from './scenarios/workflow-rate';

function options(): Options {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      n: { type: 'string' },
      concurrency: { type: 'string' },
      workflows: { type: 'string' },
      'max-seconds': { type: 'string' },
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

  say('▶ starting certflow (npm start, embedded defaults)…');
  let cf: Certflow | undefined;
  try {
    cf = await startCertflow();
    const running = cf;
    await registerJitpCa(running, ctx.pool.root);
    scenarios.push(await step('workflow engine rate', () => workflowRate(ctx, running)));
    const storm = await step('JITP first-connect storm', () => jitpStorm(ctx, running, tls));
    const provisioned = Number(storm.checks?.distinctNames ?? 0);
    scenarios.push(storm);
    scenarios.push(await step('known-device reconnect', () => reconnect(ctx, running, tls, provisioned)));
    scenarios.push(await step('HTTP key/secret provisioning', () => httpProvision(ctx, running, hono)));
  } finally {
    await cf?.stop();
  }
  scenarios.push(tls, hono, {
    id: 'fleet-rotation',
    title: 'Fleet rotation run',
    measured: false,
    notes: ['rotation runs are not built yet'],
  });

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
