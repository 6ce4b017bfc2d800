import type { FieldError } from '../domain/errors';

/**
 * An expected failure (bad input, a refused request, an unreachable API): printed as one clear
 * message on stderr with exit code 1, never with a stack trace.
 */
export class CliError extends Error {
  override readonly name = 'CliError';
  constructor(
    message: string,
    readonly details: string[] = [],
  ) {
    super(message);
  }
}

/** A problem+json answer from the API, kept as the server sent it. */
export interface ProblemBody {
  code: string;
  detail: string;
  status: number;
  title?: string;
  requestId?: string;
  errors?: FieldError[];
}

export class ProblemError extends Error {
  override readonly name = 'ProblemError';
  constructor(readonly problem: ProblemBody) {
    super(`${problem.code}: ${problem.detail}`);
  }
}
