import type { Client } from '@temporalio/client';
import { TypedSearchAttributes } from '@temporalio/common';
import type { Kysely } from 'kysely';
import { CertflowError } from '../../domain/errors';
import { rotationRunWorkflowId } from '../../domain/ids';
import {
  DEFAULT_ROTATION_OPTIONS,
  estimateRunSeconds,
  type RotationOptions,
  type RotationRunInput,
  type RotationSelection,
  type RunProgress,
} from '../../domain/rotation';
import { newId } from '../../registry/ids';
import {
  countDevicesForRotation,
  createRotationRun,
  getRotationRun,
  markRunStartFailed,
  selectDevicesForRotation,
} from '../../registry/runs';
import type { Database } from '../../registry/schema';
import { tenantSearchAttribute } from '../../workflows/definitions';

export interface RunCommandDeps {
  db: Kysely<Database>;
  client: Client;
  taskQueue: string;
  /** Bound on waiting for the run workflow to answer a control update. */
  answerTimeoutMs: number;
}

export interface StartRunRequest {
  selection: RotationSelection;
  options?: Partial<RotationOptions>;
  dryRun?: boolean;
}

export const DRY_RUN_SAMPLE = 20;

export interface DryRunAnswer {
  dryRun: true;
  devices: number;
  sample: { deviceId: string; deviceName: string; fingerprint: string; notAfter: string | null }[];
  estimatedSeconds: number;
  estimate: string;
}

/**
 * Starts a fleet rotation run, or answers a dry run. The run row is written before the
 * workflow starts so the run is visible (and its failure recordable) whatever happens next;
 * the workflow materializes the items itself, so this request stays small at any fleet size.
 * A dry run only reads.
 */
export async function startRotationRun(
  deps: RunCommandDeps,
  tenantId: string,
  createdBy: string,
  req: StartRunRequest,
): Promise<{ dryRun: true; answer: DryRunAnswer } | { dryRun: false; run: RunProgress }> {
  const selection = normalizeSelection(req.selection);
  const options = fillOptions(req.options);
  await assertReferences(deps.db, tenantId, selection, options);
  const devices = await countDevicesForRotation(deps.db, tenantId, selection);
  if (req.dryRun) {
    const sample = await selectDevicesForRotation(deps.db, tenantId, selection, { limit: DRY_RUN_SAMPLE });
    const answer: DryRunAnswer = {
      dryRun: true,
      devices,
      sample,
      estimatedSeconds: estimateRunSeconds(devices, options),
      estimate:
        options.ratePerMinute === null
          ? 'no rate set: bounded only by concurrency and how fast devices answer'
          : 'lower bound at the set rate, if every device answers at once',
    };
    return { dryRun: true, answer };
  }
  if (devices === 0)
    throw new CertflowError('RUN_EMPTY', 'the selection matches no active device with a certificate');

  const runId = newId();
  const workflowId = rotationRunWorkflowId(tenantId, runId);
  await createRotationRun(deps.db, {
    id: runId,
    tenantId,
    source: 'api',
    selection,
    options,
    createdBy,
    workflowId,
  });
  const input: RotationRunInput = { tenantId, runId, options };
  try {
    await deps.client.workflow.start('rotationRunWorkflow', {
      workflowId,
      taskQueue: deps.taskQueue,
      args: [input],
      typedSearchAttributes: new TypedSearchAttributes([{ key: tenantSearchAttribute, value: tenantId }]),
    });
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    await markRunStartFailed(deps.db, tenantId, runId, `the workflow could not be started: ${why}`);
    throw new CertflowError('DEPENDENCY_UNAVAILABLE', `run ${runId} could not be started; retry later`);
  }
  const run = await getRotationRun(deps.db, tenantId, runId);
  if (!run) throw new Error(`run ${runId} vanished after creation`);
  return { dryRun: false, run };
}

/** Options as the workflow gets them: every field set, defaults from domain/rotation. */
export function fillOptions(partial: Partial<RotationOptions> = {}): RotationOptions {
  const defined = Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined));
  return { ...DEFAULT_ROTATION_OPTIONS, ...defined };
}

/**
 * Instants are compared as text in the registry (ISO-8601 UTC), so `expiringBefore` is
 * brought to that form; device ids and tags are de-duplicated.
 */
export function normalizeSelection(selection: RotationSelection): RotationSelection {
  const out: RotationSelection = { ...selection };
  if (out.expiringBefore !== undefined) out.expiringBefore = new Date(out.expiringBefore).toISOString();
  if (out.tags) out.tags = [...new Set(out.tags)];
  if (out.deviceIds) out.deviceIds = [...new Set(out.deviceIds)];
  return out;
}

/** Every referenced resource must exist in the caller's tenant (isolation, and a clear 422). */
async function assertReferences(
  db: Kysely<Database>,
  tenantId: string,
  s: RotationSelection,
  o: RotationOptions,
): Promise<void> {
  const exists = async (
    table: 'products' | 'cohorts' | 'device_classes' | 'issuing_cas' | 'ca_certificates',
    id: string,
  ) =>
    (await db
      .selectFrom(table)
      .select('id')
      .where('tenant_id', '=', tenantId)
      .where('id', '=', id)
      .executeTakeFirst()) !== undefined;
  const missing: { field: string; message: string }[] = [];
  const check = async (
    field: string,
    id: string | null | undefined,
    found: (id: string) => Promise<boolean>,
  ) => {
    if (id && !(await found(id))) missing.push({ field, message: `${id} does not exist in this tenant` });
  };
  await check('selection.productId', s.productId, (id) => exists('products', id));
  await check('selection.cohortId', s.cohortId, (id) => exists('cohorts', id));
  await check('selection.deviceClassId', s.deviceClassId, (id) => exists('device_classes', id));
  await check(
    'selection.caId',
    s.caId,
    async (id) => (await exists('ca_certificates', id)) || exists('issuing_cas', id),
  );
  await check('options.issuingCaId', o.issuingCaId, (id) => exists('issuing_cas', id));
  if (missing.length > 0) {
    const summary = missing.map((m) => `${m.field}: ${m.message}`).join('; ');
    throw new CertflowError('REFERENCE_NOT_FOUND', summary, missing);
  }
}
