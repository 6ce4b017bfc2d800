import { Client, Connection } from '@temporalio/client';
import type { CreateDeviceInput } from '../../domain/device';
import { createDeviceWorkflowId } from '../../domain/ids';
import { newId } from '../../registry/ids';
import { deviceSearchAttributes } from '../../workflows/definitions';
import type { Certflow } from '../lib/certflow';
import type { BenchContext } from '../lib/context';
import { measure, type ScenarioResult } from '../lib/measure';
import { self } from '../lib/procs';

/**
 * certflow's cheapest real workflow, `createDeviceWorkflow` (one local activity: registry insert
 * and audit event), started straight through the Temporal client and awaited, with no HTTP or MQTT
 * in front: the engine's rate with certflow's activities, next to the empty-workflow rate.
 */
export async function workflowRate(ctx: BenchContext, cf: Certflow): Promise<ScenarioResult> {
  const connection = await Connection.connect({ address: cf.temporalAddress });
  const client = new Client({ connection });
  try {
    const r = await measure('workflow-rate', 'Workflow engine: createDeviceWorkflow start→result', {
      n: ctx.opts.workflows,
      concurrency: ctx.opts.concurrency,
      maxSeconds: ctx.opts.maxSeconds,
      watched: [...cf.processes(), self],
      task: async (i) => {
        const name = `bench-wf-${String(i).padStart(6, '0')}`;
        const input: CreateDeviceInput = {
          tenantId: cf.tenantId,
          deviceId: newId(),
          name,
          requestedBy: 'bench',
        };
        await client.workflow.execute('createDeviceWorkflow', {
          workflowId: createDeviceWorkflowId(cf.tenantId, name),
          taskQueue: 'certflow',
          args: [input],
          typedSearchAttributes: deviceSearchAttributes(cf.tenantId, input.deviceId),
        });
      },
    });
    r.notes = [
      "createDeviceWorkflow (one local activity) on certflow's worker; the engine alone: see empty-workflows",
    ];
    return r;
  } finally {
    await connection.close();
  }
}
