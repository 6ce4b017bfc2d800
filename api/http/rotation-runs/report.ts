import type { Kysely } from 'kysely';
import type { ItemState, RunProgress } from '../../../domain/rotation';
import { listRunItems, type RunItemView } from '../../../registry/runs';
import type { Database } from '../../../registry/schema';

/** The report lists at most this many problem items; past it, `truncated` says to page the items. */
export const REPORT_MAX_PROBLEMS = 10_000;
const PAGE = 1000;
/** Worst first: what an operator acts on. Succeeded items are counted, not listed. */
const PROBLEM_STATES: ItemState[] = ['failed', 'rolled_back', 'cancelled', 'in_progress', 'pending'];

export interface RunReport {
  run: RunProgress;
  /** False while the run can still change (running or paused). */
  final: boolean;
  problems: RunItemView[];
  truncated: boolean;
}

export async function buildRunReport(
  db: Kysely<Database>,
  tenantId: string,
  run: RunProgress,
): Promise<RunReport> {
  const problems: RunItemView[] = [];
  let truncated = false;
  for (const state of PROBLEM_STATES) {
    if (run.counts[state] === 0) continue;
    let afterSeq: number | undefined;
    for (;;) {
      const room = REPORT_MAX_PROBLEMS - problems.length;
      if (room <= 0) {
        truncated = true;
        break;
      }
      const limit = Math.min(PAGE, room);
      const page = await listRunItems(db, tenantId, run.runId, {
        state,
        limit,
        ...(afterSeq === undefined ? {} : { afterSeq }),
      });
      problems.push(...page);
      if (page.length < limit) break;
      afterSeq = page.at(-1)?.seq;
    }
    if (truncated) break;
  }
  return { run, final: run.status !== 'running' && run.status !== 'paused', problems, truncated };
}
