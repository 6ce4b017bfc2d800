import {
  TAG,
  children,
  content,
  decodeBitString,
  decodeBoolean,
  decodeOid,
  readRoot,
  smallUint,
} from './der';
import { ChainError, type CheckFailure } from './errors';
import { decodeGeneralName, decodeGeneralNames, type GeneralName } from './general-names';

export interface RawExtension {
  readonly oid: string;
  readonly critical: boolean;
  readonly value: Uint8Array;
}

export const OID = {
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  issuerAltName: '2.5.29.18',
  basicConstraints: '2.5.29.19',
  nameConstraints: '2.5.29.30',
  crlDistributionPoints: '2.5.29.31',
  certificatePolicies: '2.5.29.32',
  policyMappings: '2.5.29.33',
  authorityKeyIdentifier: '2.5.29.35',
  policyConstraints: '2.5.29.36',
  extKeyUsage: '2.5.29.37',
  freshestCrl: '2.5.29.46',
  inhibitAnyPolicy: '2.5.29.54',
  authorityInfoAccess: '1.3.6.1.5.5.7.1.1',
  subjectInfoAccess: '1.3.6.1.5.5.7.1.11',
  anyExtendedKeyUsage: '2.5.29.37.0',
} as const;

/**
 * Extensions this validator recognises. Those it enforces are decoded below; the policy family
 * (certificatePolicies, policyMappings, policyConstraints, inhibitAnyPolicy) is recognised but not
 * processed: certflow validates with the initial policy set {anyPolicy} and no explicit-policy
 * requirement, so a critical one does not make a chain fail. Any other critical extension does.
 */
const RECOGNISED = new Set<string>(Object.values(OID));

/** keyUsage bit numbers (RFC 5280 4.2.1.3). */
export const KU = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;

export interface NameConstraints {
  readonly permitted: readonly GeneralName[];
  readonly excluded: readonly GeneralName[];
}

export interface DecodedExtensions {
  basicConstraints?: { ca: boolean; pathLen?: number; critical: boolean };
  /** Bit i set when keyUsage bit i is asserted. */
  keyUsage?: number;
  extKeyUsage?: string[];
  subjectKeyId?: Uint8Array;
  authorityKeyId?: { keyId?: Uint8Array; hasIssuer: boolean; hasSerial: boolean };
  subjectAltName?: GeneralName[];
  nameConstraints?: NameConstraints;
  /** First extension-level defect; reported only if the certificate is used in a path. */
  problem: CheckFailure;
}

function sequence(value: Uint8Array, what: string) {
  const root = readRoot(value);
  if (root.tag !== TAG.SEQUENCE) throw new ChainError('CHAIN_INVALID_EXTENSION', `${what} is not a SEQUENCE`);
  return children(value, root);
}

function decodeBasicConstraints(value: Uint8Array, critical: boolean): DecodedExtensions['basicConstraints'] {
  const parts = sequence(value, 'basicConstraints');
  let at = 0;
  const ca = parts[0]?.tag === TAG.BOOLEAN ? decodeBoolean(value, parts[at++]!) : false;
  const pathLen = parts[at] ? smallUint(value, parts[at++]!, 'pathLenConstraint') : undefined;
  if (parts.length !== at) throw new ChainError('CHAIN_INVALID_EXTENSION', 'basicConstraints shape');
  return pathLen === undefined ? { ca, critical } : { ca, pathLen, critical };
}

function decodeKeyUsage(value: Uint8Array): number {
  const { bytes } = decodeBitString(value, readRoot(value));
  let mask = 0;
  for (let bit = 0; bit < Math.min(bytes.length * 8, 9); bit++) {
    if (bytes[bit >> 3]! & (0x80 >> (bit & 7))) mask |= 1 << bit;
  }
  if (mask === 0) throw new ChainError('CHAIN_INVALID_EXTENSION', 'keyUsage asserts no bit');
  return mask;
}

function decodeExtKeyUsage(value: Uint8Array): string[] {
  const oids = sequence(value, 'extKeyUsage').map((tlv) => decodeOid(value, tlv));
  if (oids.length === 0) throw new ChainError('CHAIN_INVALID_EXTENSION', 'extKeyUsage lists no purpose');
  return oids;
}

function decodeAuthorityKeyId(value: Uint8Array): DecodedExtensions['authorityKeyId'] {
  const parts = sequence(value, 'authorityKeyIdentifier');
  const keyTlv = parts.find((p) => p.tag === 0x80);
  return {
    ...(keyTlv ? { keyId: content(value, keyTlv) } : {}),
    hasIssuer: parts.some((p) => p.tag === 0xa1),
    hasSerial: parts.some((p) => p.tag === 0x82),
  };
}

function decodeSubtrees(value: Uint8Array, parts: ReturnType<typeof children>, tag: number): GeneralName[] {
  const wrapper = parts.find((p) => p.tag === tag);
  if (!wrapper) return [];
  const subtrees = children(value, wrapper);
  if (subtrees.length === 0) throw new ChainError('CHAIN_INVALID_EXTENSION', 'empty GeneralSubtrees');
  return subtrees.map((subtree) => {
    const [base, ...bounds] = children(value, subtree);
    // RFC 5280 4.2.1.10: minimum MUST be zero and maximum MUST be absent.
    if (
      !base ||
      bounds.some((b) => b.tag !== 0x80 || smallUint(value, { ...b, tag: TAG.INTEGER }, 'minimum') !== 0)
    ) {
      throw new ChainError('CHAIN_INVALID_EXTENSION', 'GeneralSubtree minimum/maximum outside the profile');
    }
    return decodeGeneralName(value, base);
  });
}

function decodeNameConstraints(value: Uint8Array): NameConstraints {
  const parts = sequence(value, 'nameConstraints');
  if (parts.length === 0 || parts.some((p) => p.tag !== 0xa0 && p.tag !== 0xa1)) {
    throw new ChainError(
      'CHAIN_INVALID_EXTENSION',
      'nameConstraints must hold permitted and/or excluded subtrees',
    );
  }
  return { permitted: decodeSubtrees(value, parts, 0xa0), excluded: decodeSubtrees(value, parts, 0xa1) };
}

function decodeOne(ext: RawExtension, out: DecodedExtensions): void {
  const { value, critical } = ext;
  switch (ext.oid) {
    case OID.basicConstraints:
      out.basicConstraints = decodeBasicConstraints(value, critical);
      return;
    case OID.keyUsage:
      out.keyUsage = decodeKeyUsage(value);
      return;
    case OID.extKeyUsage:
      out.extKeyUsage = decodeExtKeyUsage(value);
      return;
    case OID.subjectKeyIdentifier:
      out.subjectKeyId = content(value, readRoot(value));
      return;
    case OID.authorityKeyIdentifier:
      out.authorityKeyId = decodeAuthorityKeyId(value);
      return;
    case OID.subjectAltName:
      out.subjectAltName = decodeGeneralNames(value);
      return;
    case OID.nameConstraints:
      out.nameConstraints = decodeNameConstraints(value);
      return;
    case OID.authorityInfoAccess:
      if (sequence(value, 'authorityInfoAccess').length === 0)
        throw new ChainError('CHAIN_INVALID_EXTENSION', 'empty AIA');
      return;
  }
}

/** RFC 5280 criticality rules that do not depend on the certificate's role. */
const MUST_BE_NON_CRITICAL = new Set<string>([
  OID.authorityKeyIdentifier,
  OID.subjectKeyIdentifier,
  OID.authorityInfoAccess,
]);
const MUST_BE_CRITICAL = new Set<string>([OID.policyConstraints]);

function criticality(ext: RawExtension): CheckFailure {
  if (!RECOGNISED.has(ext.oid) && ext.critical) {
    return { code: 'CHAIN_UNKNOWN_CRITICAL_EXTENSION', detail: `unrecognised critical extension ${ext.oid}` };
  }
  if (MUST_BE_NON_CRITICAL.has(ext.oid) && ext.critical) {
    return { code: 'CHAIN_INVALID_EXTENSION', detail: `extension ${ext.oid} must not be critical` };
  }
  if (MUST_BE_CRITICAL.has(ext.oid) && !ext.critical) {
    return { code: 'CHAIN_INVALID_EXTENSION', detail: `extension ${ext.oid} must be critical` };
  }
  return null;
}

/** Decodes the extensions path validation uses; defects are recorded in `problem`, never thrown. */
export function decodeExtensions(extensions: readonly RawExtension[]): DecodedExtensions {
  const out: DecodedExtensions = { problem: null };
  const seen = new Set<string>();
  for (const ext of extensions) {
    if (seen.has(ext.oid)) {
      out.problem ??= { code: 'CHAIN_INVALID_EXTENSION', detail: `duplicate extension ${ext.oid}` };
    }
    seen.add(ext.oid);
    out.problem ??= criticality(ext);
    try {
      decodeOne(ext, out);
    } catch (err) {
      if (!(err instanceof ChainError)) throw err;
      out.problem ??= { code: 'CHAIN_INVALID_EXTENSION', detail: `extension ${ext.oid}: ${err.detail}` };
    }
  }
  return out;
}
