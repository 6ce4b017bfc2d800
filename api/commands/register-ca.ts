import type { Kysely } from 'kysely';
import { type CaStatus, defaultJitpSettings, type JitpSettings, namePatternProblem } from '../../domain/ca';
import { CertflowError } from '../../domain/errors';
import { checkCaCertificate, checkVerificationCertificate } from '../../pki/ca-registration';
import { getCatalogItem } from '../../registry/catalog';
import { type CaView, currentRegistrationCode, getCa, insertCa, updateCa } from '../../registry/cas';
import type { Database } from '../../registry/schema';

export interface RegisterCaRequest {
  caCertificate: string;
  verificationCertificate: string;
  status?: 'active' | 'inactive';
  jitp?: JitpSettings;
}

/**
 * Registers a CA with proof of possession: the CA must pass the registration checks and the
 * verification certificate must be signed by it with the tenant's current registration code
 * as CN. JITP references must exist in the tenant. Nothing is written unless all pass.
 */
export async function registerCa(
  db: Kysely<Database>,
  tenantId: string,
  req: RegisterCaRequest,
  now: Date,
): Promise<CaView> {
  const code = await currentRegistrationCode(db, tenantId);
  if (!code) throw new CertflowError('CA_REGISTRATION_CODE_MISSING', 'POST /api/cas/registration-code first');
  const { cert, facts } = checkCaCertificate(req.caCertificate, now);
  checkVerificationCertificate(cert, req.verificationCertificate, code);
  const jitp = req.jitp ?? defaultJitpSettings;
  await assertJitpSettings(db, tenantId, jitp);
  return insertCa(db, {
    tenantId,
    subject: facts.subject,
    serialHex: facts.serialHex,
    fingerprintSha256: facts.fingerprintSha256,
    pem: facts.pem,
    notBefore: facts.notBefore,
    notAfter: facts.notAfter,
    status: req.status ?? 'active',
    jitp,
  });
}

/** Changes status and/or JITP settings; JITP fields not given keep their current values. */
export async function changeCa(
  db: Kysely<Database>,
  tenantId: string,
  id: string,
  change: { status?: CaStatus; jitp?: Partial<JitpSettings> },
): Promise<CaView> {
  const current = await getCa(db, tenantId, id);
  if (!current) throw new CertflowError('CA_NOT_FOUND', 'no such CA in this tenant');
  const jitp = change.jitp ? { ...current.jitp, ...stripUndefined(change.jitp) } : undefined;
  if (jitp) await assertJitpSettings(db, tenantId, jitp);
  return updateCa(db, tenantId, id, { status: change.status, jitp });
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

async function assertJitpSettings(db: Kysely<Database>, tenantId: string, jitp: JitpSettings): Promise<void> {
  const refs = [
    ['products', jitp.productId, 'jitp.productId'],
    ['cohorts', jitp.cohortId, 'jitp.cohortId'],
    ['device_classes', jitp.deviceClassId, 'jitp.deviceClassId'],
  ] as const;
  for (const [table, id, field] of refs) {
    if (id && !(await getCatalogItem(db, table, tenantId, id))) {
      throw new CertflowError('REFERENCE_NOT_FOUND', `${field} ${id} does not exist in this tenant`, [
        { field, message: 'does not exist in this tenant' },
      ]);
    }
  }
  const why = jitp.deviceNamePattern ? namePatternProblem(jitp.deviceNamePattern) : undefined;
  if (why) {
    throw new CertflowError('VALIDATION_FAILED', `jitp.deviceNamePattern ${why}`, [
      { field: 'jitp.deviceNamePattern', message: why },
    ]);
  }
}
