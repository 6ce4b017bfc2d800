import type { RunReport } from '../../api/http/rotation-runs/report';
import type { RunProgress } from '../../domain/rotation';
import type { RunItemView } from '../../registry/runs';
import type { ApiClient } from '../api-client';
import { renderProgressBar } from '../progress';
import { type Column, renderTable } from '../table';

/** The API's run item and report, as the CLI receives them. */
export type RunItem = RunItemView;
export type { RunReport };

export const ACTIVE_STATUSES: readonly string[] = ['running', 'paused'];

/** Items that will not change any more. */
export function finishedItems(run: RunProgress): number {
  const c = run.counts;
  return c.succeeded + c.failed + c.rolled_back + c.cancelled;
}

/** `succeeded 12  failed 1  rolled back 2  in progress 5  pending 80  [running]` */
export function runSummary(run: RunProgress): string {
  const c = run.counts;
  const parts = [
    `succeeded ${c.succeeded}`,
    `failed ${c.failed}`,
    `rolled back ${c.rolled_back}`,
    `in progress ${c.in_progress}`,
    `pending ${c.pending}`,
  ];
  if (c.cancelled > 0) parts.push(`cancelled ${c.cancelled}`);
  return `${parts.join('  ')}  [${run.status}]`;
}

/** One line of a live view: the bar over finished items, then the counts. */
export function progressLine(run: RunProgress): string {
  const total = Math.max(run.total, finishedItems(run) + run.counts.in_progress + run.counts.pending);
  return `${renderProgressBar(finishedItems(run), total)}  ${runSummary(run)}`;
}

export const runColumns: Column<RunProgress>[] = [
  { header: 'ID', value: (r) => r.runId },
  { header: 'STATUS', value: (r) => r.status },
  { header: 'TOTAL', value: (r) => r.total },
  { header: 'SUCCEEDED', value: (r) => r.counts.succeeded },
  { header: 'FAILED', value: (r) => r.counts.failed },
  { header: 'ROLLED BACK', value: (r) => r.counts.rolled_back },
  { header: 'IN PROGRESS', value: (r) => r.counts.in_progress },
  { header: 'PENDING', value: (r) => r.counts.pending },
  { header: 'CREATED', value: (r) => r.createdAt },
];

export function runTable(runs: readonly RunProgress[]): string {
  return renderTable(runColumns, runs);
}

export const itemColumns: Column<RunItem>[] = [
  { header: 'SEQ', value: (i) => i.seq },
  { header: 'DEVICE', value: (i) => i.deviceName },
  { header: 'ID', value: (i) => i.deviceId },
  { header: 'STATE', value: (i) => i.state },
  { header: 'REASON', value: (i) => i.reason },
];

/** The report for people: status, counts, then every device that did not succeed. */
export function reportText(report: RunReport): string {
  const { run } = report;
  const lines = [
    `run ${run.runId}: ${run.status}${report.final ? '' : ' (not finished: a report so far)'}`,
    ...(run.statusReason ? [`reason: ${run.statusReason}`] : []),
    `created ${run.createdAt}${run.finishedAt ? `, finished ${run.finishedAt}` : ''}`,
    `devices ${run.total}: ${runSummary(run)}`,
  ];
  if (report.problems.length > 0) lines.push('', renderTable(itemColumns, report.problems));
  if (report.truncated) lines.push('(truncated: page through `GET /api/rotation-runs/{id}/items?state=…`)');
  return lines.join('\n');
}

export interface WatchOptions {
  /** Draw in place (a terminal) or print one line per change (a log, a pipe). */
  isTTY: boolean;
  write(text: string): void;
  intervalMs: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Polls a run until it is neither running nor paused, showing its progress: a bar redrawn in
 * place on a terminal, otherwise one line each time the counts or status change. Returns the
 * final progress.
 */
export async function watchRun(api: ApiClient, runId: string, opts: WatchOptions): Promise<RunProgress> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const path = `/api/rotation-runs/${encodeURIComponent(runId)}`;
  let last = '';
  for (;;) {
    const run = await api.request<RunProgress>('GET', path);
    const line = progressLine(run);
    if (line !== last) {
      opts.write(opts.isTTY ? `\r\u001b[2K${line}` : `${line}\n`);
      last = line;
    }
    if (!ACTIVE_STATUSES.includes(run.status)) {
      if (opts.isTTY) opts.write('\n');
      return run;
    }
    await sleep(opts.intervalMs);
  }
}

/** The poll interval: `CERTFLOW_WATCH_INTERVAL_MS`, default one second, never below 100 ms. */
export function watchInterval(env: Record<string, string | undefined>): number {
  const n = Number(env.CERTFLOW_WATCH_INTERVAL_MS);
  return Number.isFinite(n) && n >= 100 ? n : 1000;
}
