/**
 * Claim provisioning with a profile's provision key and secret, on ThingsBoard's wire format
 * exactly (so existing device code works unchanged), plus certflow's `deviceId`, `errorCode`
 * and the `CSR` credential type. Pure: parsing and the response shapes.
 */
import type { AuditEventType } from './audit';
import { deviceNameProblem } from './device';

export const credentialTypes = ['ACCESS_TOKEN', 'MQTT_BASIC', 'X509_CERTIFICATE', 'CSR'] as const;
export type CredentialType = (typeof credentialTypes)[number];

export const provisionStrategies = ['ALLOW_CREATE_NEW_DEVICES', 'CHECK_PRE_PROVISIONED_DEVICES'] as const;
export type ProvisionStrategy = (typeof provisionStrategies)[number];

/** Stable provisioning error codes, sent as `errorCode` next to ThingsBoard's `errorMsg`. */
export const provisionErrorCodes = {
  PROVISION_BAD_REQUEST: 'FAILURE',
  PROVISION_BAD_KEY_OR_SECRET: 'NOT_FOUND',
  PROVISION_DEVICE_EXISTS: 'FAILURE',
  PROVISION_NOT_PRE_PROVISIONED: 'NOT_FOUND',
  PROVISION_ALREADY_PROVISIONED: 'FAILURE',
  PROVISION_CREDENTIAL_TYPE_NOT_ALLOWED: 'FAILURE',
  PROVISION_CREDENTIAL_TAKEN: 'FAILURE',
  PROVISION_CSR_INVALID: 'FAILURE',
  PROVISION_CSR_REJECTED: 'FAILURE',
  PROVISION_NO_ISSUING_CA: 'FAILURE',
  PROVISION_RATE_LIMITED: 'FAILURE',
  PROVISION_UNAVAILABLE: 'FAILURE',
} as const satisfies Record<string, 'FAILURE' | 'NOT_FOUND'>;
export type ProvisionErrorCode = keyof typeof provisionErrorCodes;

/** The request as a device sends it (ThingsBoard field names). */
export interface ProvisionRequestWire {
  deviceName?: string;
  provisionDeviceKey: string;
  provisionDeviceSecret: string;
  credentialsType?: CredentialType;
  token?: string;
  clientId?: string;
  username?: string;
  password?: string;
  hash?: string;
  csr?: string;
}

export type CredentialsValue =
  string | { clientId: string | null; userName: string | null; password: string | null };

export type ProvisionResponseWire =
  | {
      status: 'SUCCESS';
      credentialsType: CredentialType;
      credentialsValue: CredentialsValue;
      deviceId: string;
    }
  | { status: 'NOT_FOUND' | 'FAILURE'; errorMsg: string; errorCode: ProvisionErrorCode };

export class ProvisionError extends Error {
  override readonly name = 'ProvisionError';
  constructor(
    readonly code: ProvisionErrorCode,
    message: string,
  ) {
    super(message);
  }
}

export function failure(code: ProvisionErrorCode, errorMsg: string): ProvisionResponseWire {
  return { status: provisionErrorCodes[code], errorMsg, errorCode: code };
}

const MAX_FIELD = 256;

function optionalString(body: Record<string, unknown>, field: string, max = MAX_FIELD): string | undefined {
  const value = body[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string')
    throw new ProvisionError('PROVISION_BAD_REQUEST', `${field} must be a string`);
  if (value.length > max)
    throw new ProvisionError('PROVISION_BAD_REQUEST', `${field} is longer than ${max} characters`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000]/.test(value)) throw new ProvisionError('PROVISION_BAD_REQUEST', `${field} contains NUL`);
  return value;
}

/**
 * Parses a device's provision request. Throws a ProvisionError naming the bad field; the
 * secret is never echoed back.
 */
export function parseProvisionRequest(body: unknown): ProvisionRequestWire {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new ProvisionError('PROVISION_BAD_REQUEST', 'the request must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const provisionDeviceKey = optionalString(b, 'provisionDeviceKey');
  const provisionDeviceSecret = optionalString(b, 'provisionDeviceSecret');
  if (!provisionDeviceKey || !provisionDeviceSecret) {
    throw new ProvisionError(
      'PROVISION_BAD_REQUEST',
      'provisionDeviceKey and provisionDeviceSecret are required',
    );
  }
  const deviceName = optionalString(b, 'deviceName');
  if (deviceName !== undefined) {
    const why = deviceNameProblem(deviceName);
    if (why) throw new ProvisionError('PROVISION_BAD_REQUEST', `deviceName ${why}`);
  }
  const type = optionalString(b, 'credentialsType');
  if (type !== undefined && !(credentialTypes as readonly string[]).includes(type)) {
    throw new ProvisionError(
      'PROVISION_BAD_REQUEST',
      `credentialsType must be one of ${credentialTypes.join(', ')}`,
    );
  }
  const req: ProvisionRequestWire = {
    provisionDeviceKey,
    provisionDeviceSecret,
    ...(deviceName === undefined ? {} : { deviceName }),
    ...(type === undefined ? {} : { credentialsType: type as CredentialType }),
  };
  for (const field of ['token', 'clientId', 'username', 'password'] as const) {
    const v = optionalString(b, field);
    if (v !== undefined) req[field] = v;
  }
  const hash = optionalString(b, 'hash', 16 * 1024);
  if (hash !== undefined) req.hash = hash;
  const csr = optionalString(b, 'csr', 16 * 1024);
  if (csr !== undefined) req.csr = csr;
  return req;
}

/** What the edge hands the claim workflow: secrets already hashed, never in clear. */
export interface ClaimWorkflowInput {
  tenantId: string;
  profile: {
    id: string;
    strategy: ProvisionStrategy;
    allowReprovision: boolean;
    deviceClassId: string | null;
    issuingCaId: string | null;
  };
  newDeviceId: string;
  deviceName: string;
  credential:
    | {
        type: 'ACCESS_TOKEN' | 'MQTT_BASIC' | 'X509_CERTIFICATE';
        lookupKey: string;
        secretHash: string | null;
      }
    | { type: 'CSR'; csrPem: string };
  transport: string;
}

export interface ClaimWorkflowResult {
  deviceId: string;
  deviceName: string;
  created: boolean;
  /** For CSR claims: the issued certificate followed by its chain (PEM). */
  certificateChainPem?: string;
}

/** What a claim did to the registry (registry/claims.ts `ClaimResult`). */
export interface ClaimOutcome {
  deviceId: string;
  deviceName: string;
  created: boolean;
  /** Credentials revoked because the device was provisioned again (factory reset). */
  revokedCredentials: number;
}

/**
 * The `device.provisioned` audit event of a claim, keyed by the claiming run. The claim step
 * appends it itself, except for CSR claims, whose workflow appends it once the certificate is
 * issued (then with the certificate).
 */
export function claimAuditEvent(
  input: ClaimWorkflowInput,
  claim: ClaimOutcome,
  runId: string,
  certificate?: { serialHex: string; fingerprintSha256: string; notAfter: string },
): {
  tenantId: string;
  eventKey: string;
  type: AuditEventType;
  actor: string;
  deviceId: string;
  data: Record<string, unknown>;
} {
  return {
    tenantId: input.tenantId,
    eventKey: `device.provisioned/${claim.deviceId}/${runId}`,
    type: 'device.provisioned',
    actor: `profile:${input.profile.id}`,
    deviceId: claim.deviceId,
    data: {
      via: input.transport,
      method: 'provision-key',
      name: claim.deviceName,
      created: claim.created,
      credentialsType: input.credential.type,
      revokedCredentials: claim.revokedCredentials,
      ...(certificate ? { certificate } : {}),
    },
  };
}
