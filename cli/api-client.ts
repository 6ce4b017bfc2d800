import type { ApiTarget } from './args';
import { CliError, ProblemError } from './errors';
import { parseProblem } from './problem';

export type Fetch = typeof fetch;

export interface ApiClient {
  /** The parsed JSON body of a 2xx answer; throws ProblemError or CliError otherwise. */
  request<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T>;
}

function causeOf(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? cause.message : String(cause);
}

/** A thin JSON client for the certflow HTTP API; the key goes in the Authorization header only. */
export function createApiClient(target: ApiTarget, fetchImpl: Fetch): ApiClient {
  return {
    async request<T>(method: string, path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await fetchImpl(`${target.url}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${target.key}`,
            accept: 'application/json, application/problem+json',
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
        });
      } catch (err) {
        throw new CliError(`cannot reach the certflow API at ${target.url}: ${causeOf(err)}`);
      }
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (res.ok) {
        if (parsed === undefined)
          throw new CliError(`${method} ${path} answered ${res.status} without a JSON body`);
        return parsed as T;
      }
      const problem = parseProblem(parsed);
      if (problem) throw new ProblemError({ ...problem, status: problem.status || res.status });
      throw new CliError(`${method} ${path} failed: HTTP ${res.status} ${res.statusText}`.trimEnd());
    },
  };
}
