import { type Client, WorkflowIdConflictPolicy } from '@temporalio/client';
import { createHash, X509Certificate } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ProvisionedDevice, ProvisionX509Input } from '../../domain/device';
import { CertflowError, type ErrorCode } from '../../domain/errors';
import { provisionX509WorkflowId } from '../../domain/ids';
import type { PublicKeyCache } from '../../pki/chain';
import { derToPem } from '../../pki/device-certificate';
import { validateDeviceChain } from '../../pki/device-chain';
import { findDeviceByCertificate, isRevokedCertificate } from '../../registry/devices';
import { newId } from '../../registry/ids';
import type { Database } from '../../registry/schema';
import { certificateInUseSignal, deviceSearchAttributes } from '../../workflows/definitions';
import { awaitAnswer } from '../commands/workflow-answer';
import { asCertflowError } from '../failures';
import type { PresentedCertificates } from './peer-chain';
import { type RateLimiter, takeAll } from './rate-limit';
import type { TrustStore } from './trust-store';

export interface FirstConnectDeps {
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
  /**
   * The client shares its NativeConnection with a worker in this process that polls
   * `taskQueue` (the all-in-one): the server may hand the first workflow task straight to it
   * (eager workflow start) instead of going through its task-queue matching.
   */
  eagerStart?: boolean;
  trustStore: TrustStore;
  keyCache: PublicKeyCache;
  limits: { perCa: RateLimiter; perTenant: RateLimiter };
  /** How long a CONNECT (or HTTPS request) is held waiting for provisioning. */
  holdTimeoutMs: number;
  clockSkewSeconds: number;
  logger: Logger;
  now?: () => Date;
  /**
   * Known devices are remembered this long. Revocation does not wait for it: the edge event
   * feed calls `forgetDevice`; the TTL only bounds staleness if an event were missed.
   */
  knownTtlMs?: number;
  /** Bound on signalling a rotation workflow the first use of its new certificate. */
  confirmTimeoutMs?: number;
}

export type CertificateOutcome =
  | { ok: true; device: ProvisionedDevice; provisioned: boolean; fingerprintSha256: string }
  | { ok: false; code: ErrorCode; detail: string; retryable: boolean; retryAfterMs?: number };

/** Refusals that a fresher view of the registered CAs could turn into an acceptance. */
const STALE_ANCHOR_CODES: ReadonlySet<ErrorCode> = new Set([
  'JITP_UNKNOWN_CA',
  'JITP_DISABLED',
  'JITP_CA_INACTIVE',
]);

/** Refusals a device may retry (capacity, time), as opposed to refusals of its identity. */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set([
  'RATE_LIMITED',
  'WORKFLOW_TIMEOUT',
  'DEPENDENCY_UNAVAILABLE',
]);

/**
 * Authenticates a device by the certificates it presented (the leaf; the whole chain only on a
 * first connect), for MQTT
 * and HTTPS alike. A known certificate is checked against the registry only (cached), never
 * Temporal. An unknown one is validated here first (garbage and foreign CAs are refused
 * without a workflow), rate-limited per CA and tenant, then provisioned by the JITP workflow
 * while the caller holds the connection, bounded by `holdTimeoutMs`.
 */
export function createCertificateAuthenticator(deps: FirstConnectDeps) {
  const now = deps.now ?? (() => new Date());
  const known = new Map<string, { device: ProvisionedDevice; until: number }>();
  // device id → fingerprints cached for it, so a revocation evicts without a scan.
  const fingerprintsOf = new Map<string, Set<string>>();
  // Bumped by every eviction: a registry read begun before one may predate the revocation and
  // is then answered but not cached.
  let evictions = 0;
  const knownTtlMs = deps.knownTtlMs ?? 5_000;

  function remember(fingerprint: string, device: ProvisionedDevice, at: Date, readAt: number): void {
    if (readAt !== evictions) return;
    if (known.size > 100_000) {
      known.clear();
      fingerprintsOf.clear();
    }
    known.set(fingerprint, { device, until: at.getTime() + knownTtlMs });
    const fingerprints = fingerprintsOf.get(device.deviceId) ?? new Set<string>();
    fingerprintsOf.set(device.deviceId, fingerprints.add(fingerprint));
  }

  /** Drops the device's certificates from the cache (the device or a credential was revoked). */
  function forgetDevice(deviceId: string): void {
    evictions += 1;
    for (const fingerprint of fingerprintsOf.get(deviceId) ?? []) known.delete(fingerprint);
    fingerprintsOf.delete(deviceId);
  }

  /**
   * First use of a rotated-in certificate: tells the rotation workflow waiting for it, which
   * then revokes the old certificate. Bounded so a slow Temporal delays the connect a little,
   * never blocks it; false when the signal did not get through (the next connect retries it).
   */
  async function confirmRotation(
    workflowId: string,
    fingerprint: string,
    deviceId: string,
  ): Promise<boolean> {
    const timeoutMs = deps.confirmTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      const signal = deps.client.workflow
        .getHandle(workflowId)
        .signal(certificateInUseSignal, { fingerprintSha256: fingerprint });
      signal.catch(() => undefined);
      await Promise.race([
        signal,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
      deps.logger.info({ deviceId, fingerprint, workflowId }, 'rotated certificate in use: confirmed');
      return true;
    } catch (err) {
      deps.logger.warn({ err, deviceId, fingerprint, workflowId }, 'rotation confirmation not delivered');
      return false;
    } finally {
      clearTimeout(timer);
    }
  }

  async function lookupKnown(
    fingerprint: string,
    leaf: Uint8Array,
    at: Date,
  ): Promise<ProvisionedDevice | undefined> {
    const hit = known.get(fingerprint);
    if (hit && hit.until > at.getTime()) return hit.device;
    const readAt = evictions;
    const row = await findDeviceByCertificate(deps.db, fingerprint);
    if (!row) {
      // A revoked certificate is refused here, not handed to JITP (which would start a
      // provisioning workflow on every retry only to find the name taken).
      if (await isRevokedCertificate(deps.db, fingerprint))
        throw new CertflowError('CERTIFICATE_REVOKED', 'the device certificate is revoked');
      return undefined;
    }
    // Provisioned by hash: no stored certificate, so the presented one's window counts.
    const notAfter = row.notAfter ?? new X509Certificate(leaf).validTo;
    if (Date.parse(notAfter) <= at.getTime())
      throw new CertflowError('JITP_CHAIN_INVALID', 'CHAIN_EXPIRED: the device certificate has expired');
    if (row.caStatus !== null && row.caStatus !== 'active')
      throw new CertflowError('JITP_CA_INACTIVE', `the issuing CA is ${row.caStatus}`);
    const device = { tenantId: row.tenantId, deviceId: row.deviceId, deviceName: row.deviceName };
    const confirmed =
      row.pendingRotation === null || (await confirmRotation(row.pendingRotation, fingerprint, row.deviceId));
    if (confirmed) remember(fingerprint, device, at, readAt);
    return device;
  }

  async function provision(chain: Uint8Array[], fingerprint: string, at: Date): Promise<ProvisionedDevice> {
    const [leaf, ...intermediates] = chain;
    if (!leaf) throw new CertflowError('DEVICE_CERTIFICATE_REQUIRED', 'no client certificate was presented');
    const validate = async () =>
      validateDeviceChain(leaf, intermediates, await deps.trustStore.anchors(at.getTime()), {
        now: at,
        clockSkewSeconds: deps.clockSkewSeconds,
        keyCache: deps.keyCache,
      });
    let ca;
    try {
      ({ ca } = await validate());
    } catch (err) {
      // The CA may have been registered or changed since the anchors were cached.
      const stale = err instanceof CertflowError && STALE_ANCHOR_CODES.has(err.code);
      if (!stale || !(await deps.trustStore.reloadAfterMiss(at.getTime()))) throw err;
      ({ ca } = await validate());
    }
    const limited = takeAll(
      [
        [deps.limits.perCa, ca.id],
        [deps.limits.perTenant, ca.tenantId],
      ],
      at.getTime(),
    );
    if (!limited.allowed) {
      throw Object.assign(
        new CertflowError('RATE_LIMITED', 'too many first connects for this CA or tenant'),
        {
          retryAfterMs: limited.retryAfterMs,
        },
      );
    }
    const input: ProvisionX509Input = {
      tenantId: ca.tenantId,
      caId: ca.id,
      deviceId: newId(),
      leafPem: derToPem(leaf),
      intermediatePems: intermediates.map(derToPem),
      via: 'tls',
    };
    const handle = await deps.client.workflow.start('provisionX509DeviceWorkflow', {
      workflowId: provisionX509WorkflowId(ca.tenantId, fingerprint),
      taskQueue: deps.taskQueue,
      requestEagerStart: deps.eagerStart === true,
      args: [input],
      // Concurrent first connects of one device attach to the run already going.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.USE_EXISTING,
      typedSearchAttributes: deviceSearchAttributes(ca.tenantId, input.deviceId),
    });
    return awaitAnswer<ProvisionedDevice>(handle, deps.holdTimeoutMs);
  }

  async function authenticateCertificate(presented: PresentedCertificates): Promise<CertificateOutcome> {
    const at = now();
    const { leaf } = presented;
    if (!leaf)
      return refusal(new CertflowError('DEVICE_CERTIFICATE_REQUIRED', 'no client certificate was presented'));
    const fingerprint = createHash('sha256').update(leaf).digest('hex');
    try {
      const readAt = evictions;
      const device = await lookupKnown(fingerprint, leaf, at);
      if (device) return { ok: true, device, provisioned: false, fingerprintSha256: fingerprint };
      const created = await provision(presented.chain(), fingerprint, at);
      remember(fingerprint, created, at, readAt);
      return { ok: true, device: created, provisioned: true, fingerprintSha256: fingerprint };
    } catch (err) {
      const known = asCertflowError(err);
      if (!known) {
        deps.logger.error({ err, fingerprint }, 'certificate authentication failed');
        return refusal(
          new CertflowError('DEPENDENCY_UNAVAILABLE', 'provisioning is unavailable; retry later'),
        );
      }
      deps.logger.info({ fingerprint, code: known.code, detail: known.message }, 'certificate refused');
      return refusal(known, (err as { retryAfterMs?: number }).retryAfterMs);
    }
  }

  return Object.assign(authenticateCertificate, { forgetDevice });
}

function refusal(err: CertflowError, retryAfterMs?: number): CertificateOutcome {
  return {
    ok: false,
    code: err.code,
    detail: err.message,
    retryable: RETRYABLE.has(err.code),
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  };
}

export type CertificateAuthenticator = ReturnType<typeof createCertificateAuthenticator>;
