import { describe, expect, it } from 'vitest';
import { CliError, ProblemError } from '../../cli/errors';
import { formatExpectedError, formatProblem, parseProblem } from '../../cli/problem';

const problem = {
  type: 'https://certflow.dev/problems/validation-failed',
  code: 'VALIDATION_FAILED',
  title: 'The request is not valid',
  status: 400,
  detail: 'invalid json: name: must not be empty',
  instance: '/api/devices',
  requestId: 'r-1',
  errors: [{ field: 'name', message: 'must not be empty' }],
};

describe('parseProblem', () => {
  it('reads a problem+json body', () => {
    expect(parseProblem(problem)).toEqual({
      code: 'VALIDATION_FAILED',
      detail: 'invalid json: name: must not be empty',
      status: 400,
      title: 'The request is not valid',
      requestId: 'r-1',
      errors: [{ field: 'name', message: 'must not be empty' }],
    });
  });

  it('is undefined for anything that is not a problem', () => {
    expect(parseProblem(undefined)).toBeUndefined();
    expect(parseProblem('<html>Bad Gateway</html>')).toBeUndefined();
    expect(parseProblem({ message: 'nope' })).toBeUndefined();
  });

  it('drops malformed field errors rather than printing garbage', () => {
    expect(
      parseProblem({ ...problem, errors: [{ field: 1 }, { field: 'a', message: 'b' }] })?.errors,
    ).toEqual([{ field: 'a', message: 'b' }]);
  });
});

describe('formatProblem', () => {
  it('prints `error CODE: detail` and one line per field error', () => {
    expect(formatProblem(parseProblem(problem)!)).toEqual([
      'error VALIDATION_FAILED: invalid json: name: must not be empty',
      '  name: must not be empty',
    ]);
  });

  it('adds the request id for server-side failures only', () => {
    const internal = { code: 'INTERNAL', detail: 'unexpected', status: 500, requestId: 'r-9' };
    expect(formatProblem(internal)).toEqual(['error INTERNAL: unexpected', '  request id: r-9']);
    expect(formatProblem({ ...internal, status: 404 })).toEqual(['error INTERNAL: unexpected']);
  });
});

describe('formatExpectedError', () => {
  it('formats CLI errors with their details, and problems', () => {
    expect(formatExpectedError(new CliError('bad file', ['[0].name: is required']))).toEqual([
      'error: bad file',
      '  [0].name: is required',
    ]);
    expect(formatExpectedError(new ProblemError({ code: 'FORBIDDEN', detail: 'no', status: 403 }))).toEqual([
      'error FORBIDDEN: no',
    ]);
  });

  it('does not claim unexpected errors', () => {
    expect(formatExpectedError(new TypeError('x is undefined'))).toBeUndefined();
  });
});
