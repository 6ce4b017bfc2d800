import type { Kysely } from 'kysely';
import type { CreateDeviceInput, DeviceView } from '../domain/device';
import { insertDevice, toDeviceView } from '../registry/devices';
import type { Database } from '../registry/schema';
import { stamped } from './audit';
import { permanentOnDomainError } from './failures';

export interface DeviceActivityDeps {
  db: Kysely<Database>;
}

/**
 * Device registry activities. Idempotent on the device id (see `insertDevice`); the device,
 * its credential and its audit event are written in one transaction.
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
          audit: stamped({
            tenantId: input.tenantId,
            eventKey: `device.created/${input.deviceId}`,
            type: 'device.created',
            actor: input.requestedBy,
            deviceId: input.deviceId,
            data: {
              name: input.name,
              productId: input.productId,
              cohortId: input.cohortId,
              deviceClassId: input.deviceClassId,
              tags: input.tags,
              credential: input.accessTokenHash ? 'ACCESS_TOKEN' : null,
            },
          }),
        });
        return toDeviceView(row);
      });
    },
  };
}

export type DeviceActivities = ReturnType<typeof createDeviceActivities>;
