import { createHash } from 'node:crypto';
import {
  TAG,
  children,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  decodeTime,
  encoded,
  expectTag,
  integerBytes,
  readRoot,
  type Tlv,
} from './der';
import { ChainError, type CheckFailure } from './errors';
import { KU, OID } from './extensions';
import { bytesKey, decodePemOrDer, type ParsedCert } from './parse';
import { kuAllows, type ResolvedPolicy } from './profile';
import type { SignatureVerifier } from './signature';

const CRL_NUMBER = '2.5.29.20';
const DELTA_CRL_INDICATOR = '2.5.29.27';
const ISSUING_DISTRIBUTION_POINT = '2.5.29.28';
/** CRL extensions understood here. A delta CRL is not (it is only meaningful with its base CRL). */
const CRL_EXTENSIONS = new Set<string>([CRL_NUMBER, OID.authorityKeyIdentifier, ISSUING_DISTRIBUTION_POINT]);

export interface ParsedCrl {
  readonly fingerprint: string;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: Uint8Array;
  readonly signature: Uint8Array;
  readonly issuerKey: string;
  readonly authorityKeyId?: Uint8Array;
  readonly thisUpdate: number;
  readonly nextUpdate?: number;
  /** Hex of each revoked serial's DER INTEGER content. */
  readonly revoked: ReadonlySet<string>;
  /** First profile defect (RFC 5280 5.2); a defective CRL for an issuer in the path fails the path. */
  readonly problem: string | null;
}

function isTime(tlv: Tlv | undefined): tlv is Tlv {
  return tlv?.tag === TAG.UTC_TIME || tlv?.tag === TAG.GENERALIZED_TIME;
}

function crlExtensionProblem(
  der: Uint8Array,
  wrapper: Tlv | undefined,
): { problem: string | null; akid?: Uint8Array } {
  if (!wrapper) return { problem: 'CRL has no extensions (CRLNumber is mandatory)' };
  const [seq] = children(der, expectTag(wrapper, 0xa0, 'crlExtensions'));
  const seen = new Map<string, boolean>();
  let akid: Uint8Array | undefined;
  for (const ext of children(der, expectTag(seq, TAG.SEQUENCE, 'crlExtensions'))) {
    const parts = children(der, ext);
    const oid = decodeOid(der, parts[0]!);
    const critical = parts.length === 3 && decodeBoolean(der, parts[1]!);
    if (seen.has(oid)) return { problem: `duplicate CRL extension ${oid}` };
    seen.set(oid, critical);
    if (critical && !CRL_EXTENSIONS.has(oid)) return { problem: `unsupported critical CRL extension ${oid}` };
    if (oid === OID.authorityKeyIdentifier) {
      const valueTlv = parts[parts.length - 1]!;
      const inner = der.subarray(valueTlv.body, valueTlv.end);
      const keyId = children(inner, readRoot(inner)).find((p) => p.tag === 0x80);
      if (keyId) akid = inner.subarray(keyId.body, keyId.end);
    }
  }
  if (seen.has(DELTA_CRL_INDICATOR)) return { problem: 'delta CRLs are not supported' };
  if (!seen.has(CRL_NUMBER)) return { problem: 'CRL lacks the mandatory CRLNumber extension' };
  if (seen.get(CRL_NUMBER)) return { problem: 'CRLNumber must not be critical' };
  return akid ? { problem: null, akid } : { problem: null };
}

export function parseCrl(der: Uint8Array): ParsedCrl {
  const [tbsTlv, algTlv, sigTlv, extra] = children(
    der,
    expectTag(readRoot(der), TAG.SEQUENCE, 'CertificateList'),
  );
  if (!tbsTlv || !algTlv || !sigTlv || extra) throw new ChainError('CHAIN_CRL_INVALID', 'CRL shape');
  const f = children(der, expectTag(tbsTlv, TAG.SEQUENCE, 'tbsCertList'));
  let i = f[0]?.tag === TAG.INTEGER ? 1 : 0;
  const innerAlg = encoded(der, expectTag(f[i++], TAG.SEQUENCE, 'CRL signature'));
  if (Buffer.compare(innerAlg, encoded(der, algTlv)) !== 0) {
    throw new ChainError('CHAIN_CRL_INVALID', 'CRL signature algorithms differ');
  }
  const issuer = expectTag(f[i++], TAG.SEQUENCE, 'CRL issuer');
  const thisUpdate = decodeTime(der, f[i++]!);
  const nextUpdate = isTime(f[i]) ? decodeTime(der, f[i++]!) : undefined;
  const revoked = new Set<string>();
  if (f[i]?.tag === TAG.SEQUENCE) {
    for (const entry of children(der, f[i++]!)) {
      const [serial] = children(der, entry);
      revoked.add(Buffer.from(integerBytes(der, serial!)).toString('hex'));
    }
  }
  const { problem, akid } = crlExtensionProblem(der, f[i++]);
  if (f[i]) throw new ChainError('CHAIN_CRL_INVALID', 'trailing tbsCertList fields');
  return {
    fingerprint: createHash('sha256').update(der).digest('hex'),
    tbs: encoded(der, tbsTlv),
    signatureAlgorithm: encoded(der, algTlv),
    signature: decodeBitString(der, sigTlv).bytes,
    issuerKey: bytesKey(encoded(der, issuer)),
    ...(akid ? { authorityKeyId: akid } : {}),
    thisUpdate,
    ...(nextUpdate !== undefined ? { nextUpdate } : {}),
    revoked,
    problem,
  };
}

/** CRLs are operator configuration, so one that cannot be parsed fails validation (fail closed). */
export function parseCrls(inputs: readonly (Uint8Array | string)[]): ParsedCrl[] {
  return inputs.flatMap((input) =>
    decodePemOrDer(input, 'X509 CRL').map((der) => {
      try {
        return parseCrl(der);
      } catch (err) {
        if (err instanceof ChainError) throw new ChainError('CHAIN_CRL_INVALID', err.detail);
        throw err;
      }
    }),
  );
}

function crlFailure(
  crl: ParsedCrl,
  issuer: ParsedCert,
  policy: ResolvedPolicy,
  verifier: SignatureVerifier,
): CheckFailure {
  const invalid = (detail: string) => ({ code: 'CHAIN_CRL_INVALID' as const, detail });
  if (crl.problem) return invalid(crl.problem);
  if (!kuAllows(issuer, KU.cRLSign)) return invalid('CRL issuer keyUsage lacks cRLSign');
  const signature = verifier.verify(crl, { fingerprint: issuer.fingerprint, spki: issuer.spki });
  if (signature) return invalid(`CRL signature: ${signature.detail}`);
  if (crl.thisUpdate > policy.now + policy.skew) return invalid('CRL thisUpdate is in the future');
  if (crl.nextUpdate !== undefined && crl.nextUpdate < policy.now - policy.skew)
    return invalid('CRL is past nextUpdate');
  return null;
}

/**
 * For each certificate below the anchor, every supplied CRL from its issuer (same name, and same
 * key identifier when both carry one) must be valid, and must not list its serial. CRLs of issuers
 * outside the path are ignored.
 */
export function checkRevocation(
  path: readonly ParsedCert[],
  crls: readonly ParsedCrl[],
  policy: ResolvedPolicy,
  verifier: SignatureVerifier,
): CheckFailure {
  if (crls.length === 0) return null;
  for (let i = 0; i + 1 < path.length; i++) {
    const cert = path[i]!;
    const issuer = path[i + 1]!;
    const ski = issuer.ext.subjectKeyId;
    for (const crl of crls) {
      if (crl.issuerKey !== cert.issuerKey) continue;
      if (crl.authorityKeyId && ski && Buffer.compare(crl.authorityKeyId, ski) !== 0) continue;
      const failure = crlFailure(crl, issuer, policy, verifier);
      if (failure) return failure;
      if (crl.revoked.has(Buffer.from(cert.serial).toString('hex'))) {
        return {
          code: 'CHAIN_REVOKED',
          detail: `serial ${Buffer.from(cert.serial).toString('hex')} is revoked`,
        };
      }
    }
  }
  return null;
}
