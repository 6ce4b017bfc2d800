import mqtt, { type MqttClient } from 'mqtt';
import { ROTATION_TOPICS } from '../domain/rotation';
import { backoffMs, type DeviceBehaviour } from './behaviours';
import type { Credentials } from './credentials';
import { type DeviceEvent, type DeviceEventType, RotationProtocol } from './rotation-protocol';

export type { DeviceEvent, DeviceEventType } from './rotation-protocol';

/*
 * One simulated device over a real MQTT/TLS connection authenticated by its certificate,
 * running the device side of the rotation protocol (./rotation-protocol.ts). mqtt.js's own
 * reconnect is off: reconnects are a device decision here (switch to the new certificate, back
 * off after a refusal), and every one of them is recorded.
 */

export type DeviceState = 'offline' | 'connecting' | 'connected' | 'refused' | 'disconnected';

export interface DeviceTarget {
  /** `mqtts://host:port` of the edge. */
  mqttsUrl: string;
  /** PEM of the CA that signed the edge's server certificate. */
  serverCaPem: string;
  connectTimeoutMs?: number;
  reconnect?: { minMs: number; maxMs: number };
}

/** Bound on the events kept per device (a long simulation must not grow without limit). */
const MAX_EVENTS = 500;
interface Connection {
  client: MqttClient;
  /** Closed by this device (switch, offline, stop): not a server disconnect. */
  intentional: boolean;
}

export class SimulatedDevice {
  state: DeviceState = 'offline';
  /** Rotations confirmed: connected with the new certificate. */
  rotations = 0;
  readonly events: DeviceEvent[] = [];
  /** A never-confirming device's certificate it received and keeps unused. */
  unconfirmed: Credentials | null = null;

  private creds: Credentials;
  /** The credentials before a switch, until the new ones connect (fallback on refusal). */
  private previous: Credentials | null = null;
  private readonly protocol: RotationProtocol;
  private conn: Connection | null = null;
  private attempt = 0;
  private timers = new Set<NodeJS.Timeout>();
  private stopped = false;

  constructor(
    readonly name: string,
    credentials: Credentials,
    readonly behaviour: DeviceBehaviour,
    private readonly target: DeviceTarget,
  ) {
    this.creds = credentials;
    this.protocol = new RotationProtocol({
      name,
      behaviour,
      isStopped: () => this.stopped,
      record: (type, detail) => this.record(type, detail),
      later: (ms, fn) => this.later(ms, fn),
      publish: (topic, payload) => {
        const client = this.conn?.client;
        if (!client?.connected) return false;
        client.publish(topic, payload, { qos: 1 });
        return true;
      },
      adopt: (next) => this.adopt(next),
    });
  }

  /** FAILURE answers received, in order. */
  get failures(): RotationProtocol['failures'] {
    return this.protocol.failures;
  }

  get credentials(): Credentials {
    return this.creds;
  }

  /** SHA-256 hex of the certificate the device currently connects with. */
  get fingerprint(): string {
    return this.creds.fingerprintSha256;
  }

  get online(): boolean {
    return this.behaviour.online;
  }

  /** Connects if online; resolves once the first attempt settled (connected, refused or closed). */
  start(): Promise<void> {
    if (!this.behaviour.online || this.stopped || this.conn) return Promise.resolve();
    return this.connect();
  }

  /** Takes the device on or off line (offline: closes its session and stops reconnecting). */
  async setOnline(online: boolean): Promise<void> {
    this.behaviour.online = online;
    if (online) return this.start();
    this.clearTimers();
    await this.disconnect();
    this.state = 'offline';
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.clearTimers();
    await this.disconnect();
    this.state = 'offline';
  }

  eventsOf(type: DeviceEventType): DeviceEvent[] {
    return this.events.filter((e) => e.type === type);
  }

  private record(type: DeviceEventType, detail: string): void {
    this.events.push({ at: Date.now(), type, detail });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  private connect(): Promise<void> {
    const creds = this.creds;
    const client = mqtt.connect(this.target.mqttsUrl, {
      ca: this.target.serverCaPem,
      cert: creds.certPem + creds.chainPem,
      key: creds.keyPem,
      clientId: this.name,
      reconnectPeriod: 0,
      connectTimeout: this.target.connectTimeoutMs ?? 30_000,
      protocolVersion: 4,
      clean: true,
    });
    const conn: Connection = { client, intentional: false };
    this.conn = conn;
    this.state = 'connecting';
    return new Promise((settle) => {
      let connected = false;
      let refusal: string | undefined;
      client.on('connect', () => {
        connected = true;
        this.attempt = 0;
        if (this.previous) {
          this.previous = null;
          this.rotations++;
          this.record('reconnected_with_new', creds.fingerprintSha256);
        } else {
          this.record('connected', creds.fingerprintSha256);
        }
        // Connected means subscribed: a pending request is (re)published on subscribe.
        client.subscribe([ROTATION_TOPICS.request, ROTATION_TOPICS.response], { qos: 1 }, (err, granted) => {
          const denied = granted?.filter((g) => g.qos === 128).map((g) => g.topic) ?? [];
          if (err || denied.length) this.record('error', `subscribe: ${err?.message ?? denied.join(',')}`);
          if (this.conn === conn) this.state = 'connected';
          settle();
        });
      });
      client.on('message', (topic, payload) => this.protocol.onMessage(topic, payload));
      client.on('error', (err: Error & { code?: number | string }) => {
        if (!connected) refusal = String(err.code ?? err.message);
      });
      client.on('close', () => {
        client.removeAllListeners('close');
        if (conn.intentional || this.conn !== conn) return settle();
        this.conn = null;
        if (connected) {
          this.state = 'disconnected';
          this.record('disconnected_by_server', creds.fingerprintSha256);
        } else {
          this.state = 'refused';
          this.record('refused', refusal ?? 'closed before CONNACK');
          // A real device keeps its previous key until the new certificate is accepted.
          if (this.previous && (refusal === '4' || refusal === '5')) this.fallBack();
        }
        settle();
        this.scheduleReconnect();
      });
    });
  }

  private fallBack(): void {
    if (!this.previous) return;
    this.record('fell_back', this.previous.fingerprintSha256);
    this.creds = this.previous;
    this.previous = null;
  }

  private scheduleReconnect(): void {
    if (this.stopped || !this.behaviour.online || !this.behaviour.autoReconnect) return;
    const { minMs, maxMs } = this.target.reconnect ?? { minMs: 1_000, maxMs: 30_000 };
    this.later(backoffMs(this.attempt++, minMs, maxMs, Math.random), () => {
      if (!this.conn && !this.stopped && this.behaviour.online) void this.connect();
    });
  }

  private later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      fn();
    }, ms);
    this.timers.add(timer);
  }

  private clearTimers(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }

  private async disconnect(): Promise<void> {
    const conn = this.conn;
    this.conn = null;
    if (!conn) return;
    conn.intentional = true;
    await new Promise<void>((resolve) => conn.client.end(false, {}, () => resolve()));
  }

  /** A new certificate for the rotation's key: hold it (never confirms) or switch to it. */
  private async adopt(next: Credentials): Promise<void> {
    if (this.behaviour.neverConfirm) {
      this.unconfirmed = next;
      return;
    }
    // The new key is stored first, then used: that connect is the confirmation.
    this.previous = this.creds;
    this.creds = next;
    await this.disconnect();
    if (!this.stopped && this.behaviour.online) await this.connect();
  }
}
