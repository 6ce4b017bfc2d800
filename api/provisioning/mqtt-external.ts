/**
 * Provisioning through an external MQTT 5 broker (`MQTT_URL`, e.g. Mosquitto): the edge is
 * a client that takes requests from a shared subscription, so N edges split the load, and
 * answers with MQTT 5 request/response: to the request's `responseTopic`, echoing its
 * `correlationData`.
 *
 * Contract for devices: publish the request (MQTT 5) on `/provision/request` with a
 * `responseTopic` under `/provision/response/` that only this device reads (e.g. its own
 * random suffix; the broker's ACL should confine each device to its own), subscribed before
 * publishing. Requests without a response topic, or with one outside that prefix, get no
 * answer: a shared `/provision/response` would hand credentials to every listener, and an
 * arbitrary topic would let a device make the edge publish wherever its broker account may.
 * ThingsBoard's MQTT 3.1.1 flow needs the embedded broker, which answers per connection.
 */
import mqtt, { type IClientOptions, type IPublishPacket } from 'mqtt';
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { failure, type ProvisionResponseWire } from '../../domain/provisioning';
import { parseProvisionPayload, PROVISION_REQUEST_TOPIC } from '../mqtt/provisioning';
import type { ProvisionHandler } from './handler';

export interface ExternalProvisioningOptions {
  /** The broker, e.g. mqtt://user:pass@broker:1883; it must speak MQTT 5. */
  url: string;
  handler: ProvisionHandler;
  logger: Logger;
  /** Defaults to `/provision/request`; tests pass a unique one. */
  requestTopic?: string;
  /** Only response topics starting with this are answered. Defaults to `/provision/response/`. */
  responseTopicPrefix?: string;
  /** The shared-subscription group all edges join. Defaults to `certflow`. */
  shareGroup?: string;
  /** Requests handled at once by this edge; beyond it devices get PROVISION_RATE_LIMITED. */
  maxInFlight?: number;
  /** Request payload bytes; larger requests get PROVISION_BAD_REQUEST. */
  maxPayloadBytes?: number;
  /** Extra mqtt.js options (credentials, TLS). */
  clientOptions?: IClientOptions;
}

export interface ExternalProvisioning {
  close(): Promise<void>;
}

/** Where an answer may go: a plain topic (no wildcards, not `$…`) under the prefix. */
export function responseTopicAllowed(topic: string | undefined, prefix: string): topic is string {
  return (
    typeof topic === 'string' &&
    topic.startsWith(prefix) &&
    topic.length > prefix.length &&
    topic.length <= 256 &&
    !/[+#]/.test(topic) &&
    !topic.includes('\u0000') &&
    !topic.startsWith('$')
  );
}

/** Resolves once connected and subscribed; rejects if the broker cannot be reached at start. */
export async function startExternalProvisioning(
  opts: ExternalProvisioningOptions,
): Promise<ExternalProvisioning> {
  const requestTopic = opts.requestTopic ?? PROVISION_REQUEST_TOPIC;
  const prefix = opts.responseTopicPrefix ?? '/provision/response/';
  const maxInFlight = opts.maxInFlight ?? 64;
  const maxPayloadBytes = opts.maxPayloadBytes ?? 16 * 1024;
  // The device's address is not visible through a broker; the broker's host stands in for it.
  const remote = new URL(opts.url).host;
  const client = await mqtt.connectAsync(
    opts.url,
    {
      protocolVersion: 5,
      clientId: `certflow-provision-${randomUUID().slice(0, 8)}`,
      clean: true,
      reconnectPeriod: 2_000,
      connectTimeout: 10_000,
      ...opts.clientOptions,
    },
    false,
  );
  client.on('error', (err) => opts.logger.warn({ err }, 'provisioning MQTT client error'));
  let inFlight = 0;

  function answer(responseTopic: string, packet: IPublishPacket, response: ProvisionResponseWire): void {
    const correlationData = packet.properties?.correlationData;
    client.publish(
      responseTopic,
      JSON.stringify(response),
      {
        qos: packet.qos >= 1 ? 1 : 0,
        properties: { contentType: 'application/json', ...(correlationData ? { correlationData } : {}) },
      },
      (err) => {
        if (err) opts.logger.warn({ err, responseTopic }, 'provisioning answer not published');
      },
    );
  }

  client.on('message', (_topic, payload, packet) => {
    const responseTopic = packet.properties?.responseTopic;
    if (!responseTopicAllowed(responseTopic, prefix)) {
      // Never log the payload: it carries the provision secret.
      opts.logger.warn(
        { responseTopic, prefix },
        'provision request without an allowed response topic; not answered',
      );
      return;
    }
    if (payload.length > maxPayloadBytes) {
      answer(
        responseTopic,
        packet,
        failure('PROVISION_BAD_REQUEST', `the request is larger than ${maxPayloadBytes} bytes`),
      );
      return;
    }
    if (inFlight >= maxInFlight) {
      answer(responseTopic, packet, failure('PROVISION_RATE_LIMITED', 'the edge is busy, retry later'));
      return;
    }
    inFlight += 1;
    opts
      .handler(parseProvisionPayload(payload), { transport: 'mqtt-external', remote })
      .catch((err: unknown) => {
        // The handler promises never to throw; if it does, the device still gets an answer.
        opts.logger.error({ err }, 'provision handler threw');
        return failure('PROVISION_UNAVAILABLE', 'provisioning is unavailable, retry later');
      })
      .then((response) => answer(responseTopic, packet, response))
      .finally(() => (inFlight -= 1))
      .catch(() => undefined);
  });

  const filter = `$share/${opts.shareGroup ?? 'certflow'}/${requestTopic}`;
  try {
    const granted = await client.subscribeAsync(filter, { qos: 1 });
    if (granted.some((g) => g.qos >= 0x80))
      throw new Error(`the broker refused the subscription to ${filter}`);
  } catch (err) {
    await client.endAsync(true);
    throw err;
  }
  opts.logger.info({ filter }, 'serving provisioning through the external broker');
  return { close: () => client.endAsync() };
}
