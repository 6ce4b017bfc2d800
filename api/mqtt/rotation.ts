/**
 * The rotation protocol on the embedded broker (docs/rotation.md). Its three topics are the
 * platform's control channel, like provisioning: every device authenticated by certificate may
 * subscribe to the request and response topics and publish on the csr topic whatever its
 * class policy says, and no device may publish on the request or response topics. A CSR is
 * answered by the broker itself (through the rotation workflow) and never routed to
 * subscribers; the answer is written to the connection that asked.
 */
import type { Logger } from 'pino';
import { ROTATION_TOPICS, type RotationResponseMessage } from '../../domain/rotation';
import type { ProvisionedDevice } from '../../domain/device';
import type { EdgeRotation } from '../edge/rotation';
import { toInternal } from './me-topics';

/** A CSR message is a few KiB (an RSA-4096 CSR is ~1.7 KiB of PEM); more is not a CSR. */
export const MAX_CSR_MESSAGE_BYTES = 16 * 1024;

/** Filters a certificate-authenticated device may subscribe to regardless of its policy. */
export function rotationSubscribeAllowed(filter: string): boolean {
  return filter === ROTATION_TOPICS.request || filter === ROTATION_TOPICS.response;
}

/** Topics only the platform publishes on. */
export function isPlatformRotationTopic(topic: string): boolean {
  return topic === ROTATION_TOPICS.request || topic === ROTATION_TOPICS.response;
}

/** Whether an MQTT filter (`+`, `#`) matches the request topic, so a subscriber receives requests. */
export function coversRequestTopic(filter: string): boolean {
  const want = filter.split('/');
  const topic = ROTATION_TOPICS.request.split('/');
  for (let i = 0; i < want.length; i++) {
    if (want[i] === '#') return true;
    if (i >= topic.length || (want[i] !== '+' && want[i] !== topic[i])) return false;
  }
  return want.length === topic.length;
}

/** The parts of an aedes client used here (structural, as in ./provisioning.ts). */
export interface RotationClient {
  readonly id: string;
  readonly closed: boolean;
  publish(
    packet: { cmd: 'publish'; topic: string; payload: Buffer; qos: 0 | 1; retain: false; dup: false },
    done: (err?: Error) => void,
  ): void;
}

export function createMqttRotation(opts: { rotation: EdgeRotation; logger: Logger }) {
  function send(client: RotationClient, topic: string, message: object): void {
    if (client.closed) return;
    const payload = Buffer.from(JSON.stringify(message));
    client.publish({ cmd: 'publish', topic, payload, qos: 1, retain: false, dup: false }, (err) => {
      if (err) opts.logger.warn({ err, clientId: client.id, topic }, 'rotation message not delivered');
    });
  }

  return {
    /**
     * A device just subscribed (SUBACK sent) with these granted filters: if one receives
     * requests and a rotation is pending, show it now, so a device that was offline when the
     * rotation began learns of it as soon as it is back.
     */
    async onSubscribe(
      client: RotationClient,
      device: ProvisionedDevice,
      fingerprint: string,
      filters: string[],
    ): Promise<void> {
      if (!filters.some(coversRequestTopic)) return;
      const request = await opts.rotation.pendingRequest(device.deviceId, fingerprint);
      if (request) send(client, ROTATION_TOPICS.request, request);
    },

    /**
     * For a PUBLISH of a certificate-authenticated device: undefined when it is not on a
     * rotation topic (the class policy decides), an Error refusing it (aedes then closes the
     * connection: devices never publish on the platform's topics), or null for a CSR, which
     * is answered asynchronously. The CSR's payload is taken out of the packet and its retain
     * flag cleared, so it goes no further through the broker (authorizeForward drops it too).
     */
    acceptPublish(
      client: RotationClient,
      device: ProvisionedDevice,
      fingerprint: string,
      packet: { topic: string; payload: Buffer | string; retain: boolean },
    ): Error | null | undefined {
      if (isPlatformRotationTopic(packet.topic)) return new Error('only the platform publishes here');
      if (packet.topic !== ROTATION_TOPICS.csr) return undefined;
      const payload = Buffer.from(packet.payload);
      packet.payload = Buffer.alloc(0);
      packet.retain = false;
      packet.topic = toInternal(packet.topic, device.deviceId);
      // A will on the csr topic is authorised as the connection closes: nobody to answer.
      if (client.closed) return null;
      onCsr(client, device, fingerprint, payload).catch((err: unknown) => {
        opts.logger.error({ err, deviceId: device.deviceId }, 'rotation CSR failed');
      });
      return null;
    },
  };

  /** A CSR published by the device: answered on its response topic, on this connection. */
  async function onCsr(
    client: RotationClient,
    device: ProvisionedDevice,
    fingerprint: string,
    payload: Buffer,
  ): Promise<void> {
    let answer: RotationResponseMessage;
    if (payload.byteLength > MAX_CSR_MESSAGE_BYTES) {
      answer = {
        rotationId: '',
        status: 'FAILURE',
        errorCode: 'VALIDATION_FAILED',
        errorMsg: `the CSR message is larger than ${MAX_CSR_MESSAGE_BYTES} bytes`,
      };
    } else {
      answer = await opts.rotation.submitCsr(device, fingerprint, parseJson(payload));
    }
    send(client, ROTATION_TOPICS.response, answer);
  }
}

export type MqttRotation = ReturnType<typeof createMqttRotation>;

function parseJson(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8')) as unknown;
  } catch {
    return undefined;
  }
}
