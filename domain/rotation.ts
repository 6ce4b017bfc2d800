/**
 * Certificate rotation: the device-side wire protocol, per-device rotation, fleet rotation
 * runs and scheduled renewal. Pure types and rules; every time-dependent rule takes `now`.
 * See docs/rotation.md for the protocol a firmware team implements.
 */

/**
 * MQTT topics of the rotation protocol, as the device sees them (`me` is the connected device;
 * the broker maps them to the device's private internal topics). Every device authenticated by
 * certificate may use them, whatever its class policy says: rotation is the platform's own
 * control channel, like provisioning.
 */
export const ROTATION_TOPICS = {
  /** Platform → device: please rotate (a {@link RotationRequestMessage}). Subscribe to it. */
  request: 'v1/devices/me/rotation/request',
  /** Device → platform: the CSR for a fresh key (a {@link RotationCsrMessage}). */
  csr: 'v1/devices/me/rotation/csr',
  /** Platform → device: the new certificate or a refusal (a {@link RotationResponseMessage}). */
  response: 'v1/devices/me/rotation/response',
} as const;

export interface RotationRequestMessage {
  rotationId: string;
  /** ISO-8601: the device must have connected with its new certificate before this. */
  deadline: string;
  /** Key type the platform accepts in the CSR (the device may use any of them). */
  keyTypes: string[];
}

export interface RotationCsrMessage {
  rotationId: string;
  /** PKCS#10 CSR, PEM. Its subject is ignored: the name comes from the registry. */
  csr: string;
}

export type RotationResponseMessage =
  | {
      rotationId: string;
      status: 'SUCCESS';
      /** The new device certificate, PEM. */
      certificate: string;
      /** The new certificate followed by its issuing CA chain, PEM. */
      certificateChain: string;
      fingerprintSha256: string;
      notAfter: string;
    }
  | { rotationId: string; status: 'FAILURE'; errorCode: string; errorMsg: string };

/** What the issuing CSR policy (pki/issuing/csr.ts) signs; advertised in every request. */
export const ACCEPTED_KEY_TYPES = ['EC-P256', 'EC-P384', 'RSA-2048', 'RSA-3072', 'RSA-4096'];

/** What the issuing side answers for an accepted CSR (plain JSON across the workflow boundary). */
export interface RotationIssued {
  certificatePem: string;
  /** The certificate followed by the issuing CA chain. */
  chainPem: string;
  fingerprintSha256: string;
  serialHex: string;
  notAfter: string;
}

// ---------------------------------------------------------------------------------------------
// Per-device rotation

export interface RotateDeviceInput {
  tenantId: string;
  deviceId: string;
  /** Unique per rotation attempt of a device: the run id, or a fresh uuid for an ad hoc one. */
  rotationId: string;
  /** The fleet run this rotation belongs to (null: ad hoc, device-initiated or API). */
  runId: string | null;
  /** How long to wait for the CSR and the first connect with the new certificate. */
  deadlineSeconds: number;
  /** Override of the issuing CA; otherwise the current certificate's, then the profile's. */
  issuingCaId: string | null;
  /** Why: shown in the audit log ("fleet run …", "renewal", "device request"). */
  reason: string;
}

/** Terminal states of one device's rotation. */
export type RotationOutcome = 'succeeded' | 'failed' | 'rolled_back';

export interface RotateDeviceResult {
  deviceId: string;
  state: RotationOutcome;
  /** Null when succeeded; otherwise a stable code and a sentence (`DEADLINE: …`). */
  reason: string | null;
  oldFingerprint: string | null;
  newFingerprint: string | null;
}

/** Where a device's rotation stands (rotation workflow query). */
export type RotationPhase = 'starting' | 'awaiting_csr' | 'awaiting_confirmation' | 'finishing' | 'done';

// ---------------------------------------------------------------------------------------------
// Fleet rotation runs

/** Per-device states of a run. `cancelled`: never started because the run was cancelled/aborted. */
export const ITEM_STATES = [
  'pending',
  'in_progress',
  'succeeded',
  'failed',
  'rolled_back',
  'cancelled',
] as const;
export type ItemState = (typeof ITEM_STATES)[number];

export const RUN_STATUSES = ['running', 'paused', 'cancelled', 'aborted', 'completed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Which devices a run covers. Criteria combine with AND; `tags` must all be present. */
export interface RotationSelection {
  productId?: string;
  cohortId?: string;
  deviceClassId?: string;
  tags?: string[];
  /** Registered CA (ca_certificates.id) or issuing CA (issuing_cas.id) of the active certificate. */
  caId?: string;
  /** Active certificate's notAfter strictly before this ISO-8601 instant. */
  expiringBefore?: string;
  /** Explicit device ids (still filtered by the other criteria and the tenant). */
  deviceIds?: string[];
}

export interface RotationOptions {
  /** Devices rotating at once (children in flight). */
  concurrency: number;
  /** Devices started per minute; null: as fast as concurrency allows. */
  ratePerMinute: number | null;
  /** Per-device deadline for CSR and confirmation. */
  deadlineSeconds: number;
  /** Abort the run once this many devices failed or rolled back; null: never. */
  abortAfterFailures: number | null;
  /** Issuing CA override for every device of the run. */
  issuingCaId: string | null;
}

export const DEFAULT_ROTATION_OPTIONS: RotationOptions = {
  concurrency: 50,
  ratePerMinute: null,
  deadlineSeconds: 7 * 86_400,
  abortAfterFailures: null,
  issuingCaId: null,
};

export type ItemCounts = Record<ItemState, number>;

export function emptyCounts(): ItemCounts {
  return { pending: 0, in_progress: 0, succeeded: 0, failed: 0, rolled_back: 0, cancelled: 0 };
}

export interface RotationRunInput {
  tenantId: string;
  runId: string;
  options: RotationOptions;
  /** Carried across continue-as-new; absent on the first run. */
  carry?: RunCarry;
}

/** Workflow state that survives continue-as-new (kept small: ids only, no device lists). */
export interface RunCarry {
  materialized: boolean;
  /** Highest item seq already started. */
  cursor: number;
  /** Children started whose outcome the run has not read yet. */
  inFlight: string[];
  /** When each child in flight was started (workflow time, ms): lost children are reaped. */
  inFlightSince?: Record<string, number>;
  failures: number;
  paused: boolean;
  startedTotal: number;
}

export interface RunProgress {
  runId: string;
  tenantId: string;
  status: RunStatus;
  total: number;
  counts: ItemCounts;
  options: RotationOptions;
  selection: RotationSelection;
  createdAt: string;
  finishedAt: string | null;
  statusReason: string | null;
}

/**
 * Seconds a run over `devices` takes at the given options, when every device answers at once:
 * the rate bounds starts per minute; concurrency bounds nothing when devices answer instantly,
 * so the estimate is a lower bound stated as such by callers.
 */
export function estimateRunSeconds(devices: number, options: Pick<RotationOptions, 'ratePerMinute'>): number {
  if (devices <= 0) return 0;
  if (options.ratePerMinute === null) return 0;
  return Math.ceil((devices / options.ratePerMinute) * 60);
}

/** Minimum milliseconds between two child starts at a rate (0: unlimited). */
export function startIntervalMs(ratePerMinute: number | null): number {
  return ratePerMinute === null ? 0 : 60_000 / ratePerMinute;
}

// ---------------------------------------------------------------------------------------------
// Scheduled renewal (per device class)

export interface RenewalSettings {
  enabled: boolean;
  /** Renew during the last this-fraction of the certificate's lifetime (default: the last third). */
  windowFraction: number;
  /** Spread: each device's start inside the window is shifted by up to this fraction of it. */
  jitterFraction: number;
  deadlineSeconds: number;
  concurrency: number;
  ratePerMinute: number | null;
  issuingCaId: string | null;
}

export const DEFAULT_RENEWAL: RenewalSettings = {
  enabled: false,
  windowFraction: 1 / 3,
  jitterFraction: 0.25,
  deadlineSeconds: 7 * 86_400,
  concurrency: 50,
  ratePerMinute: null,
  issuingCaId: null,
};

/**
 * When a certificate becomes due for renewal: the start of its renewal window, shifted later by
 * a per-device jitter derived from the device id (stable, so every sweep agrees), bounded so the
 * device is always due before the certificate expires.
 */
export function renewalDueAt(
  notBefore: Date,
  notAfter: Date,
  deviceId: string,
  settings: Pick<RenewalSettings, 'windowFraction' | 'jitterFraction'>,
): Date {
  const lifetime = notAfter.getTime() - notBefore.getTime();
  const window = lifetime * settings.windowFraction;
  const windowStart = notAfter.getTime() - window;
  const jitter = window * settings.jitterFraction * stableFraction(deviceId);
  return new Date(windowStart + jitter);
}

export function isRenewalDue(
  now: Date,
  notBefore: Date,
  notAfter: Date,
  deviceId: string,
  settings: Pick<RenewalSettings, 'windowFraction' | 'jitterFraction'>,
): boolean {
  return renewalDueAt(notBefore, notAfter, deviceId, settings).getTime() <= now.getTime();
}

/** A number in [0, 1) from a string (FNV-1a), the same on every machine and run. */
export function stableFraction(value: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash / 0x1_0000_0000;
}

// ---------------------------------------------------------------------------------------------
// Revocation

export type RevocationTarget =
  { kind: 'device'; deviceId: string } | { kind: 'certificate'; deviceId: string; fingerprintSha256: string };

export interface RevokeInput {
  tenantId: string;
  target: RevocationTarget;
  reason: string;
  /** Who asked: `api-key:<id>`, `rotation:<workflow id>`. */
  actor: string;
  /** Idempotency key of the request (the workflow id). */
  requestId: string;
}

export interface RevokeResult {
  deviceId: string;
  deviceRevoked: boolean;
  /** Fingerprints of the certificates this request revoked (empty when already revoked). */
  revokedCertificates: string[];
  /** Credentials of any type revoked by this request. */
  revokedCredentials: number;
}

/**
 * Events the edge reacts to within seconds (it polls them from the registry): evict caches,
 * disconnect sessions, push rotation requests to connected devices. CA-wide revocation and CRL
 * publication will add their own types here.
 */
export type EdgeEventType = 'device.revoked' | 'credential.revoked' | 'rotation.requested' | 'rotation.ended';

export interface EdgeEvent {
  seq: number;
  tenantId: string;
  deviceId: string | null;
  type: EdgeEventType;
  /** The certificate (SHA-256) concerned, when the event is about one certificate. */
  fingerprint: string | null;
  data: Record<string, unknown>;
  createdAt: string;
}
