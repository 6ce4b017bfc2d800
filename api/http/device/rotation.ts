import type { HttpBindings } from '@hono/node-server';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { randomUUID } from 'node:crypto';
import type { ProvisionedDevice } from '../../../domain/device';
import { CertflowError, errorCatalogue, isErrorCode } from '../../../domain/errors';
import type { RotationResponseMessage } from '../../../domain/rotation';
import type { CertificateAuthenticator } from '../../edge/first-connect';
import { presentedCertificates } from '../../edge/peer-chain';
import type { EdgeRotation } from '../../edge/rotation';
import { type Problem, problemResponse, problemType, toProblem } from '../problem';

type Env = { Bindings: HttpBindings };

/** A CSR is a few KiB; anything much larger is not one. */
const MAX_CSR_BYTES = 16 * 1024;

/**
 * The device's certificate, as on every device endpoint: the current certificate (mTLS) is
 * the credential. Using a rotated-in certificate here for the first time confirms its rotation.
 */
export async function authenticateDevice(
  c: Context<Env>,
  authenticateCertificate: CertificateAuthenticator,
): Promise<{ device: ProvisionedDevice; provisioned: boolean; fingerprintSha256: string } | Response> {
  const outcome = await authenticateCertificate(presentedCertificates(c.env.incoming.socket));
  if (outcome.ok) return outcome;
  const problem = toProblem(new CertflowError(outcome.code, outcome.detail), c.req.path, randomUUID());
  if (outcome.retryable) {
    const seconds = Math.max(1, Math.ceil((outcome.retryAfterMs ?? 1_000) / 1_000));
    c.header('retry-after', String(seconds));
  }
  return problemResponse(c, problem);
}

/**
 * The HTTPS variant of the rotation protocol (docs/rotation.md): poll for a request, answer it
 * with a CSR, or ask for a new certificate at any time in the spirit of EST simplereenroll
 * (RFC 7030 §4.2.2). The device confirms by its next request or connection with the new
 * certificate.
 */
export function rotationRoutes(deps: {
  authenticateCertificate: CertificateAuthenticator;
  rotation: EdgeRotation;
}) {
  const app = new Hono<Env>();
  const limit = bodyLimit({
    maxSize: MAX_CSR_BYTES,
    onError: (c) =>
      problemResponse(
        c,
        toProblem(
          new CertflowError('PAYLOAD_TOO_LARGE', `the request body exceeds ${MAX_CSR_BYTES} bytes`),
          c.req.path,
          randomUUID(),
        ),
      ),
  });

  app.get('/device/v1/rotation', async (c) => {
    const auth = await authenticateDevice(c, deps.authenticateCertificate);
    if (auth instanceof Response) return auth;
    const request = await deps.rotation.pendingRequest(auth.device.deviceId, auth.fingerprintSha256);
    return request ? c.json(request, 200) : c.body(null, 204);
  });

  app.post('/device/v1/rotation/csr', limit, async (c) => {
    const auth = await authenticateDevice(c, deps.authenticateCertificate);
    if (auth instanceof Response) return auth;
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text()) as unknown;
    } catch {
      body = undefined;
    }
    const answer = await deps.rotation.submitCsr(auth.device, auth.fingerprintSha256, body);
    if (answer.status === 'SUCCESS') return c.json(answer, 200);
    const problem = failureProblem(answer, c.req.path);
    return c.body(JSON.stringify({ ...problem, ...answer }), problem.status as 400, {
      'content-type': 'application/problem+json',
    });
  });

  app.post('/device/v1/simplereenroll', limit, async (c) => {
    const auth = await authenticateDevice(c, deps.authenticateCertificate);
    if (auth instanceof Response) return auth;
    const csrPem = csrFromBody(await c.req.text(), c.req.header('content-type'));
    if (!csrPem) {
      const err = new CertflowError(
        'VALIDATION_FAILED',
        'the body must be a PKCS#10 CSR: PEM, or base64 DER with Content-Type application/pkcs10',
      );
      return problemResponse(c, toProblem(err, c.req.path, randomUUID()));
    }
    const answer = await deps.rotation.reenroll(auth.device, auth.fingerprintSha256, csrPem);
    if (answer.status === 'FAILURE') return problemResponse(c, failureProblem(answer, c.req.path));
    c.header('x-certflow-rotation-id', answer.rotationId);
    return c.body(answer.certificateChain, 200, { 'content-type': 'application/pem-certificate-chain' });
  });

  return app;
}

/**
 * The CSR as PEM: PEM as sent, or base64 DER (EST's encoding, `application/pkcs10`) wrapped
 * into PEM. Undefined when the body is neither; the workflow checks the CSR itself.
 */
export function csrFromBody(body: string, contentType: string | undefined): string | undefined {
  const text = body.trim();
  if (!text) return undefined;
  if (text.includes('-----BEGIN')) return text.endsWith('\n') ? text : `${text}\n`;
  const type = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  const base64 = text.replace(/\s+/g, '');
  if (type !== 'application/pkcs10' || !/^[A-Za-z0-9+/]+={0,2}$/.test(base64)) return undefined;
  const lines = base64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN CERTIFICATE REQUEST-----\n${lines.join('\n')}\n-----END CERTIFICATE REQUEST-----\n`;
}

/** A refused CSR as problem details: the catalogue's status for known codes, 400 otherwise. */
function failureProblem(
  answer: Extract<RotationResponseMessage, { status: 'FAILURE' }>,
  path: string,
): Problem {
  if (isErrorCode(answer.errorCode)) {
    return toProblem(new CertflowError(answer.errorCode, answer.errorMsg), path, randomUUID());
  }
  const entry = errorCatalogue.VALIDATION_FAILED;
  return {
    type: problemType('VALIDATION_FAILED'),
    code: 'VALIDATION_FAILED',
    title: entry.title,
    status: entry.status,
    detail: `${answer.errorCode}: ${answer.errorMsg}`,
    instance: path,
    requestId: randomUUID(),
  };
}
