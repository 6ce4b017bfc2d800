import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { CertflowError } from '../domain/errors';
import type { RotationIssued } from '../domain/rotation';
import { checkCsr } from '../pki/issuing/csr';
import type { Issuer } from '../pki/issuing/issuer';
import { loadIssuer } from '../registry/issuing-cas';
import { assertSlotHeld, getCertificateById, storeRotationCertificate } from '../registry/rotation-issue';
import { beginRotation } from '../registry/rotation-begin';
import { completeRotation, endRotation } from '../registry/rotation-steps';
import type { Database } from '../registry/schema';
import { currentWorkflow } from './context';
import { permanentOnDomainError } from './failures';
import type { RotationActivities } from './rotation-contract';

export interface RotationActivityDeps {
  db: Kysely<Database>;
  /** Key encryption key of issuing CA private keys; without it CSRs cannot be signed. */
  kek?: Parameters<typeof loadIssuer>[3];
  deviceCertificateDays: number;
}

/**
 * One device's make-before-break rotation, step by step (see registry/rotation-steps.ts for
 * the transactions). Every step is idempotent on the rotation id; domain errors are permanent.
 */
export function createRotationActivities({
  db,
  kek,
  deviceCertificateDays,
}: RotationActivityDeps): RotationActivities {
  async function issuer(tenantId: string, issuingCaId: string): Promise<Issuer> {
    if (!kek) {
      throw new CertflowError(
        'ISSUING_KEY_UNAVAILABLE',
        'CSR signing is not configured (CA_KEY_ENCRYPTION_KEY)',
      );
    }
    return loadIssuer(db, tenantId, issuingCaId, kek);
  }

  return {
    async beginDeviceRotation(input) {
      return permanentOnDomainError(() => beginRotation(db, input, currentWorkflow()));
    },

    async issueRotationCertificate(input): Promise<RotationIssued> {
      return permanentOnDomainError(async () => {
        const csr = checkCsr(input.csrPem);
        // Same rotation + same key → same certificate id: a retry finds it instead of signing again.
        const keyHash = createHash('sha256').update(csr.publicKeySpkiDer).digest('hex').slice(0, 32);
        const certificateId = `${input.deviceId}/rotation/${input.rotationId}/${keyHash}`;
        const ca = await issuer(input.tenantId, input.issuingCaId);
        const answer = (row: {
          certificate_pem: string;
          fingerprint_sha256: string;
          serial_hex: string;
          not_after: string;
        }) => ({
          certificatePem: row.certificate_pem,
          chainPem: row.certificate_pem + ca.certificatePem + ca.chainPem,
          fingerprintSha256: row.fingerprint_sha256,
          serialHex: row.serial_hex,
          notAfter: row.not_after,
        });
        const stored = await getCertificateById(db, certificateId);
        if (stored) {
          if (stored.status !== 'active') {
            throw new CertflowError(
              'ROTATION_WRONG_STATE',
              'the certificate for this key was already revoked; send a CSR for a fresh key',
            );
          }
          return answer(stored);
        }
        await assertSlotHeld(db, input.tenantId, input.deviceId, input.rotationId);
        const now = Date.now();
        const issued = await ca.signDeviceCertificate({
          publicKeySpkiDer: csr.publicKeySpkiDer,
          subjectCn: input.deviceName,
          notBefore: new Date(now - 5 * 60_000),
          notAfter: new Date(now + deviceCertificateDays * 86_400_000),
        });
        const row = await storeRotationCertificate(
          db,
          { ...input, certificateId, issued },
          currentWorkflow(),
        );
        return answer(row);
      });
    },

    async completeDeviceRotation(input) {
      return permanentOnDomainError(() => completeRotation(db, input, currentWorkflow()));
    },

    async endDeviceRotation(input) {
      return permanentOnDomainError(() => endRotation(db, input, currentWorkflow()));
    },
  };
}
