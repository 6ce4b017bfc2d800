import type { Kysely } from 'kysely';
import { deviceNameFromCertificate, renderDescription, type CertificateFields } from '../domain/ca';
import type { ProvisionedDevice } from '../domain/device';
import { CertflowError } from '../domain/errors';
import type { PublicKeyCache } from '../pki/chain';
import { deviceCertificateFacts } from '../pki/device-certificate';
import { validateDeviceChain } from '../pki/device-chain';
import { getCa, listCas } from '../registry/cas';
import { insertDevice } from '../registry/devices';
import type { Database } from '../registry/schema';
import { permanentOnDomainError } from './failures';

export interface JitpActivityDeps {
  db: Kysely<Database>;
  keyCache: PublicKeyCache;
  clockSkewSeconds: number;
}

export interface ValidatedDeviceCertificate {
  caId: string;
  fingerprintSha256: string;
  serialHex: string;
  subject: string;
  notBefore: string;
  notAfter: string;
  fields: CertificateFields;
  /** Subjects leaf → anchor, for the history. */
  chain: string[];
  validatedAt: string;
}

/** Just-in-time provisioning activities; both idempotent (pure check; insert keyed by device id). */
export function createJitpActivities({ db, keyCache, clockSkewSeconds }: JitpActivityDeps) {
  return {
    /**
     * The authoritative chain check, against the tenant's CAs as they are now. The edge has
     * checked too (to refuse garbage cheaply); this one is recorded in the workflow history.
     */
    async validateDeviceCertificate(input: {
      tenantId: string;
      leafPem: string;
      intermediatePems: string[];
    }): Promise<ValidatedDeviceCertificate> {
      return permanentOnDomainError(async () => {
        const now = new Date();
        const cas = await listCas(db, input.tenantId);
        const anchors = cas
          .filter((ca) => ca.status !== 'revoked')
          .map((ca) => ({ ...ca, jitpEnabled: ca.jitp.enabled }));
        const { ca, chain } = validateDeviceChain(input.leafPem, input.intermediatePems, anchors, {
          now,
          clockSkewSeconds,
          keyCache,
        });
        const facts = deviceCertificateFacts(input.leafPem);
        return {
          caId: ca.id,
          fingerprintSha256: facts.fingerprintSha256,
          serialHex: facts.fields.serialHex,
          subject: facts.subject,
          notBefore: facts.notBefore,
          notAfter: facts.notAfter,
          fields: facts.fields,
          chain: chain.map((c) => c.subject),
          validatedAt: now.toISOString(),
        };
      });
    },

    /**
     * Creates the device from its certificate under the CA's JITP settings: name (CN or the
     * CA's pattern), product, cohort, class, tags, description; stores the certificate as its
     * credential. One transaction; a retry returns the same device.
     */
    async createProvisionedDevice(input: {
      tenantId: string;
      deviceId: string;
      leafPem: string;
      validated: ValidatedDeviceCertificate;
      createdByWorkflow: string;
    }): Promise<ProvisionedDevice> {
      return permanentOnDomainError(async () => {
        const ca = await getCa(db, input.tenantId, input.validated.caId);
        if (!ca) throw new CertflowError('JITP_UNKNOWN_CA', 'the issuing CA no longer exists');
        const settings = ca.jitp;
        const name = deviceNameFromCertificate(input.validated.fields, settings);
        if (!name)
          throw new CertflowError(
            'JITP_NO_DEVICE_NAME',
            'the certificate yields no device name under the CA’s rule',
          );
        const row = await insertDevice(db, {
          id: input.deviceId,
          tenantId: input.tenantId,
          name,
          label: settings.descriptionTemplate
            ? renderDescription(settings.descriptionTemplate, input.validated.fields)
            : null,
          productId: settings.productId,
          cohortId: settings.cohortId,
          deviceClassId: settings.deviceClassId,
          tags: settings.tags,
          provisionState: 'provisioned',
          createdByWorkflow: input.createdByWorkflow,
          certificate: {
            issuerCaId: ca.id,
            serialHex: input.validated.serialHex,
            fingerprintSha256: input.validated.fingerprintSha256,
            subject: input.validated.subject,
            notBefore: input.validated.notBefore,
            notAfter: input.validated.notAfter,
            pem: input.leafPem,
          },
        });
        return { tenantId: row.tenant_id, deviceId: row.id, deviceName: row.name };
      });
    },
  };
}

export type JitpActivities = ReturnType<typeof createJitpActivities>;
