import type { MiddlewareHandler } from 'hono';
import type { Kysely } from 'kysely';
import { CertflowError } from '../../domain/errors';
import { type Role, roleAllows } from '../../domain/roles';
import { authenticateApiKey } from '../../registry/api-keys';
import type { Database } from '../../registry/schema';
import type { AppEnv } from './context';

/** Requires `Authorization: Bearer <api key>`; every later query is scoped to the key's tenant. */
export function apiKeyAuth(
  db: Kysely<Database>,
  opts: { except?: string[] } = {},
): MiddlewareHandler<AppEnv> {
  const except = new Set(opts.except ?? []);
  return async (c, next) => {
    if (except.has(c.req.path)) return next();
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match?.[1])
      throw new CertflowError('UNAUTHENTICATED', 'send an API key as `Authorization: Bearer <key>`');
    const apiKey = await authenticateApiKey(db, match[1]);
    if (!apiKey) throw new CertflowError('UNAUTHENTICATED', 'the API key is unknown or revoked');
    c.set('apiKey', apiKey);
    await next();
  };
}

/** Reads need any role; writes need operator; key management needs admin. */
export function requireRole(required: Role): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const held = c.get('apiKey').role as Role;
    if (!roleAllows(held, required)) {
      throw new CertflowError('FORBIDDEN', `this needs the ${required} role; the key has ${held}`);
    }
    await next();
  };
}

/** Guards by HTTP method: safe methods for every role, anything else for `writer` and up. */
export function rolesByMethod(writer: Role): MiddlewareHandler<AppEnv> {
  const read = requireRole('auditor');
  const write = requireRole(writer);
  return (c, next) => (['GET', 'HEAD', 'OPTIONS'].includes(c.req.method) ? read(c, next) : write(c, next));
}
