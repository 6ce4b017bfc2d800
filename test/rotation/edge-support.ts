import mqtt, { type MqttClient } from 'mqtt';
import { createHash, createPrivateKey, createPublicKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { webcrypto, x509 } from '../../pki/crypto';
import type { Edge } from '../../runtime/edge';
import { eventually } from '../support/eventually';

/** What a test device presents: a certificate (and key), or an access token. */
export type DeviceIdentity = { certPem: string; keyPem: string } | { token: string };

/** A live MQTT session of a test device: every message it received and whether it was closed. */
export interface Session {
  client: MqttClient;
  /** CONNACK return code (0: accepted). */
  code: number;
  messages: { topic: string; payload: string }[];
  isClosed(): boolean;
  end(): Promise<void>;
}

export function serverCaOf(edge: Edge): string {
  return readFileSync(edge.caFile, 'utf8');
}

let counter = 0;

/** Connects (TLS for certificates, plain TCP for tokens) and resolves once CONNACK arrived. */
export function openSession(edge: Edge, identity: DeviceIdentity, clientId?: string): Promise<Session> {
  const id = clientId ?? `edge-test-${process.pid}-${++counter}`;
  const client =
    'token' in identity
      ? mqtt.connect(`mqtt://127.0.0.1:${edge.broker.ports.plain}`, {
          username: identity.token,
          clientId: id,
          reconnectPeriod: 0,
          connectTimeout: 30_000,
          protocolVersion: 4,
        })
      : mqtt.connect(`mqtts://localhost:${edge.broker.ports.tls}`, {
          ca: serverCaOf(edge),
          cert: identity.certPem,
          key: identity.keyPem,
          clientId: id,
          reconnectPeriod: 0,
          connectTimeout: 30_000,
          protocolVersion: 4,
        });
  let closed = false;
  const messages: Session['messages'] = [];
  client.on('close', () => (closed = true));
  client.on('message', (topic, payload) => messages.push({ topic, payload: payload.toString('utf8') }));
  const session = (code: number): Session => ({
    client,
    code,
    messages,
    isClosed: () => closed,
    end: () => new Promise<void>((resolve) => client.end(true, {}, () => resolve())),
  });
  return new Promise((resolve) => {
    client.once('connect', () => resolve(session(0)));
    client.once('error', (err: Error & { code?: number }) => {
      client.end(true);
      resolve(session(typeof err.code === 'number' ? err.code : -1));
    });
  });
}

/** Subscribes and resolves with the granted codes (128: refused). */
export function subscribe(session: Session, filter: string): Promise<number> {
  return new Promise((resolve, reject) => {
    session.client.subscribe(filter, { qos: 1 }, (err, granted) => {
      if (err) return reject(err);
      resolve(granted?.[0]?.qos ?? -1);
    });
  });
}

export function publish(session: Session, topic: string, payload: string): Promise<void> {
  return new Promise((resolve, reject) => {
    session.client.publish(topic, payload, { qos: 1 }, (err) => (err ? reject(err) : resolve()));
  });
}

/** The first message on `topic` after `from` messages, parsed; fails after a generous wait. */
export async function nextMessage<T>(session: Session, topic: string, from = 0, ms = 30_000): Promise<T> {
  const found = await eventually(
    () => Promise.resolve(session.messages.slice(from).find((m) => m.topic === topic)),
    (m) => m !== undefined,
    ms,
  );
  if (!found) throw new Error(`no message on ${topic} within ${ms} ms`);
  return JSON.parse(found.payload) as T;
}

export interface HttpsAnswer {
  status: number;
  contentType: string | undefined;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

/** One request to the device HTTPS API with a client certificate. */
export function deviceRequest(
  edge: Edge,
  identity: { certPem: string; keyPem: string },
  method: string,
  path: string,
  body?: string,
  contentType?: string,
): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        servername: 'localhost',
        port: edge.deviceHttpsPort,
        path,
        method,
        ca: serverCaOf(edge),
        cert: identity.certPem,
        key: identity.keyPem,
        // A fresh TLS session each time: the certificate presented must be this one.
        agent: false,
        headers: body === undefined ? {} : { 'content-type': contentType ?? 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (d: Buffer) => (text += d.toString()));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            contentType: res.headers['content-type'],
            text,
            json: <T>() => JSON.parse(text) as T,
          }),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A fresh P-256 key and a CSR signed with it, as firmware makes them (subject is ignored). */
export async function keyAndCsr(): Promise<{ keyPem: string; csrPem: string }> {
  const keys = await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify']);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: ['ignored'] }],
    keys,
    signingAlgorithm: EC_P256,
  });
  const pkcs8 = await webcrypto.subtle.exportKey('pkcs8', keys.privateKey);
  const body =
    Buffer.from(pkcs8)
      .toString('base64')
      .match(/.{1,64}/g) ?? [];
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${body.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { keyPem, csrPem: csr.toString('pem') };
}

/** True when the certificate certifies the public half of the key. */
export function certifiesKey(certPem: string, keyPem: string): boolean {
  const spki = (key: ReturnType<typeof createPublicKey>) => key.export({ type: 'spki', format: 'der' });
  return spki(new X509Certificate(certPem).publicKey).equals(spki(createPublicKey(createPrivateKey(keyPem))));
}

export function fingerprintOf(certPem: string): string {
  return createHash('sha256').update(new X509Certificate(certPem).raw).digest('hex');
}
