/**
 * ThingsBoard's MQTT provisioning on the embedded broker: a device connects without
 * credentials (or with username `provision`), subscribes `/provision/response` and publishes
 * its request on `/provision/request`. Such a connection is a provisioning-only session. The
 * answer carries credentials, so it is written to the requesting connection only, never
 * through the shared topic tree. The rules here are pure; the broker wires them to aedes.
 */
import type { Logger } from 'pino';
import { failure, type ProvisionResponseWire } from '../../domain/provisioning';
import type { ProvisionHandler } from '../provisioning/handler';

export const PROVISION_REQUEST_TOPIC = '/provision/request';
export const PROVISION_RESPONSE_TOPIC = '/provision/response';
export const PROVISION_USERNAME = 'provision';

export interface ProvisionLimits {
  /** Requests per session: a device needs one (a few with retries); more is abuse. */
  maxRequests: number;
  /** Request payload bytes: a CSR request is a few KiB; ThingsBoard's are far smaller. */
  maxPayloadBytes: number;
}

export const defaultProvisionLimits: ProvisionLimits = { maxRequests: 5, maxPayloadBytes: 16 * 1024 };

/**
 * Whether a CONNECT opens a provisioning-only session: username `provision` (any password,
 * ThingsBoard's convention), or no username and no client certificate. A TLS client that
 * presents a certificate without a username goes to certificate authentication instead.
 */
export function isProvisioningConnect(username: string | undefined, presentedCertificate: boolean): boolean {
  if (username === PROVISION_USERNAME) return true;
  return !username && !presentedCertificate;
}

/** A provisioning session may subscribe to exactly `/provision/response` (no wildcards). */
export function provisionSubscribeAllowed(filter: string): boolean {
  return filter === PROVISION_RESPONSE_TOPIC;
}

/** A provisioning session may publish to exactly `/provision/request`. */
export function provisionPublishAllowed(topic: string): boolean {
  return topic === PROVISION_REQUEST_TOPIC;
}

/** The body handed to the handler: parsed JSON, or the raw text (the handler answers FAILURE). */
export function parseProvisionPayload(payload: Buffer | string): unknown {
  const text = typeof payload === 'string' ? payload : payload.toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/** The response is sent at the request's QoS, capped at 1 (QoS 2 buys nothing for an answer). */
export function responseQos(requestQos: number): 0 | 1 {
  return requestQos >= 1 ? 1 : 0;
}

export type Admission = 'accept' | 'too-large' | 'too-many';

/** Per-connection bookkeeping: where it comes from and how many requests it has made. */
export class ProvisionSession {
  private requests = 0;
  constructor(
    readonly remote: string,
    private readonly limits: ProvisionLimits = defaultProvisionLimits,
  ) {}

  /** Counts every request, answered or not, so oversized retries also use up the budget. */
  admit(payloadBytes: number): Admission {
    this.requests += 1;
    if (this.requests > this.limits.maxRequests) return 'too-many';
    return payloadBytes > this.limits.maxPayloadBytes ? 'too-large' : 'accept';
  }
}

/** The parts of an aedes client this module uses (structural, so tests can pass a fake). */
export interface ProvisioningClient {
  readonly id: string;
  readonly closed: boolean;
  publish(
    packet: { cmd: 'publish'; topic: string; payload: Buffer; qos: 0 | 1; retain: false; dup: false },
    done: (err?: Error) => void,
  ): void;
}

/** The parts of an incoming PUBLISH this module reads, and clears (payload, retain). */
export interface RequestPacket {
  topic: string;
  payload: Buffer | string;
  qos: number;
  retain: boolean;
}

export interface ProvisioningSessions {
  open(client: object, remote: string): void;
  isProvisioning(client: object): boolean;
  /**
   * For a provisioning session's PUBLISH: an Error refuses it (aedes then closes the
   * connection), null accepts it and the answer follows asynchronously. The request's payload
   * is taken out of the packet so the secret never travels further through the broker.
   */
  acceptPublish(client: ProvisioningClient, packet: RequestPacket): Error | null;
}

export function createProvisioningSessions(opts: {
  provision: ProvisionHandler;
  logger: Logger;
  limits?: ProvisionLimits;
}): ProvisioningSessions {
  // Keyed by the client object, not its id: a takeover with the same client id must not let
  // the old connection's disconnect drop the new one's session.
  const sessions = new WeakMap<object, ProvisionSession>();
  const limits = opts.limits ?? defaultProvisionLimits;

  function respond(client: ProvisioningClient, qos: 0 | 1, response: ProvisionResponseWire): void {
    if (client.closed) {
      opts.logger.info(
        { clientId: client.id, status: response.status },
        'provisioning client left before its answer',
      );
      return;
    }
    // Written straight to this connection (aedes `client.publish`), whether or not it has
    // subscribed yet: a device that publishes before its SUBACK must not lose credentials
    // that were already issued. ThingsBoard devices subscribe first, so they see no difference.
    const payload = Buffer.from(JSON.stringify(response));
    client.publish(
      { cmd: 'publish', topic: PROVISION_RESPONSE_TOPIC, payload, qos, retain: false, dup: false },
      (err) => {
        if (err) opts.logger.warn({ err, clientId: client.id }, 'provisioning answer not delivered');
      },
    );
  }

  return {
    open: (client, remote) => void sessions.set(client, new ProvisionSession(remote, limits)),
    isProvisioning: (client) => sessions.has(client),
    acceptPublish: (client, packet) => {
      const session = sessions.get(client);
      if (!session) return new Error('not a provisioning session');
      // aedes authorises a will as the connection closes: a provisioning session has no use
      // for one, and a will on /provision/request would be a request nobody can receive.
      if (client.closed) return new Error('provisioning sessions have no will');
      if (!provisionPublishAllowed(packet.topic))
        return new Error('provisioning sessions publish only to /provision/request');
      const payload = packet.payload;
      packet.payload = Buffer.alloc(0);
      packet.retain = false;
      const admission = session.admit(Buffer.byteLength(payload));
      if (admission === 'too-many') return new Error(`more than ${limits.maxRequests} provision requests`);
      const qos = responseQos(packet.qos);
      if (admission === 'too-large') {
        respond(
          client,
          qos,
          failure('PROVISION_BAD_REQUEST', `the request is larger than ${limits.maxPayloadBytes} bytes`),
        );
        return null;
      }
      opts.provision(parseProvisionPayload(payload), { transport: 'mqtt', remote: session.remote }).then(
        (response) => respond(client, qos, response),
        // The handler promises never to throw; if it does, the device still gets an answer.
        (err: unknown) => {
          opts.logger.error({ err, clientId: client.id }, 'provision handler threw');
          respond(client, qos, failure('PROVISION_UNAVAILABLE', 'provisioning is unavailable, retry later'));
        },
      );
      return null;
    },
  };
}
