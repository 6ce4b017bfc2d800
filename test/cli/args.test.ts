import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import {
  accessTokenRequest,
  chunk,
  parseDeviceImport,
  parseLimit,
  rebaseFieldErrors,
  resolveApiTarget,
  tenantNameProblem,
} from '../../cli/args';
import { CliError } from '../../cli/errors';

describe('resolveApiTarget', () => {
  it('prefers flags over the environment and drops a trailing slash', () => {
    const env = { CERTFLOW_API_URL: 'http://env:1', CERTFLOW_API_KEY: 'env-key' };
    expect(resolveApiTarget({ apiUrl: 'https://edge.example/certflow/', apiKey: 'flag-key' }, env)).toEqual({
      url: 'https://edge.example/certflow',
      key: 'flag-key',
    });
    expect(resolveApiTarget({}, env)).toEqual({ url: 'http://env:1', key: 'env-key' });
  });

  it('defaults to the local edge', () => {
    expect(resolveApiTarget({ apiKey: 'k' }, {}).url).toBe('http://localhost:8080');
  });

  it('refuses a missing key and a URL that is not http(s)', () => {
    expect(() => resolveApiTarget({}, {})).toThrow(/no API key: pass --api-key or set CERTFLOW_API_KEY/);
    expect(() => resolveApiTarget({ apiUrl: 'localhost:8080', apiKey: 'k' }, {})).toThrow(CliError);
    expect(() => resolveApiTarget({ apiUrl: 'not a url', apiKey: 'k' }, {})).toThrow(/is not a URL/);
  });
});

describe('parseLimit', () => {
  it('accepts 1-500 and refuses the rest', () => {
    expect(parseLimit('250')).toBe(250);
    for (const bad of ['0', '501', '2.5', 'ten']) expect(() => parseLimit(bad)).toThrow(InvalidArgumentError);
  });
});

describe('accessTokenRequest', () => {
  it('maps the optional-value flag to the API body', () => {
    expect(accessTokenRequest(undefined)).toBeUndefined();
    expect(accessTokenRequest(true)).toEqual({});
    expect(accessTokenRequest('a-device-token-0123')).toEqual({ token: 'a-device-token-0123' });
  });
});

describe('tenantNameProblem', () => {
  it('accepts plain names and refuses empty, padded, long and control-character names', () => {
    expect(tenantNameProblem('acme corp')).toBeUndefined();
    expect(tenantNameProblem('')).toMatch(/1-64/);
    expect(tenantNameProblem('x'.repeat(65))).toMatch(/1-64/);
    expect(tenantNameProblem(' acme')).toMatch(/white space/);
    expect(tenantNameProblem('ac\nme')).toMatch(/control/);
  });
});

describe('chunk', () => {
  it('splits into runs of at most the size, in order', () => {
    expect(chunk([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunk([], 2)).toEqual([]);
  });
});

describe('parseDeviceImport', () => {
  it('returns the device requests of a JSON array', () => {
    expect(parseDeviceImport('[{"name":"a","tags":["t"]},{"name":"b"}]', 'f.json')).toEqual([
      { name: 'a', tags: ['t'] },
      { name: 'b' },
    ]);
  });

  it('refuses invalid JSON, a non-array and an empty array', () => {
    expect(() => parseDeviceImport('[{', 'f.json')).toThrow(/f.json is not valid JSON/);
    expect(() => parseDeviceImport('{"devices":[]}', 'f.json')).toThrow(/must hold a JSON array/);
    expect(() => parseDeviceImport('[]', 'f.json')).toThrow(/holds no devices/);
  });

  it('names every bad item by its index before anything is sent', () => {
    try {
      parseDeviceImport('[{"name":"ok"}, 3, {"label":"x"}, {"name":"a/b"}]', 'f.json');
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(CliError);
      expect((err as CliError).message).toBe('f.json: 3 invalid device request(s); nothing was imported');
      expect((err as CliError).details).toEqual([
        '[1]: must be an object',
        '[2].name: is required (a string)',
        '[3].name: must not contain +, #, / or $',
      ]);
    }
  });
});

describe('rebaseFieldErrors', () => {
  it('renumbers bulk field paths to the whole file and leaves others alone', () => {
    expect(
      rebaseFieldErrors(
        [
          { field: 'devices.3.name', message: 'm' },
          { field: 'devices.12', message: 'm' },
          { field: 'devices', message: 'm' },
        ],
        1000,
      ).map((e) => e.field),
    ).toEqual(['devices.1003.name', 'devices.1012', 'devices']);
  });
});
