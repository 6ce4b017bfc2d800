import { type Client, WorkflowIdConflictPolicy } from '@temporalio/client';
import { ApplicationFailure, WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { CertflowError } from '../../domain/errors';
import { claimDeviceWorkflowId } from '../../domain/ids';
import {
  type ClaimWorkflowInput,
  type ClaimWorkflowResult,
  failure,
  parseProvisionRequest,
  ProvisionError,
  provisionErrorCodes,
  type ProvisionResponseWire,
} from '../../domain/provisioning';
import { newId } from '../../registry/ids';
import { authenticateProvisionKey, type ProfileView } from '../../registry/profiles';
import type { Database } from '../../registry/schema';
import { deviceSearchAttributes } from '../../workflows/definitions';
import { awaitAnswer } from '../commands/workflow-answer';
import { RateLimiter } from '../edge/rate-limit';
import { prepareCredential } from './credentials';
import type { ProvisionHandler } from './handler';

export interface ProvisionDeps {
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
  /**
   * The client shares its NativeConnection with a worker in this process that polls
   * `taskQueue` (the all-in-one): the server may hand the first workflow task straight to it
   * (eager workflow start) instead of going through its task-queue matching.
   */
  eagerStart?: boolean;
  answerTimeoutMs: number;
  /** Requests per source address (per edge process), whatever the key. */
  perSource: RateLimiter;
  logger: Logger;
}

/**
 * The provisioning handler shared by HTTP, MQTT and CoAP: checks the request, the profile's
 * key and secret (constant time), the rate limits and the credential type, prepares the
 * credential (hashing secrets here so they never reach workflow history), then runs the
 * claim workflow and answers in ThingsBoard's format. Never throws.
 */
export function createProvisionHandler(deps: ProvisionDeps): ProvisionHandler {
  const perProfile = new Map<number, RateLimiter>();
  const profileLimiter = (ratePerMinute: number) => {
    let limiter = perProfile.get(ratePerMinute);
    if (!limiter) {
      limiter = new RateLimiter({
        perSecond: ratePerMinute / 60,
        burst: Math.max(1, Math.ceil(ratePerMinute / 6)),
      });
      perProfile.set(ratePerMinute, limiter);
    }
    return limiter;
  };

  async function provision(body: unknown, transport: string, remote: string): Promise<ProvisionResponseWire> {
    const now = Date.now();
    if (!deps.perSource.take(remote, now).allowed) throw limited();
    const req = parseProvisionRequest(body);
    const profile = await authenticateProvisionKey(
      deps.db,
      req.provisionDeviceKey,
      req.provisionDeviceSecret,
    );
    if (!profile) throw new ProvisionError('PROVISION_BAD_KEY_OR_SECRET', 'Provision data was not found!');
    if (!profileLimiter(profile.ratePerMinute).take(profile.id, now).allowed) throw limited();
    const type = req.credentialsType ?? 'ACCESS_TOKEN';
    if (!profile.allowedCredentialTypes.includes(type)) {
      throw new ProvisionError(
        'PROVISION_CREDENTIAL_TYPE_NOT_ALLOWED',
        `credentials type ${type} is not allowed by this profile`,
      );
    }
    if (type === 'CSR' && !profile.issuingCaId) {
      throw new ProvisionError('PROVISION_NO_ISSUING_CA', 'this profile has no issuing CA to sign CSRs');
    }
    const credential = await prepareCredential(req);
    const deviceName = req.deviceName ?? `device-${randomBytes(6).toString('hex')}`;
    // The name becomes the certificate's CN, which X.509 caps at 64 characters.
    if (type === 'CSR' && deviceName.length > 64) {
      throw new ProvisionError(
        'PROVISION_BAD_REQUEST',
        'deviceName must be at most 64 characters for a certificate',
      );
    }
    const result = await runClaim(profile, deviceName, credential.stored, transport);
    return {
      status: 'SUCCESS',
      credentialsType: type === 'CSR' ? 'X509_CERTIFICATE' : type,
      credentialsValue: type === 'CSR' ? (result.certificateChainPem ?? '') : credential.value,
      deviceId: result.deviceId,
    };
  }

  async function runClaim(
    profile: ProfileView,
    deviceName: string,
    credential: ClaimWorkflowInput['credential'],
    transport: string,
  ): Promise<ClaimWorkflowResult> {
    const input: ClaimWorkflowInput = {
      tenantId: profile.tenantId,
      profile: {
        id: profile.id,
        strategy: profile.strategy,
        allowReprovision: profile.allowReprovision,
        deviceClassId: profile.deviceClassId,
        issuingCaId: profile.issuingCaId,
      },
      newDeviceId: newId(),
      deviceName,
      credential,
      transport,
    };
    const handle = await deps.client.workflow.start('provisionClaimDeviceWorkflow', {
      workflowId: claimDeviceWorkflowId(profile.tenantId, deviceName),
      taskQueue: deps.taskQueue,
      requestEagerStart: deps.eagerStart === true,
      args: [input],
      // A second device claiming the same name at once must not get the first one's answer.
      workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
      typedSearchAttributes: deviceSearchAttributes(profile.tenantId, input.newDeviceId),
    });
    return awaitAnswer<ClaimWorkflowResult>(handle, deps.answerTimeoutMs);
  }

  return async (body, source) => {
    try {
      return await provision(body, source.transport, source.remote);
    } catch (err) {
      const answer = toFailure(err);
      if (answer.errorCode === 'PROVISION_UNAVAILABLE') {
        deps.logger.error({ err, transport: source.transport }, 'provisioning failed');
      } else {
        deps.logger.info(
          { code: answer.errorCode, transport: source.transport, remote: source.remote },
          'provisioning refused',
        );
      }
      return answer;
    }
  };
}

function limited(): ProvisionError {
  return new ProvisionError('PROVISION_RATE_LIMITED', 'too many provisioning requests; retry later');
}

type Failure = Extract<ProvisionResponseWire, { errorCode: string }>;

function toFailure(err: unknown): Failure {
  if (err instanceof ProvisionError) return failure(err.code, err.message) as Failure;
  if (err instanceof WorkflowExecutionAlreadyStartedError) {
    return failure(
      'PROVISION_DEVICE_EXISTS',
      'this device is being provisioned by another request',
    ) as Failure;
  }
  for (let cause: unknown = err; cause instanceof Error; cause = cause.cause) {
    if (cause instanceof ApplicationFailure && cause.type && Object.hasOwn(provisionErrorCodes, cause.type)) {
      return failure(cause.type as keyof typeof provisionErrorCodes, cause.message) as Failure;
    }
  }
  if (err instanceof CertflowError && err.code === 'WORKFLOW_TIMEOUT') {
    return failure(
      'PROVISION_UNAVAILABLE',
      'provisioning is taking longer than expected; retry later',
    ) as Failure;
  }
  return failure('PROVISION_UNAVAILABLE', 'provisioning is unavailable; retry later') as Failure;
}
