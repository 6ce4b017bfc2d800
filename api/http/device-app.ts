import type { HttpBindings } from '@hono/node-server';
import { Hono } from 'hono';
import { randomUUID } from 'node:crypto';
import { CertflowError } from '../../domain/errors';
import type { CertificateAuthenticator } from '../edge/first-connect';
import type { EdgeRotation } from '../edge/rotation';
import { authenticateDevice, rotationRoutes } from './device/rotation';
import { problemResponse, toProblem } from './problem';

/**
 * The device API over HTTPS with a client certificate (served on its own TLS port, since it
 * must ask for client certificates). `POST /device/v1/connect` is the HTTP twin of an MQTT
 * CONNECT: a known certificate is recognised, an unknown one from a registered JITP CA is
 * provisioned within this request. With `rotation`, the rotation protocol's HTTPS variant
 * (./device/rotation.ts) is served too.
 */
export function createDeviceApp(deps: {
  authenticateCertificate: CertificateAuthenticator;
  rotation?: EdgeRotation;
}) {
  const app = new Hono<{ Bindings: HttpBindings }>();
  app.post('/device/v1/connect', async (c) => {
    const auth = await authenticateDevice(c, deps.authenticateCertificate);
    if (auth instanceof Response) return auth;
    return c.json({ ...auth.device, provisioned: auth.provisioned }, auth.provisioned ? 201 : 200);
  });
  if (deps.rotation) {
    app.route(
      '/',
      rotationRoutes({ authenticateCertificate: deps.authenticateCertificate, rotation: deps.rotation }),
    );
  }
  app.notFound((c) =>
    problemResponse(
      c,
      toProblem(new CertflowError('NOT_FOUND', 'no such device endpoint'), c.req.path, randomUUID()),
    ),
  );
  return app;
}
