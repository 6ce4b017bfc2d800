import type { Kysely } from 'kysely';
import type { CreateDeviceInput, DeviceView } from '../domain/device';
import { insertDevice, toDeviceView } from '../registry/devices';
import type { Database } from '../registry/schema';
import { recordAudit } from './audit';
import { permanentOnDomainError } from './failures';

export interface DeviceActivityDeps {
  db: Kysely<Database>;
}

/**
 * Device registry activities. Idempotent on the device id (see `insertDevice`) and the audit
 * event's key, so a retry after a crash between the two writes completes the job.
 */
export function createDeviceActivities({ db }: DeviceActivityDeps) {
  return {
    async createDevice(input: CreateDeviceInput & { createdByWorkflow: string }): Promise<DeviceView> {
      return permanentOnDomainError(async () => {
        const row = await insertDevice(db, {
          id: input.deviceId,
          tenantId: input.tenantId,
          name: input.name,
          label: input.label,
          productId: input.productId,
          cohortId: input.cohortId,
          deviceClassId: input.deviceClassId,
          profileId: input.profileId,
          tags: input.tags,
          attributes: input.attributes,
          accessTokenHash: input.accessTokenHash,
          gatewayId: input.gatewayId,
          createdByWorkflow: input.createdByWorkflow,
        });
        const device = toDeviceView(row);
        await recordAudit(db, {
          tenantId: input.tenantId,
          eventKey: `device.created/${device.id}`,
          type: 'device.created',
          actor: input.requestedBy,
          deviceId: device.id,
          data: {
            name: device.name,
            productId: device.productId,
            cohortId: device.cohortId,
            deviceClassId: device.deviceClassId,
            tags: device.tags,
            credential: input.accessTokenHash ? 'ACCESS_TOKEN' : null,
          },
        });
        return device;
      });
    },
  };
}

export type DeviceActivities = ReturnType<typeof createDeviceActivities>;
