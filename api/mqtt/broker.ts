import type { Kysely } from 'kysely';
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import type { Logger } from 'pino';
import {
  compilePolicy,
  type CompiledPolicy,
  mayPublish,
  maySubscribe,
  parsePolicy,
} from '../../domain/policy';
import { ROTATION_TOPICS, type RotationRequestMessage } from '../../domain/rotation';
import { type AuthenticatedDevice, loadPolicyContext } from '../../registry/devices';
import type { Database } from '../../registry/schema';
import type { CertificateAuthenticator } from '../edge/first-connect';
import { type PresentedCertificates, presentedCertificates } from '../edge/peer-chain';
import type { EdgeRotation } from '../edge/rotation';
import type { ProvisionHandler } from '../provisioning/handler';
import { createDeviceAuthenticator } from './device-auth';
import { GATEWAY_CONNECT_TOPIC, type GatewayHandler } from './gateway';
import { clientIdProblem, toDevice, toInternal } from './me-topics';
import {
  createProvisioningSessions,
  isProvisioningConnect,
  PROVISION_REQUEST_TOPIC,
  provisionSubscribeAllowed,
  type ProvisionLimits,
} from './provisioning';
import { createMqttRotation, rotationSubscribeAllowed } from './rotation';
import { createSessionIndex } from './sessions';

// MQTT 3.1.1 CONNACK return codes (aedes speaks 3.1.1).
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;
const SERVER_UNAVAILABLE = 3;

export interface BrokerOptions {
  db: Kysely<Database>;
  logger: Logger;
  host: string;
  port: number;
  tlsPort: number;
  tls: { certPem: string; keyPem: string };
  /** X.509 devices: known ones are checked, unknown ones provisioned while the CONNECT is held. */
  authenticateCertificate?: CertificateAuthenticator;
  /**
   * ThingsBoard MQTT provisioning: with it, a connect without credentials (or with username
   * `provision`) opens a provisioning-only session; without it such connects are refused (5).
   */
  provision?: ProvisionHandler;
  provisionLimits?: ProvisionLimits;
  /** Gateway provisioning on v1/gateway/connect (for devices whose policy allows that topic). */
  gateway?: GatewayHandler;
  /** The rotation protocol's topics (./rotation.ts); without it they follow the class policy. */
  rotation?: EdgeRotation;
}

export interface EmbeddedBroker {
  /** The device behind a connected client id, for later hooks and tests. */
  deviceOf(clientId: string): AuthenticatedDevice | undefined;
  /**
   * Forgets what the broker cached about the device (credentials, compiled policy) and makes
   * any connect of it still being authenticated fail: call before `disconnectDevice`.
   */
  forgetDevice(deviceId: string): void;
  /**
   * Closes the device's live sessions: those authenticated with the certificate of this
   * SHA-256 fingerprint, or all of them without one. Returns how many were closed.
   */
  disconnectDevice(deviceId: string, fingerprint?: string | null): number;
  /** Whether the device has a live session on this broker. */
  isConnected(deviceId: string): boolean;
  /** Publishes a rotation request to the device's sessions subscribed to it; false if none is here. */
  requestRotation(deviceId: string, request: RotationRequestMessage): boolean;
  ports: { plain: number; tls: number };
  close(): Promise<void>;
}

/** A device that authenticated, and the certificate (SHA-256) it did so with, if any. */
interface Identity {
  device: AuthenticatedDevice;
  fingerprint: string | null;
}

function authError(code: number, message: string) {
  return Object.assign(new Error(message), { returnCode: code });
}

/**
 * The embedded MQTT broker (aedes, MQTT 3.1.1) on a plain and a TLS port. Devices
 * authenticate with their access token as the MQTT username, checked against the registry,
 * or over TLS with their certificate (no username). aedes lets `authenticate` answer late, so
 * a first connect is held while the device is provisioned; MQTT 3.1.1 has no "busy" reason,
 * so retryable refusals are CONNACK 3 (server unavailable) and identity refusals 5.
 * With `provision`, credential-less connects are ThingsBoard provisioning sessions (see
 * ./provisioning.ts), confined to the two provisioning topics.
 */
export async function startBroker(opts: BrokerOptions): Promise<EmbeddedBroker> {
  // aedes 1.x ships ESM only; load it dynamically from this CommonJS module.
  const { Aedes } = await import('aedes');
  const credentials = createDeviceAuthenticator(opts.db);
  // Keyed by client id for deviceOf(), holding the client object so that a takeover (same
  // client id) is not undone by the old connection's disconnect, which aedes reports later.
  const devices = new Map<string, { client: object; device: AuthenticatedDevice }>();
  const sessions = createSessionIndex();
  const rotation = opts.rotation
    ? createMqttRotation({ rotation: opts.rotation, logger: opts.logger })
    : undefined;
  const provisioning = opts.provision
    ? createProvisioningSessions({
        provision: opts.provision,
        logger: opts.logger,
        limits: opts.provisionLimits,
      })
    : undefined;

  const broker = await Aedes.createBroker({
    // Every session is clean: a persistent session (subscriptions, queued messages) is keyed
    // by client id only, so it could outlive its device's authorisation or be picked up by
    // another device presenting the same id. Devices resubscribe on connect, as MQTT allows.
    preConnect: (_client, packet, callback) => {
      packet.clean = true;
      callback(null, true);
    },
    authenticate: (client, username, passwordBuffer, done) => {
      if (clientIdProblem(client.id))
        return done(authError(IDENTIFIER_REJECTED, 'client id not accepted'), false);
      const presented = presentedCertificates(client.conn);
      const password = passwordBuffer?.toString('utf8');
      const mark = sessions.mark();
      const answer = async (): Promise<void> => {
        const result = await identify(client.id, username, password, presented);
        if (result === 'provision' && provisioning) {
          // Without this, anyone could knock a connected device off by reusing its client id.
          if (devices.has(client.id)) return done(authError(IDENTIFIER_REJECTED, 'client id in use'), false);
          provisioning.open(client, remoteAddress(client.conn));
          return done(null, true);
        }
        if (typeof result !== 'object') {
          return done(
            authError(result === 'provision' ? NOT_AUTHORIZED : result, 'connection refused'),
            false,
          );
        }
        const { device, fingerprint } = result;
        const policy = await policyFor(device);
        const will = (client as { _will?: { topic: string; retain?: boolean } })._will;
        if (will && !mayPublish(policy, will.topic, { retain: will.retain === true })) {
          return done(authError(NOT_AUTHORIZED, 'will topic not allowed'), false);
        }
        const holder = devices.get(client.id);
        if (holder && holder.device.deviceId !== device.deviceId) {
          // Another device may not take over (and disconnect) a connected device by its client id.
          return done(authError(IDENTIFIER_REJECTED, 'client id in use'), false);
        }
        if (sessions.revokedSince(device.deviceId, mark)) {
          // Revoked while this connect was in flight: retryable, the next try reads the registry.
          return done(authError(SERVER_UNAVAILABLE, 'credentials changed'), false);
        }
        devices.set(client.id, { client, device });
        policies.set(client, { policy, deviceId: device.deviceId, fingerprint });
        sessions.add(device.deviceId, client, fingerprint);
        done(null, true);
      };
      answer().catch((err: unknown) => {
        opts.logger.error({ err, clientId: client.id }, 'device authentication failed');
        done(authError(SERVER_UNAVAILABLE, 'registry unavailable'), false);
      });
    },
    authorizePublish: (client, packet, done) => {
      if (client && provisioning?.isProvisioning(client))
        return done(provisioning.acceptPublish(client, packet));
      // Looked up by client object, not id: a will is published after the client left.
      const grant = client ? policies.get(client) : undefined;
      const device = client && isDevice(client) ? devices.get(client.id)?.device : undefined;
      if (client && grant?.fingerprint && device && rotation) {
        const handled = rotation.acceptPublish(client, device, grant.fingerprint, packet);
        if (handled !== undefined) return done(handled);
      }
      if (!grant || !mayPublish(grant.policy, packet.topic, { retain: packet.retain })) {
        return done(new Error('publish not allowed'));
      }
      if (packet.topic === GATEWAY_CONNECT_TOPIC && opts.gateway) {
        const device = client ? devices.get(client.id)?.device : undefined;
        if (device) {
          opts.gateway(device, Buffer.from(packet.payload)).catch((err: unknown) => {
            opts.logger.error({ err, gateway: device.deviceId }, 'gateway connect failed');
          });
        }
      }
      packet.topic = toInternal(packet.topic, grant.deviceId);
      done(null);
    },
    authorizeSubscribe: (client, sub, done) => {
      // A null subscription makes aedes answer SUBACK 0x80 for this filter.
      if (provisioning?.isProvisioning(client))
        return done(null, provisionSubscribeAllowed(sub.topic) ? sub : null);
      const grant = policies.get(client);
      const control =
        rotation !== undefined && grant?.fingerprint != null && rotationSubscribeAllowed(sub.topic);
      const allowed =
        isDevice(client) && grant !== undefined && (control || maySubscribe(grant.policy, sub.topic));
      done(null, allowed && grant ? { ...sub, topic: toInternal(sub.topic, grant.deviceId) } : null);
    },
    // Provision requests are answered by the broker itself and never routed to subscribers
    // (none may subscribe to them today; this holds if topic rules ever widen).
    authorizeForward: (client, packet) => {
      // Control messages the broker handles itself are never routed to subscribers.
      if (packet.topic === PROVISION_REQUEST_TOPIC || packet.topic === GATEWAY_CONNECT_TOPIC) return null;
      const topic = toDevice(packet.topic, policies.get(client)?.deviceId);
      if (topic === undefined || topic === ROTATION_TOPICS.csr) return null;
      return topic === packet.topic ? packet : { ...packet, topic };
    },
  });
  const isDevice = (client: { id: string }) => devices.get(client.id)?.client === client;
  const policies = new WeakMap<
    object,
    { policy: CompiledPolicy; deviceId: string; fingerprint: string | null }
  >();

  /**
   * The device's least-privilege topic policy: its class's policy (ThingsBoard's device topics
   * by default) with the device's own name, id, tenant and attributes substituted.
   */
  // Compiled policies are reused for a few seconds, as credentials are: a reconnect storm of
  // known devices then costs no registry query at all.
  const compiled = new Map<string, { policy: CompiledPolicy; until: number }>();
  async function policyFor(device: AuthenticatedDevice, now = Date.now()): Promise<CompiledPolicy> {
    const hit = compiled.get(device.deviceId);
    if (hit && hit.until > now) return hit.policy;
    const ctx = await loadPolicyContext(opts.db, device.deviceId);
    const policy = compilePolicy(parsePolicy(ctx?.policy ?? null), {
      tenant: device.tenantId,
      deviceId: device.deviceId,
      deviceName: device.deviceName,
      attributes: ctx?.attributes ?? {},
    });
    if (compiled.size > 10_000) compiled.clear();
    compiled.set(device.deviceId, { policy, until: now + 5_000 });
    return policy;
  }

  /**
   * Who is connecting: a device (by certificate, access token, or MQTT basic credentials), a
   * ThingsBoard provisioning session, or a CONNACK refusal code.
   */
  async function identify(
    clientId: string,
    username: string | undefined,
    password: string | undefined,
    presented: PresentedCertificates,
  ): Promise<Identity | 'provision' | number> {
    if (!username && presented.leaf && opts.authenticateCertificate) {
      const outcome = await opts.authenticateCertificate(presented);
      if (outcome.ok) return { device: outcome.device, fingerprint: outcome.fingerprintSha256 };
      return outcome.retryable ? SERVER_UNAVAILABLE : NOT_AUTHORIZED;
    }
    if (isProvisioningConnect(username, presented.leaf !== undefined)) {
      // A device provisioned with MQTT basic "client id only" credentials also sends nothing else.
      if (!username) {
        const device = await credentials.byBasic(clientId, undefined, password);
        if (device) return { device, fingerprint: null };
      }
      return 'provision';
    }
    if (!username) return NOT_AUTHORIZED;
    // With a password the device means MQTT basic credentials, without one a token: the other
    // reading is only a fallback, so a token equal to someone's basic username (or the reverse)
    // never takes their connect over.
    const device = password
      ? ((await credentials.byBasic(clientId, username, password)) ?? (await credentials.byToken(username)))
      : ((await credentials.byToken(username)) ?? (await credentials.byBasic(clientId, username, password)));
    return device ? { device, fingerprint: null } : BAD_USERNAME_OR_PASSWORD;
  }
  // aedes has no unsubscribe hook: a device's `me` filters were subscribed under their internal
  // topic, so undo that subscription here once aedes has handled the literal one.
  broker.on('unsubscribe', (topics, client) => {
    const grant = policies.get(client);
    if (!grant) return;
    const subs = (client as unknown as { subscriptions: Record<string, { func: unknown } | undefined> })
      .subscriptions;
    for (const topic of topics) {
      const internal = toInternal(topic, grant.deviceId);
      const sub = internal === topic ? undefined : subs[internal];
      if (!sub) continue;
      broker.unsubscribe(internal, sub.func as Parameters<typeof broker.unsubscribe>[1], () => {
        delete subs[internal];
      });
    }
  });
  broker.on('clientDisconnect', (client) => {
    if (isDevice(client)) devices.delete(client.id);
    const deviceId = policies.get(client)?.deviceId;
    if (deviceId !== undefined) sessions.remove(deviceId, client);
  });
  // After the SUBACK: a device subscribing to rotation requests is shown the pending one.
  broker.on('subscribe', (subs, client) => {
    const grant = policies.get(client);
    const device = devices.get(client.id)?.device;
    if (!rotation || !grant || grant.fingerprint === null || !device || !isDevice(client)) return;
    const granted = subs.filter((s) => (s.qos as number) !== 128).map((s) => s.topic);
    rotation.onSubscribe(client, device, grant.fingerprint, granted).catch((err: unknown) => {
      opts.logger.warn({ err, deviceId: device.deviceId }, 'pending rotation request not shown');
    });
  });

  function forgetDevice(deviceId: string): void {
    sessions.revoke(deviceId);
    credentials.forgetDevice(deviceId);
    compiled.delete(deviceId);
  }

  function disconnectDevice(deviceId: string, fingerprint?: string | null): number {
    const closed = sessions.disconnect(deviceId, fingerprint);
    if (closed > 0) opts.logger.info({ deviceId, fingerprint, sessions: closed }, 'revoked sessions closed');
    return closed;
  }

  function requestRotation(deviceId: string, request: RotationRequestMessage): boolean {
    if (!sessions.has(deviceId)) return false;
    const payload = Buffer.from(JSON.stringify(request));
    broker.publish(
      {
        cmd: 'publish',
        topic: toInternal(ROTATION_TOPICS.request, deviceId),
        payload,
        qos: 1,
        retain: false,
        dup: false,
      },
      (err) => {
        if (err) opts.logger.warn({ err, deviceId }, 'rotation request not published');
      },
    );
    return true;
  }

  const plain = createServer((socket) => broker.handle(socket));
  const secure = createTlsServer(
    { cert: opts.tls.certPem, key: opts.tls.keyPem, requestCert: true, rejectUnauthorized: false },
    (socket) => broker.handle(socket),
  );
  await Promise.all([listen(plain, opts.port, opts.host), listen(secure, opts.tlsPort, opts.host)]);
  const ports = { plain: portOf(plain), tls: portOf(secure) };
  opts.logger.info({ ports }, 'MQTT broker listening');

  return {
    deviceOf: (clientId) => devices.get(clientId)?.device,
    forgetDevice,
    disconnectDevice,
    isConnected: (deviceId) => sessions.has(deviceId),
    requestRotation,
    ports,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await Promise.all([closeServer(plain), closeServer(secure)]);
    },
  };
}

async function listen(server: Server, port: number, host: string): Promise<void> {
  server.listen(port, host);
  await once(server, 'listening');
}

/** The client's IP address (no port: it changes per connection), for per-source limits. */
function remoteAddress(conn: unknown): string {
  const address = (conn as { remoteAddress?: unknown } | undefined)?.remoteAddress;
  return typeof address === 'string' ? address : 'unknown';
}

function portOf(server: Server): number {
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
