import { type ManufacturerCa, verificationCertificate } from './credentials';

/*
 * The few operator API calls the simulator makes to set itself up, exactly as an operator would:
 * register the manufacturer CA for JITP (with proof of possession) and create an issuing CA for
 * rotations. The caller supplies the transport, so tests mount the app without a port.
 */

/** One authenticated operator API call (JSON body), answering the raw Response. */
export type OperatorCall = (method: string, path: string, body?: unknown) => Promise<Response>;

export class OperatorApiError extends Error {
  override readonly name = 'OperatorApiError';
  constructor(
    readonly status: number,
    readonly code: string | undefined,
    message: string,
  ) {
    super(message);
  }
}

/** An OperatorCall over HTTP to `baseUrl` (e.g. `http://localhost:8080`) with a bearer API key. */
export function httpOperatorApi(baseUrl: string, apiKey: string): OperatorCall {
  const base = baseUrl.replace(/\/+$/, '');
  return (method, path, body) =>
    fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${apiKey}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
}

async function expectJson<T>(res: Response, expected: number, what: string): Promise<T> {
  const text = await res.text();
  if (res.status !== expected) {
    let code: string | undefined;
    let detail = text.slice(0, 500);
    try {
      const problem = JSON.parse(text) as { code?: string; detail?: string; title?: string };
      code = problem.code;
      detail = problem.detail ?? problem.title ?? detail;
    } catch {
      // not problem+json: keep the text
    }
    throw new OperatorApiError(
      res.status,
      code,
      `${what}: HTTP ${res.status} ${code ?? ''} ${detail}`.trim(),
    );
  }
  return JSON.parse(text) as T;
}

export interface JitpSettings {
  enabled: boolean;
  tags?: string[];
  productId?: string;
  cohortId?: string;
  deviceClassId?: string;
  descriptionTemplate?: string;
}

/** Registers the manufacturer CA in the key's tenant with JITP; answers the CA id. */
export async function registerManufacturerCa(
  call: OperatorCall,
  ca: ManufacturerCa,
  jitp: JitpSettings = { enabled: true },
): Promise<{ id: string }> {
  const { registrationCode } = await expectJson<{ registrationCode: string }>(
    await call('POST', '/api/cas/registration-code'),
    200,
    'registration code',
  );
  const created = await call('POST', '/api/cas', {
    caCertificate: ca.certPem,
    verificationCertificate: await verificationCertificate(ca, registrationCode),
    jitp,
  });
  return expectJson<{ id: string }>(created, 201, 'register manufacturer CA');
}

/** Generates an issuing CA (the platform keeps its key, encrypted) for the certificates rotations issue. */
export async function createIssuingCa(
  call: OperatorCall,
  name: string,
  validityDays = 3650,
): Promise<{ id: string; name: string }> {
  return expectJson<{ id: string; name: string }>(
    await call('POST', '/api/issuing-cas', { name, generate: { validityDays } }),
    201,
    'create issuing CA',
  );
}
