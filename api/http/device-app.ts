import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { randomUUID } from 'node:crypto';
import { CertflowError } from '../../domain/errors';
import type { CertificateAuthenticator } from '../edge/first-connect';
import { presentedChain } from '../edge/peer-chain';
import { problemResponse, toProblem } from './problem';

/**
 * The device API over HTTPS with a client certificate (served on its own TLS port, since it
 * must ask for client certificates). `POST /device/v1/connect` is the HTTP twin of an MQTT
 * CONNECT: a known certificate is recognised, an unknown one from a registered JITP CA is
 * provisioned within this request.
 */
export function createDeviceApp(deps: { authenticateCertificate: CertificateAuthenticator }) {
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.post('/device/v1/connect', async (c) => {
    const chain = presentedChain(c.env.incoming.socket);
    const outcome = await deps.authenticateCertificate(chain);
    if (outcome.ok) {
      return c.json({ ...outcome.device, provisioned: outcome.provisioned }, outcome.provisioned ? 201 : 200);
    }
    const problem = toProblem(new CertflowError(outcome.code, outcome.detail), c.req.path, randomUUID());
    if (outcome.retryable) {
      const seconds = Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1_000) / 1_000));
      c.header('retry-after', String(seconds));
    }
    return problemResponse(c, problem);
  });
  app.notFound((c) =>
    problemResponse(
      c,
      toProblem(new CertflowError('NOT_FOUND', 'no such device endpoint'), c.req.path, randomUUID()),
    ),
  );
  return app;
}
