import { InvalidArgumentError } from 'commander';
import { deviceNameProblem } from '../domain/device';
import type { FieldError } from '../domain/errors';
import { CliError } from './errors';

export const outputFormats = ['json', 'table'] as const;
export type OutputFormat = (typeof outputFormats)[number];

export const DEFAULT_API_URL = 'http://localhost:8080';

export interface ApiTarget {
  /** Base URL without a trailing slash; paths are appended, so a path prefix is kept. */
  url: string;
  key: string;
}

/**
 * Flags win over the environment (`CERTFLOW_API_URL`, `CERTFLOW_API_KEY`). The key is never a
 * commander default, so `--help` cannot print it.
 */
export function resolveApiTarget(
  flags: { apiUrl?: string; apiKey?: string },
  env: Record<string, string | undefined>,
): ApiTarget {
  const raw = flags.apiUrl || env.CERTFLOW_API_URL || DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new CliError(`--api-url "${raw}" is not a URL (e.g. ${DEFAULT_API_URL})`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new CliError(`--api-url must be an http:// or https:// URL, not ${url.protocol}//…`);
  const key = flags.apiKey || env.CERTFLOW_API_KEY;
  if (!key) throw new CliError('no API key: pass --api-key or set CERTFLOW_API_KEY');
  return { url: url.href.replace(/\/+$/, ''), key };
}

/** Commander argument parser for `--limit`: the API accepts 1..500 per page. */
export function parseLimit(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 500) throw new InvalidArgumentError('must be an integer 1-500');
  return n;
}

/** Commander reducer for a repeatable option (`--tag a --tag b`). */
export function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/**
 * `--access-token` alone asks the server to generate a token (returned once); with a value the
 * device keeps that token; absent, the device gets none.
 */
export function accessTokenRequest(option: string | boolean | undefined): { token?: string } | undefined {
  if (option === undefined || option === false) return undefined;
  return option === true ? {} : { token: option };
}

/** Tenant names: what BOOTSTRAP_TENANT accepts, without blanks around or control characters. */
export function tenantNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > 64) return 'must be 1-64 characters';
  if (name.trim() !== name) return 'must not start or end with white space';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters';
  return undefined;
}

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/** A device request as the bulk API takes it; the server validates every field. */
export type DeviceRequest = { name: string } & Record<string, unknown>;

/**
 * Parses an import file: a JSON array of device requests (the body of POST /api/devices). Only
 * the shape needed to chunk and report is checked here, each problem named by its index; the
 * server validates the rest.
 */
export function parseDeviceImport(text: string, file: string): DeviceRequest[] {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new CliError(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(data)) throw new CliError(`${file} must hold a JSON array of device requests`);
  if (data.length === 0) throw new CliError(`${file} holds no devices`);
  const problems: string[] = [];
  data.forEach((item: unknown, i) => {
    if (!item || typeof item !== 'object' || Array.isArray(item)) problems.push(`[${i}]: must be an object`);
    else {
      const name = (item as Record<string, unknown>).name;
      const why = typeof name === 'string' ? deviceNameProblem(name) : 'is required (a string)';
      if (why) problems.push(`[${i}].name: ${why}`);
    }
  });
  if (problems.length > 0) {
    const shown = problems.slice(0, 20);
    if (problems.length > shown.length) shown.push(`… and ${problems.length - shown.length} more`);
    throw new CliError(`${file}: ${problems.length} invalid device request(s); nothing was imported`, shown);
  }
  return data as DeviceRequest[];
}

/** Field errors of one bulk chunk (`devices.3.name`) renumbered to the whole file's indexes. */
export function rebaseFieldErrors(errors: readonly FieldError[], offset: number): FieldError[] {
  return errors.map((e) => ({
    ...e,
    field: e.field.replace(/^devices\.(\d+)(?=\.|$)/, (_, i: string) => `devices.${Number(i) + offset}`),
  }));
}
