import {
  ROTATION_TOPICS,
  type RotationCsrMessage,
  type RotationRequestMessage,
  type RotationResponseMessage,
} from '../domain/rotation';
import type { DeviceBehaviour } from './behaviours';
import {
  certificateMatchesKey,
  type Credentials,
  credentialsFromChain,
  fingerprintOf,
  generateKeyAndCsr,
} from './credentials';

/*
 * The device's half of the rotation protocol (docs/rotation.md §2.1), apart from the connection
 * it runs over: request → fresh key and CSR → verified certificate handed to the device, which
 * decides to switch to it (the confirming reconnect) or, if it never confirms, to hold it.
 */

export type DeviceEventType =
  | 'connected'
  | 'reconnected_with_new'
  | 'request'
  | 'csr_sent'
  | 'response'
  | 'disconnected_by_server'
  | 'refused'
  | 'fell_back'
  | 'error';

export interface DeviceEvent {
  /** Date.now() when it happened. */
  at: number;
  type: DeviceEventType;
  /** Rotation id, fingerprint, CONNACK code or error code, depending on the event. */
  detail: string;
}

/** What the protocol needs from the device it runs in. */
export interface ProtocolHost {
  readonly name: string;
  readonly behaviour: DeviceBehaviour;
  isStopped(): boolean;
  record(type: DeviceEventType, detail: string): void;
  /** A timer cleared when the device stops. */
  later(ms: number, fn: () => void): void;
  /** Publishes with QoS 1 on the current session; false when not connected. */
  publish(topic: string, payload: string): boolean;
  /** A verified certificate for the rotation's key: switch to it (or hold it). */
  adopt(next: Credentials): Promise<void>;
}

/** A bad-CSR device sends its good CSR after this long if the refusal never comes. */
const BAD_CSR_FALLBACK_MS = 10_000;
/** Refusals that say "not now": the same CSR is sent again after a pause (docs/rotation.md §1.2). */
const RETRY_LATER = new Set(['RATE_LIMITED', 'DEPENDENCY_UNAVAILABLE', 'WORKFLOW_TIMEOUT']);
const RETRY_AFTER_MS = 2_000;
const MAX_RETRIES = 10;
const INVALID_CSR = '-----BEGIN CERTIFICATE REQUEST-----\nbm90IGEgQ1NS\n-----END CERTIFICATE REQUEST-----\n';

interface Rotation {
  rotationId: string;
  keyPem?: string;
  csrPem?: string;
  badSent: boolean;
  goodSent: boolean;
  retries: number;
  /** Fingerprint of the certificate the platform answered with. */
  issued?: string;
}

export class RotationProtocol {
  /** FAILURE answers received, in order. */
  readonly failures: { rotationId: string; errorCode: string; errorMsg: string }[] = [];
  private rotation: Rotation | null = null;

  constructor(private readonly host: ProtocolHost) {}

  onMessage(topic: string, payload: Buffer): void {
    let msg: unknown;
    try {
      msg = JSON.parse(payload.toString('utf8'));
    } catch {
      this.host.record('error', `unparseable message on ${topic}`);
      return;
    }
    if (!msg || typeof (msg as { rotationId?: unknown }).rotationId !== 'string') {
      this.host.record('error', `message without rotationId on ${topic}`);
      return;
    }
    if (topic === ROTATION_TOPICS.request) void this.onRequest(msg as RotationRequestMessage);
    else if (topic === ROTATION_TOPICS.response) void this.onResponse(msg as RotationResponseMessage);
  }

  private async onRequest(req: RotationRequestMessage): Promise<void> {
    const { host } = this;
    host.record('request', req.rotationId);
    const current = this.rotation;
    if (current?.rotationId === req.rotationId) {
      // A repeated request (the device reconnected, or QoS 1 redelivery). Answered already:
      // nothing to do. CSR made: send it again — the answer may have been lost, and the same key
      // gets the same certificate back. Still preparing (or interrupted by going offline): start over.
      if (current.issued !== undefined) return;
      if (current.csrPem) return this.sendCsr(current, 'good');
    }
    const rotation: Rotation = { rotationId: req.rotationId, badSent: false, goodSent: false, retries: 0 };
    this.rotation = rotation;
    if (host.behaviour.slowMs > 0) await new Promise<void>((r) => host.later(host.behaviour.slowMs, r));
    if (this.rotation !== rotation || host.isStopped()) return;
    Object.assign(rotation, generateKeyAndCsr(host.name));
    if (!host.behaviour.badCsr) return this.sendCsr(rotation, 'good');
    this.sendCsr(rotation, 'bad');
    host.later(BAD_CSR_FALLBACK_MS, () => {
      if (this.rotation === rotation && !rotation.goodSent) this.sendCsr(rotation, 'good');
    });
  }

  private sendCsr(rotation: Rotation, kind: 'good' | 'bad'): void {
    if (!rotation.csrPem) return;
    const msg: RotationCsrMessage = {
      rotationId: rotation.rotationId,
      csr: kind === 'good' ? rotation.csrPem : INVALID_CSR,
    };
    // Not connected: the platform re-sends the request when the device subscribes again.
    if (!this.host.publish(ROTATION_TOPICS.csr, JSON.stringify(msg))) return;
    if (kind === 'good') rotation.goodSent = true;
    else rotation.badSent = true;
    this.host.record('csr_sent', `${rotation.rotationId}${kind === 'bad' ? ' (invalid)' : ''}`);
  }

  private async onResponse(res: RotationResponseMessage): Promise<void> {
    const { host } = this;
    const rotation = this.rotation;
    if (!rotation || rotation.rotationId !== res.rotationId) {
      host.record('response', `${res.rotationId} ignored (not the current rotation)`);
      return;
    }
    if (res.status === 'FAILURE') {
      host.record('response', `${res.rotationId} FAILURE ${res.errorCode}`);
      this.failures.push({ rotationId: res.rotationId, errorCode: res.errorCode, errorMsg: res.errorMsg });
      if (rotation.badSent && !rotation.goodSent) this.sendCsr(rotation, 'good');
      else if (RETRY_LATER.has(res.errorCode) && rotation.retries++ < MAX_RETRIES) {
        host.later(RETRY_AFTER_MS, () => {
          if (this.rotation === rotation && rotation.issued === undefined) this.sendCsr(rotation, 'good');
        });
      }
      return;
    }
    if (rotation.issued !== undefined) return; // a duplicate answer to a re-sent CSR
    const keyPem = rotation.keyPem ?? '';
    if (
      !certificateMatchesKey(res.certificate, keyPem) ||
      fingerprintOf(res.certificate) !== res.fingerprintSha256
    ) {
      host.record(
        'error',
        `${res.rotationId}: the certificate does not match the CSR key or its fingerprint`,
      );
      return;
    }
    rotation.issued = res.fingerprintSha256;
    host.record('response', `${res.rotationId} SUCCESS ${res.fingerprintSha256}`);
    await host.adopt(credentialsFromChain(keyPem, res.certificate, res.certificateChain));
  }
}
