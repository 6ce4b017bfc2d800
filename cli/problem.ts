import type { FieldError } from '../domain/errors';
import { CliError, type ProblemBody, ProblemError } from './errors';

function isFieldError(value: unknown): value is FieldError {
  if (!value || typeof value !== 'object') return false;
  const v = value as Record<string, unknown>;
  return typeof v.field === 'string' && typeof v.message === 'string';
}

/**
 * Reads a problem+json body (api/http/problem.ts); undefined when the body is not one, e.g. an
 * HTML page from a proxy in front of the edge.
 */
export function parseProblem(body: unknown): ProblemBody | undefined {
  if (!body || typeof body !== 'object') return undefined;
  const b = body as Record<string, unknown>;
  if (typeof b.code !== 'string' || typeof b.detail !== 'string') return undefined;
  return {
    code: b.code,
    detail: b.detail,
    status: typeof b.status === 'number' ? b.status : 0,
    ...(typeof b.title === 'string' ? { title: b.title } : {}),
    ...(typeof b.requestId === 'string' ? { requestId: b.requestId } : {}),
    ...(Array.isArray(b.errors) ? { errors: b.errors.filter(isFieldError) } : {}),
  };
}

/**
 * `error CODE: detail`, then one indented line per field error. The request id is added for
 * server-side failures only: that is when an operator quotes it in a report.
 */
export function formatProblem(problem: ProblemBody): string[] {
  const lines = [`error ${problem.code}: ${problem.detail}`];
  for (const e of problem.errors ?? []) lines.push(`  ${e.field}: ${e.message}`);
  if (problem.status >= 500 && problem.requestId) lines.push(`  request id: ${problem.requestId}`);
  return lines;
}

/** The lines to print on stderr for an expected failure; undefined for anything else (a bug). */
export function formatExpectedError(err: unknown): string[] | undefined {
  if (err instanceof ProblemError) return formatProblem(err.problem);
  if (err instanceof CliError) return [`error: ${err.message}`, ...err.details.map((d) => `  ${d}`)];
  return undefined;
}
