import mqtt from 'mqtt';
import type { DeviceCert } from '../../test/support/device-pki';

export interface TlsTarget {
  port: number;
  /** PEM the client trusts for the server certificate. */
  ca: string;
  /** Intermediate certificates sent after the device's own. */
  chainPem: string;
}

/**
 * One device's MQTT-over-TLS connect with its client certificate, resolved at CONNACK
 * (accepted) and then closed at once; rejects on a refusal, an error or a 30 s timeout.
 * The same code path drives certflow and the bare TLS baseline.
 */
export function connectDevice(target: TlsTarget, device: DeviceCert & { cn: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(`mqtts://localhost:${target.port}`, {
      ca: target.ca,
      cert: device.certPem + target.chainPem,
      key: device.keyPem,
      clientId: device.cn,
      reconnectPeriod: 0,
      connectTimeout: 30_000,
      protocolVersion: 4,
      clean: true,
    });
    const done = (err?: Error) => {
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      if (err) reject(err);
      else resolve();
    };
    client.once('connect', () => done());
    client.once('error', (err: Error & { code?: number | string }) =>
      done(new Error(`connect failed: ${err.code ?? ''} ${err.message}`)),
    );
    client.once('close', () => done(new Error('closed before CONNACK')));
  });
}
