import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { validateChain } from '../../pki/chain';
import { CLIENT_AUTH, NOW, SERVER_AUTH, issue, newKeys, threeLevelChain, type Issued } from './fixtures';

async function fingerprint(issued: Issued): Promise<string> {
  return Buffer.from(await issued.cert.getThumbprint('SHA-256')).toString('hex');
}

describe('validateChain', () => {
  it('accepts a valid three-level ECDSA chain and reports it leaf to anchor', async () => {
    const { root, intermediate, leaf } = await threeLevelChain();
    const result = validateChain({
      leaf: leaf.pem,
      intermediates: [intermediate.der],
      trustAnchors: [root.pem],
      now: NOW,
      policy: { requiredEku: [CLIENT_AUTH] },
    });
    expect(result).toEqual({
      ok: true,
      chain: [
        expect.objectContaining({ subject: 'CN=device-0001', issuer: 'O=certflow,CN=Test Issuing CA' }),
        expect.objectContaining({ subject: 'O=certflow,CN=Test Issuing CA' }),
        expect.objectContaining({
          subject: 'O=certflow,CN=Test Root',
          notBefore: '2024-01-01T00:00:00.000Z',
        }),
      ],
    });
    if (!result.ok) return;
    expect(result.chain[0]!.fingerprintSha256).toBe(await fingerprint(leaf));
    expect(result.chain[0]!.serialHex).toBe(leaf.cert.serialNumber);
    expect(JSON.parse(JSON.stringify(result))).toEqual(result);
  });

  it('rejects an expired leaf', async () => {
    const { root, intermediate, leaf } = await threeLevelChain({
      notAfter: new Date('2025-01-01T00:00:00Z'),
    });
    const result = validateChain({
      leaf: leaf.pem,
      intermediates: [intermediate.pem],
      trustAnchors: [root.pem],
      now: NOW,
    });
    expect(result).toMatchObject({ ok: false, code: 'CHAIN_EXPIRED' });
  });

  it('accepts a certificate expired by less than the configured clock skew', async () => {
    const { root, intermediate, leaf } = await threeLevelChain({
      notAfter: new Date('2025-06-01T11:59:00Z'),
    });
    const input = { leaf: leaf.pem, intermediates: [intermediate.pem], trustAnchors: [root.pem], now: NOW };
    expect(validateChain({ ...input, policy: { clockSkewSeconds: 120 } }).ok).toBe(true);
    expect(validateChain(input)).toMatchObject({ ok: false, code: 'CHAIN_EXPIRED' });
  });

  it('rejects a chain whose intermediate is not a CA', async () => {
    const root = await issue({ subject: 'CN=Root', ca: true });
    const notCa = await issue({ subject: 'CN=Not A CA', issuer: root });
    const leaf = await issue({ subject: 'CN=device', issuer: notCa });
    const result = validateChain({
      leaf: leaf.pem,
      intermediates: [notCa.pem],
      trustAnchors: [root.pem],
      now: NOW,
    });
    expect(result).toMatchObject({ ok: false, code: 'CHAIN_NOT_CA' });
  });

  it('rejects an intermediate below a CA whose pathLenConstraint is zero', async () => {
    const root = await issue({ subject: 'CN=Root', ca: true, pathLen: 0 });
    const intermediate = await issue({ subject: 'CN=Issuing', issuer: root, ca: true });
    const leaf = await issue({ subject: 'CN=device', issuer: intermediate });
    const result = validateChain({
      leaf: leaf.pem,
      intermediates: [intermediate.pem],
      trustAnchors: [root.pem],
      now: NOW,
    });
    expect(result).toMatchObject({ ok: false, code: 'CHAIN_PATHLEN_EXCEEDED' });
  });

  it('back-tracks to the cross-signed issuer when the first-tried one leads to an untrusted root', async () => {
    const trusted = await issue({ subject: 'CN=Trusted Root', ca: true });
    const untrusted = await issue({ subject: 'CN=Retired Root', ca: true });
    const caKeys = await newKeys();
    const viaUntrusted = await issue({ subject: 'CN=Issuing', issuer: untrusted, ca: true, keys: caKeys });
    const viaTrusted = await issue({ subject: 'CN=Issuing', issuer: trusted, ca: true, keys: caKeys });
    const leaf = await issue({ subject: 'CN=device', issuer: viaTrusted });
    const result = validateChain({
      leaf: leaf.pem,
      intermediates: [viaUntrusted.pem, untrusted.pem, viaTrusted.pem],
      trustAnchors: [trusted.pem],
      now: NOW,
    });
    expect(result.ok && result.chain.map((c) => c.fingerprintSha256)).toEqual([
      await fingerprint(leaf),
      await fingerprint(viaTrusted),
      await fingerprint(trusted),
    ]);
  });

  it('rejects a certificate carrying an unknown critical extension', async () => {
    const unknown = new x509.Extension('1.3.6.1.4.1.55738.666.1', true, new Uint8Array([0x05, 0x00]));
    const { root, intermediate, leaf } = await threeLevelChain({ extra: [unknown] });
    const result = validateChain({
      leaf: leaf.pem,
      intermediates: [intermediate.pem],
      trustAnchors: [root.pem],
      now: NOW,
    });
    expect(result).toMatchObject({ ok: false, code: 'CHAIN_UNKNOWN_CRITICAL_EXTENSION' });
  });

  it('rejects a garbage or truncated leaf as malformed without throwing', async () => {
    const { root, leaf } = await threeLevelChain();
    for (const bad of [new Uint8Array([1, 2, 3]), leaf.der.subarray(0, leaf.der.length - 7), 'not a pem']) {
      expect(validateChain({ leaf: bad, trustAnchors: [root.pem], now: NOW })).toMatchObject({
        ok: false,
        code: 'CHAIN_MALFORMED',
      });
    }
  });

  it('ignores junk among the untrusted intermediates', async () => {
    const { root, intermediate, leaf } = await threeLevelChain();
    const junk = [new Uint8Array([0x30, 0x03, 0x02, 0x01]), 'garbage', intermediate.der.subarray(0, 40)];
    const result = validateChain({
      leaf: leaf.pem,
      intermediates: [...junk, intermediate.pem],
      trustAnchors: [root.pem],
      now: NOW,
    });
    expect(result.ok).toBe(true);
  });

  it('rejects a chain longer than the maximum depth', async () => {
    let issuer = await issue({ subject: 'CN=Root', ca: true });
    const root = issuer;
    const intermediates: string[] = [];
    for (let i = 0; i < 4; i++) {
      issuer = await issue({ subject: `CN=Level ${i}`, issuer, ca: true });
      intermediates.push(issuer.pem);
    }
    const leaf = await issue({ subject: 'CN=device', issuer });
    const input = { leaf: leaf.pem, intermediates, trustAnchors: [root.pem], now: NOW };
    expect(validateChain({ ...input, policy: { maxDepth: 3 } })).toMatchObject({
      ok: false,
      code: 'CHAIN_TOO_DEEP',
    });
    expect(validateChain({ ...input, policy: { maxDepth: 4 } }).ok).toBe(true);
  });

  it('rejects a serverAuth-only leaf under a clientAuth policy', async () => {
    const { root, intermediate, leaf } = await threeLevelChain({ eku: [SERVER_AUTH] });
    const result = validateChain({
      leaf: leaf.pem,
      intermediates: [intermediate.pem],
      trustAnchors: [root.pem],
      now: NOW,
      policy: { requiredEku: [CLIENT_AUTH] },
    });
    expect(result).toMatchObject({ ok: false, code: 'CHAIN_EKU' });
  });

  it('rejects a CA certificate as leaf only when the policy requires an end entity', async () => {
    const root = await issue({ subject: 'CN=Root', ca: true });
    const caLeaf = await issue({ subject: 'CN=Sub CA', issuer: root, ca: true });
    const input = { leaf: caLeaf.pem, trustAnchors: [root.pem], now: NOW };
    expect(validateChain(input).ok).toBe(true);
    expect(validateChain({ ...input, policy: { endEntityOnly: true } })).toMatchObject({
      code: 'CHAIN_LEAF_IS_CA',
    });
  });

  it('fails with no path when the issuer is not supplied', async () => {
    const { root, leaf } = await threeLevelChain();
    expect(validateChain({ leaf: leaf.pem, trustAnchors: [root.pem], now: NOW })).toMatchObject({
      ok: false,
      code: 'CHAIN_NO_PATH',
    });
  });
});
