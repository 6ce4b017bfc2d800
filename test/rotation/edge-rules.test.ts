import { describe, expect, it } from 'vitest';
import { csrFromBody } from '../../api/http/device/rotation';
import {
  coversRequestTopic,
  isPlatformRotationTopic,
  rotationSubscribeAllowed,
} from '../../api/mqtt/rotation';
import { ROTATION_TOPICS } from '../../domain/rotation';

describe('rotation topics on the broker', () => {
  it('lets a device subscribe to the request and response topics only', () => {
    expect(rotationSubscribeAllowed(ROTATION_TOPICS.request)).toBe(true);
    expect(rotationSubscribeAllowed(ROTATION_TOPICS.response)).toBe(true);
    expect(rotationSubscribeAllowed(ROTATION_TOPICS.csr)).toBe(false);
    expect(rotationSubscribeAllowed('v1/devices/me/rotation/#')).toBe(false);
    expect(rotationSubscribeAllowed('#')).toBe(false);
  });

  it('reserves the request and response topics to the platform', () => {
    expect(isPlatformRotationTopic(ROTATION_TOPICS.request)).toBe(true);
    expect(isPlatformRotationTopic(ROTATION_TOPICS.response)).toBe(true);
    expect(isPlatformRotationTopic(ROTATION_TOPICS.csr)).toBe(false);
  });

  it('knows which filters receive rotation requests', () => {
    for (const filter of [
      ROTATION_TOPICS.request,
      'v1/devices/me/#',
      'v1/devices/me/rotation/+',
      'v1/+/me/rotation/request',
      '#',
    ])
      expect({ filter, covers: coversRequestTopic(filter) }).toEqual({ filter, covers: true });
    for (const filter of [
      ROTATION_TOPICS.response,
      'v1/devices/me/rotation',
      'v1/devices/me/rotation/request/more',
      'v1/devices/me/+',
    ])
      expect({ filter, covers: coversRequestTopic(filter) }).toEqual({ filter, covers: false });
  });
});

describe('simplereenroll bodies', () => {
  const der = 'MIIBAjCBqAIBADAQMQ4wDAYDVQQDDAVob3N0';

  it('takes a PEM CSR as sent', () => {
    const pem = `-----BEGIN CERTIFICATE REQUEST-----\n${der}\n-----END CERTIFICATE REQUEST-----`;
    expect(csrFromBody(pem, 'application/x-pem-file')).toBe(`${pem}\n`);
    expect(csrFromBody(`  ${pem}\n`, undefined)).toBe(`${pem}\n`);
  });

  it('wraps base64 DER sent as application/pkcs10 into PEM, lines of 64', () => {
    const long = der.repeat(3);
    const pem = csrFromBody(`${long.slice(0, 50)}\r\n${long.slice(50)}`, 'application/pkcs10; charset=x');
    expect(pem).toBe(
      `-----BEGIN CERTIFICATE REQUEST-----\n${long.slice(0, 64)}\n${long.slice(64)}\n-----END CERTIFICATE REQUEST-----\n`,
    );
  });

  it('refuses empty bodies, base64 of another type and non-base64', () => {
    expect(csrFromBody('   ', 'application/pkcs10')).toBeUndefined();
    expect(csrFromBody(der, 'text/plain')).toBeUndefined();
    expect(csrFromBody('not base64!', 'application/pkcs10')).toBeUndefined();
  });
});
