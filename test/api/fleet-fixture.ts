import { expect } from 'vitest';
import { webcrypto, x509 } from '../../pki/crypto';
import type { TestPlatform } from '../support/platform';

/** A device holding an active certificate signed by the fleet's issuing CA. */
export interface FleetDevice {
  id: string;
  name: string;
  fingerprint: string;
}

export interface Fleet {
  issuingCaId: string;
  devices: FleetDevice[];
}

async function csrFor(cn: string): Promise<string> {
  const keys = await webcrypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false, [
    'sign',
    'verify',
  ]);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: `CN=${cn}`,
    keys,
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' },
  });
  return csr.toString('pem');
}

/**
 * `count` devices with certificates, through the product's own path: an issuing CA, a profile
 * that signs CSRs, and one key/secret provisioning per device. Pre-provisioned first when
 * `device` fields (product, tags…) are given, so selections can find them.
 */
export async function provisionFleet(
  p: TestPlatform,
  key: string,
  prefix: string,
  count: number,
  device: Record<string, unknown> = {},
): Promise<Fleet> {
  const ca = await p.call(key, 'POST', '/api/issuing-cas', {
    name: `${prefix}-issuing`,
    generate: { validityDays: 3650 },
  });
  expect(ca.status).toBe(201);
  const issuingCaId = ((await ca.json()) as { id: string }).id;
  const prof = await p.call(key, 'POST', '/api/device-profiles', {
    name: `${prefix}-profile`,
    allowedCredentialTypes: ['CSR'],
    issuingCaId,
    ...(Object.keys(device).length > 0 ? { strategy: 'CHECK_PRE_PROVISIONED_DEVICES' } : {}),
  });
  expect(prof.status).toBe(201);
  const created = (await prof.json()) as {
    profile: { id: string; provisionKey: string };
    provisionSecret: string;
  };

  const devices: FleetDevice[] = [];
  for (let i = 0; i < count; i++) {
    const name = `${prefix}-${i}`;
    if (Object.keys(device).length > 0) {
      const made = await p.call(key, 'POST', '/api/devices', {
        name,
        profileId: created.profile.id,
        ...device,
      });
      expect(made.status).toBe(201);
    }
    const res = await p.call(undefined, 'POST', '/api/v1/provision', {
      deviceName: name,
      provisionDeviceKey: created.profile.provisionKey,
      provisionDeviceSecret: created.provisionSecret,
      credentialsType: 'CSR',
      csr: await csrFor(name),
    });
    const answer = (await res.json()) as { status: string; deviceId: string };
    expect(answer.status).toBe('SUCCESS');
    const cert = await p.registry.db
      .selectFrom('certificates')
      .select('fingerprint_sha256')
      .where('device_id', '=', answer.deviceId)
      .executeTakeFirstOrThrow();
    devices.push({ id: answer.deviceId, name, fingerprint: cert.fingerprint_sha256 });
  }
  return { issuingCaId, devices };
}

/** Row counts of every table a run or a revocation writes. */
export async function rotationTableCounts(p: TestPlatform): Promise<Record<string, number>> {
  const tables = [
    'rotation_runs',
    'rotation_items',
    'device_rotations',
    'edge_events',
    'certificates',
    'device_credentials',
    'audit_events',
  ] as const;
  const out: Record<string, number> = {};
  for (const t of tables) {
    const row = await p.registry.db
      .selectFrom(t)
      .select((eb) => eb.fn.countAll<number | string>().as('n'))
      .executeTakeFirstOrThrow();
    out[t] = Number(row.n);
  }
  return out;
}
