import type { Kysely } from 'kysely';
import { ProvisionError, type ProvisionErrorCode } from '../domain/provisioning';
import { checkCsr } from '../pki/issuing/csr';
import { CertflowError, type ErrorCode } from '../domain/errors';
import { insertCredential } from '../registry/claims';
import { isoNow } from '../registry/ids';
import { loadIssuer } from '../registry/issuing-cas';
import type { Database } from '../registry/schema';
import { permanentOnDomainError } from './failures';

export interface IssuanceActivityDeps {
  db: Kysely<Database>;
  /** Key encryption key for issuing CA private keys; undefined: CSR signing is unavailable. */
  kek?: Parameters<typeof loadIssuer>[3];
  /** Lifetime of issued device certificates. */
  deviceCertificateDays: number;
}

export interface IssuedForDevice {
  certificateChainPem: string;
  serialHex: string;
  fingerprintSha256: string;
  notAfter: string;
}

/**
 * Signing device CSRs with a tenant's issuing CA. Idempotent on the claiming run: the
 * certificate row's id is derived from it, so a retry returns the stored certificate instead
 * of issuing a second one.
 */
export function createIssuanceActivities({ db, kek, deviceCertificateDays }: IssuanceActivityDeps) {
  return {
    async issueCertificateFromCsr(input: {
      tenantId: string;
      deviceId: string;
      deviceName: string;
      issuingCaId: string | null;
      csrPem: string;
      runId: string;
    }): Promise<IssuedForDevice> {
      return permanentOnDomainError(async () => {
        const certificateId = `${input.deviceId}/${input.runId}`;
        const done = await db
          .selectFrom('certificates')
          .selectAll()
          .where('id', '=', certificateId)
          .executeTakeFirst();
        if (!input.issuingCaId)
          throw new ProvisionError('PROVISION_NO_ISSUING_CA', 'the profile has no issuing CA');
        if (!kek)
          throw new ProvisionError(
            'PROVISION_NO_ISSUING_CA',
            'CSR signing is not configured (CA_KEY_ENCRYPTION_KEY)',
          );
        const issuer = await asProvisionError(() =>
          loadIssuer(db, input.tenantId, input.issuingCaId ?? '', kek),
        );
        const chain = (pem: string) => pem + issuer.certificatePem + issuer.chainPem;
        if (done) {
          return {
            certificateChainPem: chain(done.certificate_pem),
            serialHex: done.serial_hex,
            fingerprintSha256: done.fingerprint_sha256,
            notAfter: done.not_after,
          };
        }
        const csr = await asProvisionError(() => Promise.resolve(checkCsr(input.csrPem)));
        const now = new Date();
        const issued = await asProvisionError(() =>
          issuer.signDeviceCertificate({
            publicKeySpkiDer: csr.publicKeySpkiDer,
            subjectCn: input.deviceName,
            notBefore: new Date(now.getTime() - 5 * 60_000),
            notAfter: new Date(now.getTime() + deviceCertificateDays * 86_400_000),
          }),
        );
        await db.transaction().execute(async (trx) => {
          await trx
            .insertInto('certificates')
            .values({
              id: certificateId,
              tenant_id: input.tenantId,
              device_id: input.deviceId,
              issuer_ca_id: null,
              // Rotation renews under the CA that signed the current certificate.
              issuing_ca_id: input.issuingCaId,
              serial_hex: issued.serialHex,
              fingerprint_sha256: issued.fingerprintSha256,
              subject: `CN=${input.deviceName}`,
              not_before: issued.notBefore,
              not_after: issued.notAfter,
              certificate_pem: issued.certificatePem,
              status: 'active',
              created_at: isoNow(),
              revoked_at: null,
              revocation_reason: null,
            })
            .execute();
          const device = { id: input.deviceId, tenant_id: input.tenantId };
          await insertCredential(
            trx,
            device,
            certificateId,
            {
              type: 'X509_CERTIFICATE',
              lookupKey: issued.fingerprintSha256,
              certificateId,
            },
            isoNow(),
          );
        });
        return {
          certificateChainPem: chain(issued.certificatePem),
          serialHex: issued.serialHex,
          fingerprintSha256: issued.fingerprintSha256,
          notAfter: issued.notAfter,
        };
      });
    },
  };
}

const ISSUING_TO_PROVISION: Partial<Record<ErrorCode, ProvisionErrorCode>> = {
  CSR_INVALID: 'PROVISION_CSR_INVALID',
  CSR_REJECTED: 'PROVISION_CSR_REJECTED',
  ISSUING_CA_NOT_FOUND: 'PROVISION_NO_ISSUING_CA',
  ISSUING_CA_INACTIVE: 'PROVISION_NO_ISSUING_CA',
  ISSUING_CA_INVALID: 'PROVISION_NO_ISSUING_CA',
  CA_EXPIRED: 'PROVISION_NO_ISSUING_CA',
  ISSUING_KEY_UNAVAILABLE: 'PROVISION_UNAVAILABLE',
  KEK_INVALID: 'PROVISION_UNAVAILABLE',
  VALIDATION_FAILED: 'PROVISION_BAD_REQUEST',
};

/** Issuing errors become provisioning failures with stable codes (all permanent). */
async function asProvisionError<T>(body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } catch (err) {
    if (err instanceof CertflowError) {
      const code = ISSUING_TO_PROVISION[err.code];
      if (code) throw new ProvisionError(code, err.message);
    }
    throw err;
  }
}

export type IssuanceActivities = ReturnType<typeof createIssuanceActivities>;
