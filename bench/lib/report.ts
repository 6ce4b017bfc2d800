import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { root } from './certflow';
import type { Options } from './context';
import type { Machine } from './machine';
import type { ScenarioResult } from './measure';

export interface Report {
  startedAt: string;
  options: Options;
  machine: Machine;
  /** Environment certflow ran with beyond its embedded defaults. */
  certflowEnv: Record<string, string>;
  scenarios: ScenarioResult[];
}

/** Writes bench/results/<timestamp>[-quick].json and returns its path. */
export function writeReport(report: Report): string {
  const dir = join(root, 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const stamp = report.startedAt.replace(/[:.]/g, '-');
  const file = join(dir, `${stamp}${report.options.quick ? '-quick' : ''}.json`);
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

const fmt = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '–' : String(x));

function rss(r: ScenarioResult): string {
  return Object.entries(r.peakRssMb ?? {})
    .map(([role, mb]) => `${role} ${mb}`)
    .join(', ');
}

function goal(r: ScenarioResult): string {
  if (!r.goal) return '–';
  return `${r.goalMet ? '✅' : '❌'} ${r.goal}`;
}

/** The machine's own figures: the engine's empty-workflow rate and the raw signing rate. */
function machineRates(report: Report): string {
  const find = (id: string) => report.scenarios.find((r) => r.id === id && r.measured);
  const engine = find('empty-workflows');
  const signing = find('baseline-signing');
  return (
    `Workflow engine: ${fmt(engine?.throughput)} empty workflows/s (concurrency ${fmt(engine?.concurrency)}); ` +
    `issuance: ${fmt(signing?.throughput)} certificates/s, raw ECDSA P-256: ${fmt(Number(signing?.checks?.rawP256SignsPerS))} signs/s (one process).`
  );
}

/** The Markdown table printed at the end of a run (and pasted into docs/benchmarks.md). */
export function markdown(report: Report): string {
  const m = report.machine;
  const head = [
    `Machine: ${m.cores} cores (${m.cpuModel}), ${m.memoryGb} GB, ${m.kernel}; Node ${m.node}; ` +
      `${m.temporalCli}; Temporal TS SDK ${m.temporalSdk}. ` +
      `N = ${report.options.n}, concurrency ${report.options.concurrency}, ` +
      `rotation concurrency ${report.options.rotationConcurrency}${report.options.quick ? ' (--quick)' : ''}.`,
    machineRates(report),
    '',
    '| scenario | N | ok | errors | ops/s | p50 ms | p95 ms | p99 ms | peak RSS MB | baseline | ratio | goal |',
    '|---|---|---|---|---|---|---|---|---|---|---|---|',
  ];
  const rows = report.scenarios.map((r) =>
    r.measured
      ? `| ${r.title} | ${r.attempted === r.n ? fmt(r.n) : `${fmt(r.attempted)} of ${fmt(r.n)} (time limit)`} | ${fmt(r.ok)} | ${fmt(r.errors)} | ${fmt(r.throughput)} | ` +
        `${fmt(r.latencyMs?.p50)} | ${fmt(r.latencyMs?.p95)} | ${fmt(r.latencyMs?.p99)} | ${rss(r)} | ` +
        `${r.baseline ?? '–'} | ${fmt(r.ratio)} | ${goal(r)} |`
      : `| ${r.title} | not measured: ${r.notes?.join('; ') ?? ''} | | | | | | | | | | |`,
  );
  const checks = report.scenarios
    .filter((r) => r.measured)
    .map((r) => {
      const cpu = Object.entries(r.cpuS ?? {}).map(([k, v]) => `${k} ${v}`);
      const c = [`CPU s over ${r.durationS} s: ${cpu.join(', ')}`];
      c.push(...Object.entries(r.checks ?? {}).map(([k, v]) => `${k}=${v}`));
      const e = Object.entries(r.errorKinds ?? {}).map(([k, v]) => `${v}× "${k}"`);
      const notes = (r.notes ?? []).map((n) => `\n  - ${n}`).join('');
      return `- ${r.id}: ${[...c, ...e].join(', ')}${notes}`;
    });
  return [...head, ...rows, '', ...checks].join('\n');
}
