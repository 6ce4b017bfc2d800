import { createVerificationCert, type TestCa } from '../../test/support/device-pki';
import type { Certflow } from './certflow';

/** An operator API call with the admin key; throws on anything but the expected status. */
export async function api<T>(cf: Certflow, method: string, path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${cf.api}${path}`, {
    method,
    headers: { authorization: `Bearer ${cf.adminKey}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

/** Registers the factory root CA with JITP enabled, with proof of possession (as an operator would). */
export async function registerJitpCa(cf: Certflow, ca: TestCa): Promise<string> {
  const { registrationCode } = await api<{ registrationCode: string }>(
    cf,
    'POST',
    '/api/cas/registration-code',
  );
  const created = await api<{ id: string }>(cf, 'POST', '/api/cas', {
    caCertificate: ca.certPem,
    verificationCertificate: await createVerificationCert(ca, registrationCode),
    jitp: { enabled: true, tags: ['bench'], descriptionTemplate: '{{o}} device {{cn}}' },
  });
  return created.id;
}

export interface Profile {
  key: string;
  secret: string;
}

/**
 * A device profile that allows creating new devices (the default strategy), with its own
 * rate limit (default 600/min) raised out of the benchmark's way.
 */
export async function createProfile(cf: Certflow, name: string): Promise<Profile> {
  const created = await api<{ profile: { provisionKey: string }; provisionSecret: string }>(
    cf,
    'POST',
    '/api/device-profiles',
    { name, ratePerMinute: 1_000_000 },
  );
  return { key: created.profile.provisionKey, secret: created.provisionSecret };
}
