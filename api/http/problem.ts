import type { Context } from 'hono';
import { errorCatalogue, type ErrorCode, type FieldError } from '../../domain/errors';
import { asCertflowError } from '../failures';

/** The one JSON shape of every HTTP error (RFC 9457 problem details, plus a stable code). */
export interface Problem {
  type: string;
  code: ErrorCode;
  title: string;
  status: number;
  detail: string;
  instance: string;
  requestId: string;
  errors?: FieldError[];
}

export function problemType(code: ErrorCode): string {
  return `https://certflow.dev/problems/${code.toLowerCase().replace(/_/g, '-')}`;
}

/**
 * Maps any thrown value to a problem. Domain errors keep their code and message; failures
 * coming back from workflows are unwrapped to the ApplicationFailure that carries a code;
 * anything unknown becomes a 500 with no internals.
 */
export function toProblem(err: unknown, instance: string, requestId: string): Problem {
  const known = asCertflowError(err);
  const code: ErrorCode = known?.code ?? 'INTERNAL';
  const entry = errorCatalogue[code];
  return {
    type: problemType(code),
    code,
    title: entry.title,
    status: entry.status,
    detail: known?.message ?? 'An unexpected error occurred; quote the request id when reporting it.',
    instance,
    requestId,
    ...(known && known.fieldErrors.length > 0 ? { errors: known.fieldErrors } : {}),
  };
}

export function problemResponse(c: Context, problem: Problem): Response {
  return c.body(JSON.stringify(problem), problem.status as 400, {
    'content-type': 'application/problem+json',
  });
}
