import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CertflowError } from '../../domain/errors';
import { type AnchorCa, validateDeviceChain } from '../../pki/device-chain';
import { createDeviceCert, createRootCa, type DeviceCert, type TestCa } from '../support/device-pki';

const now = new Date('2026-06-01T00:00:00Z');
const opts = { now, clockSkewSeconds: 60 };

function anchor(ca: TestCa, id: string, status = 'active', jitpEnabled = true): AnchorCa {
  const fp = new X509Certificate(ca.certPem).fingerprint256.replace(/:/g, '').toLowerCase();
  return { id, tenantId: 't', fingerprintSha256: fp, certificatePem: ca.certPem, status, jitpEnabled };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return err instanceof CertflowError ? err.code : `unexpected: ${String(err)}`;
  }
}

describe('validateDeviceChain', () => {
  let a: TestCa;
  let b: TestCa;
  let dev: DeviceCert;
  beforeAll(async () => {
    a = await createRootCa({ name: 'CN=A' });
    b = await createRootCa({ name: 'CN=B' });
    dev = await createDeviceCert(a, { cn: 'd' });
  });

  it('names the registered CA the chain ends at', () => {
    const result = validateDeviceChain(dev.certPem, [], [anchor(b, 'b'), anchor(a, 'a')], opts);
    expect(result.ca.id).toBe('a');
    expect(result.chain).toHaveLength(2);
  });

  it('tells an unknown CA from an inactive one or one with JITP off', () => {
    expect(codeOf(() => validateDeviceChain(dev.certPem, [], [anchor(b, 'b')], opts))).toBe(
      'JITP_UNKNOWN_CA',
    );
    expect(codeOf(() => validateDeviceChain(dev.certPem, [], [anchor(a, 'a', 'inactive')], opts))).toBe(
      'JITP_CA_INACTIVE',
    );
    expect(codeOf(() => validateDeviceChain(dev.certPem, [], [anchor(a, 'a', 'active', false)], opts))).toBe(
      'JITP_DISABLED',
    );
  });

  it('refuses garbage and truncated certificates as malformed', () => {
    expect(codeOf(() => validateDeviceChain(new Uint8Array([1, 2, 3]), [], [anchor(a, 'a')], opts))).toBe(
      'DEVICE_CERTIFICATE_MALFORMED',
    );
    const der = Buffer.from(dev.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    expect(
      codeOf(() => validateDeviceChain(der.subarray(0, der.length - 20), [], [anchor(a, 'a')], opts)),
    ).toBe('DEVICE_CERTIFICATE_MALFORMED');
  });

  it('refuses an expired leaf with the chain code in the message', () => {
    const late = { ...opts, now: new Date('2041-01-01T00:00:00Z') };
    try {
      validateDeviceChain(dev.certPem, [], [anchor(a, 'a')], late);
      expect.unreachable();
    } catch (err) {
      expect(err).toMatchObject({ code: 'JITP_CHAIN_INVALID' });
      expect((err as Error).message).toMatch(/^CHAIN_EXPIRED/);
    }
  });
});
