import { describe, expect, it } from 'vitest';
import type { CliDeps } from '../../cli/context';
import { startRequest } from '../../cli/commands/rotation-start';
import { progressLine, reportText, watchRun } from '../../cli/commands/rotation-view';
import { runCli } from '../../cli/program';
import { emptyCounts, type RunProgress } from '../../domain/rotation';

function run(status: RunProgress['status'], counts: Partial<RunProgress['counts']>, total = 10): RunProgress {
  return {
    runId: 'r1',
    tenantId: 't',
    status,
    total,
    counts: { ...emptyCounts(), ...counts },
    options: {
      concurrency: 5,
      ratePerMinute: null,
      deadlineSeconds: 60,
      abortAfterFailures: null,
      issuingCaId: null,
    },
    selection: { tags: ['a'] },
    createdAt: '2026-01-01T00:00:00.000Z',
    finishedAt: null,
    statusReason: null,
  };
}

describe('rotation progress rendering', () => {
  it('shows finished items on the bar and every state in words', () => {
    const line = progressLine(
      run('running', { succeeded: 3, failed: 1, rolled_back: 1, in_progress: 2, pending: 3 }),
    );
    expect(line).toBe(
      '[###############...............]   5/10  50%  succeeded 3  failed 1  rolled back 1  in progress 2  pending 3  [running]',
    );
  });

  it('lists the problems of a report and says when it is not final', () => {
    const text = reportText({
      run: run('running', { succeeded: 1, failed: 1 }, 2),
      final: false,
      truncated: false,
      problems: [
        {
          deviceId: 'd2',
          deviceName: 'sensor-2',
          seq: 2,
          state: 'failed',
          reason: 'CSR_REJECTED: key too weak',
          oldFingerprint: null,
          newFingerprint: null,
          updatedAt: 'x',
        },
      ],
    });
    expect(text).toContain('run r1: running (not finished: a report so far)');
    expect(text).toMatch(/2\s+sensor-2\s+d2\s+failed\s+CSR_REJECTED: key too weak/);
  });
});

describe('watching a run', () => {
  it('prints one line per change when not on a terminal, until the run ends', async () => {
    const answers = [
      run('running', { pending: 10 }),
      run('running', { pending: 10 }),
      run('paused', { succeeded: 4, pending: 6 }),
      run('completed', { succeeded: 9, rolled_back: 1 }),
    ];
    const written: string[] = [];
    let polls = 0;
    const final = await watchRun(
      { request: <T>() => Promise.resolve(answers[Math.min(polls++, answers.length - 1)] as T) },
      'r1',
      { isTTY: false, write: (s) => written.push(s), intervalMs: 1, sleep: () => Promise.resolve() },
    );
    expect(final.status).toBe('completed');
    expect(polls).toBe(4);
    expect(written).toHaveLength(3);
    expect(written.every((l) => l.endsWith('\n') && !l.includes('\r'))).toBe(true);
    expect(written[2]).toContain('[completed]');
  });

  it('redraws in place on a terminal', async () => {
    const written: string[] = [];
    await watchRun({ request: <T>() => Promise.resolve(run('cancelled', { cancelled: 10 }) as T) }, 'r1', {
      isTTY: true,
      write: (s) => written.push(s),
      intervalMs: 1,
      sleep: () => Promise.resolve(),
    });
    expect(written[0]?.startsWith('\r\u001b[2K[')).toBe(true);
    expect(written.at(-1)).toBe('\n');
  });
});

describe('certflow rotation start', () => {
  it('builds the request from the flags', () => {
    expect(
      startRequest({
        tag: ['a', 'b'],
        expiringBefore: '2027-01-01',
        concurrency: 10,
        rate: 60,
        abortAfter: 0,
        dryRun: true,
      }),
    ).toEqual({
      selection: { tags: ['a', 'b'], expiringBefore: '2027-01-01' },
      options: { concurrency: 10, ratePerMinute: 60, abortAfterFailures: 0 },
      dryRun: true,
    });
  });

  it('refuses to start without a selection, and bad numbers, before calling the API', async () => {
    const calls: string[] = [];
    const err: string[] = [];
    const deps: CliDeps = {
      env: { CERTFLOW_API_KEY: 'cf_0123456789abcdef_x', CERTFLOW_API_URL: 'http://edge.test' },
      io: { out: () => undefined, err: (s) => err.push(s), errIsTTY: false },
      fetch: (input) => {
        calls.push(input instanceof Request ? input.url : input.toString());
        return Promise.resolve(new Response('{}'));
      },
      readFile: () => Promise.reject(new Error('none')),
      openRegistry: () => Promise.reject(new Error('none')),
    };
    expect(await runCli(['rotation', 'start', '--concurrency', '5'], deps)).toBe(1);
    expect(err.join('')).toMatch(/^error: select devices: --product/);
    expect(await runCli(['rotation', 'start', '--tag', 'a', '--rate', 'fast'], deps)).toBe(1);
    expect(err.join('')).toContain("option '--rate <n>' argument 'fast' is invalid");
    expect(await runCli(['devices', 'revoke', 'd1'], deps)).toBe(1);
    expect(err.join('')).toContain("required option '--reason <text>' not specified");
    expect(calls).toEqual([]);
  });
});
