import type { Kysely } from 'kysely';
import { deviceNameFromCertificate, renderDescription, type CertificateFields } from '../domain/ca';
import type { ProvisionedDevice, ProvisionX509Input } from '../domain/device';
import { CertflowError } from '../domain/errors';
import type { PublicKeyCache } from '../pki/chain';
import { deviceCertificateFacts } from '../pki/device-certificate';
import { validateDeviceChain } from '../pki/device-chain';
import { getCa, listCas } from '../registry/cas';
import { getDeviceById, insertDevice } from '../registry/devices';
import type { Database } from '../registry/schema';
import { stamped } from './audit';
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

export interface ProvisionFromCertificateInput extends ProvisionX509Input {
  createdByWorkflow: string;
}

/** What the JITP step records in the workflow history: the chain decision and the device. */
export interface ProvisionedFromCertificate {
  /** Null when an earlier attempt of the step had already written the device. */
  validated: ValidatedDeviceCertificate | null;
  device: ProvisionedDevice;
}

/** Just-in-time provisioning: one idempotent activity (pure check; inserts keyed by device id). */
export function createJitpActivities({ db, keyCache, clockSkewSeconds }: JitpActivityDeps) {
  /**
   * The authoritative chain check, against the tenant's CAs as they are now. The edge has
   * checked too (to refuse garbage cheaply); this one is recorded in the workflow history.
   */
  async function validate(input: ProvisionX509Input): Promise<ValidatedDeviceCertificate> {
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
  }

  /**
   * Creates the device from its certificate under the CA's JITP settings: name (CN or the
   * CA's pattern), product, cohort, class, tags, description; stores the certificate as its
   * credential. One transaction; a retry returns the same device.
   */
  async function create(
    input: ProvisionFromCertificateInput,
    validated: ValidatedDeviceCertificate,
  ): Promise<ProvisionedDevice> {
    const ca = await getCa(db, input.tenantId, validated.caId);
    if (!ca) throw new CertflowError('JITP_UNKNOWN_CA', 'the issuing CA no longer exists');
    const settings = ca.jitp;
    const name = deviceNameFromCertificate(validated.fields, settings);
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
        ? renderDescription(settings.descriptionTemplate, validated.fields)
        : null,
      productId: settings.productId,
      cohortId: settings.cohortId,
      deviceClassId: settings.deviceClassId,
      tags: settings.tags,
      provisionState: 'provisioned',
      createdByWorkflow: input.createdByWorkflow,
      certificate: {
        issuerCaId: ca.id,
        serialHex: validated.serialHex,
        fingerprintSha256: validated.fingerprintSha256,
        subject: validated.subject,
        notBefore: validated.notBefore,
        notAfter: validated.notAfter,
        pem: input.leafPem,
      },
      audit: stamped({
        tenantId: input.tenantId,
        eventKey: `device.provisioned/${input.deviceId}/${validated.fingerprintSha256}`,
        type: 'device.provisioned',
        actor: `device:${validated.fingerprintSha256}`,
        deviceId: input.deviceId,
        caId: validated.caId,
        data: {
          via: input.via,
          name,
          certificate: {
            fingerprintSha256: validated.fingerprintSha256,
            serialHex: validated.serialHex,
            notAfter: validated.notAfter,
          },
          chain: validated.chain,
        },
      }),
    });
    return { tenantId: row.tenant_id, deviceId: row.id, deviceName: row.name };
  }

  return {
    /**
     * The whole of JIT provisioning as one step (one local activity, one marker in the
     * history, two workflow activations fewer than three steps): check the chain, then create
     * the device with its certificate and its audit event in one transaction. A retry after
     * that transaction returns the device as written, without checking the chain again (the
     * CA may have changed since; the attempt that wrote it checked it): `validated` is null then.
     */
    async provisionDeviceFromCertificate(
      input: ProvisionFromCertificateInput,
    ): Promise<ProvisionedFromCertificate> {
      return permanentOnDomainError(async () => {
        const written = await getDeviceById(db, input.tenantId, input.deviceId);
        if (written?.created_by_workflow === input.createdByWorkflow) {
          const device = { tenantId: written.tenant_id, deviceId: written.id, deviceName: written.name };
          return { validated: null, device };
        }
        const validated = await validate(input);
        return { validated, device: await create(input, validated) };
      });
    },
  };
}

export type JitpActivities = ReturnType<typeof createJitpActivities>;
