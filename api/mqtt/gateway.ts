import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import { deviceNameProblem } from '../../domain/device';
import { findDeviceByName, type AuthenticatedDevice } from '../../registry/devices';
import { findProfileByName } from '../../registry/profiles';
import type { Database } from '../../registry/schema';
import { createDevice, type CreateDeviceDeps } from '../commands/create-devices';
import { asCertflowError } from '../failures';

/** ThingsBoard's gateway API: a gateway announces a sub-device it talks for. */
export const GATEWAY_CONNECT_TOPIC = 'v1/gateway/connect';

export type GatewayHandler = (gateway: AuthenticatedDevice, payload: Buffer) => Promise<void>;

/**
 * Gateway provisioning: `{"device": "<name>", "type": "<profile name>"}` on v1/gateway/connect
 * from a device whose class policy lets it publish there (that is what makes it a gateway)
 * creates the sub-device under the gateway, through the same creation workflow as the API,
 * or finds it when it exists. A sub-device never moves from one gateway to another here.
 */
export function createGatewayHandler(deps: {
  db: Kysely<Database>;
  create: CreateDeviceDeps;
  logger: Logger;
}): GatewayHandler {
  return async (gateway, payload) => {
    let body: { device?: unknown; type?: unknown };
    try {
      body = JSON.parse(payload.toString('utf8')) as { device?: unknown; type?: unknown };
    } catch {
      return deps.logger.info({ gateway: gateway.deviceId }, 'gateway connect: payload is not JSON');
    }
    const name = body.device;
    if (typeof name !== 'string' || deviceNameProblem(name)) {
      return deps.logger.info({ gateway: gateway.deviceId }, 'gateway connect: invalid device name');
    }
    const existing = await findDeviceByName(deps.db, gateway.tenantId, name);
    if (existing) {
      if (existing.gateway_id !== gateway.deviceId) {
        deps.logger.info(
          { gateway: gateway.deviceId, device: existing.id },
          'gateway connect: device belongs elsewhere',
        );
      }
      return;
    }
    const profile =
      typeof body.type === 'string'
        ? await findProfileByName(deps.db, gateway.tenantId, body.type)
        : undefined;
    try {
      await createDevice(deps.create, gateway.tenantId, `gateway:${gateway.deviceId}`, {
        name,
        gatewayId: gateway.deviceId,
        profileId: profile?.id ?? null,
        deviceClassId: profile?.deviceClassId ?? null,
      });
    } catch (err) {
      const known = asCertflowError(err);
      // A concurrent announcement of the same device already created it: fine.
      if (known?.code === 'DEVICE_NAME_TAKEN' || known?.code === 'DEVICE_CREATION_IN_PROGRESS') return;
      deps.logger.error(
        { err, gateway: gateway.deviceId },
        'gateway connect: creating the sub-device failed',
      );
    }
  };
}
