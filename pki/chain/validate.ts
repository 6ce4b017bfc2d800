import { buildPath, type Candidate } from './build';
import { parseCrls, checkRevocation, type ParsedCrl } from './crl';
import { ChainError, type ChainErrorCode } from './errors';
import { checkNameConstraints } from './name-constraints';
import { formatName } from './names';
import { decodePemOrDer, parseCertificate, type ParsedCert } from './parse';
import type { ResolvedPolicy } from './profile';
import type { PublicKeyCache } from './key-cache';
import { SignatureVerifier } from './signature';

export interface ChainPolicy {
  /** EKU OIDs; the leaf must carry one of them, anyExtendedKeyUsage, or no EKU extension. Default: none required. */
  requiredEku?: string[];
  /** Most intermediates (self-issued ones not counted) between leaf and anchor. Default 8. */
  maxDepth?: number;
  /** Tolerance applied to every notBefore/notAfter. Default 0. */
  clockSkewSeconds?: number;
  /** CRLs (DER or PEM); a CRL whose issuer is in the path must be valid and is consulted. */
  crls?: (Uint8Array | string)[];
  /** Budget of candidate issuers plus signature verifications per call. Default 2000. */
  maxWork?: number;
  /** Refuse a leaf that asserts basicConstraints cA (CABF); RFC 5280 allows it. Default false. */
  endEntityOnly?: boolean;
}

export interface ValidateChainInput {
  /** DER or PEM. */
  leaf: Uint8Array | string;
  /** Untrusted, any order; entries that do not parse are ignored. */
  intermediates?: (Uint8Array | string)[];
  trustAnchors: (Uint8Array | string)[];
  now: Date;
  policy?: ChainPolicy;
}

/** One certificate of a validated chain, as plain JSON. */
export interface ChainCert {
  subject: string;
  issuer: string;
  serialHex: string;
  fingerprintSha256: string;
  notBefore: string;
  notAfter: string;
}

/** Process-local helpers a long-lived caller may pass; never part of the (JSON) input. */
export interface ValidateChainOptions {
  /** Shared decoded-key cache (see PublicKeyCache); a fresh one per call when omitted. */
  keyCache?: PublicKeyCache;
}

export type ValidateChainResult =
  { ok: true; chain: ChainCert[] } | { ok: false; code: ChainErrorCode; detail: string };

export const DEFAULT_MAX_DEPTH = 8;
export const DEFAULT_MAX_WORK = 2000;

function resolvePolicy(now: Date, policy: ChainPolicy = {}): ResolvedPolicy {
  return {
    now: Math.floor(now.getTime() / 1000),
    skew: policy.clockSkewSeconds ?? 0,
    requiredEku: policy.requiredEku ?? [],
    maxDepth: policy.maxDepth ?? DEFAULT_MAX_DEPTH,
    maxWork: policy.maxWork ?? DEFAULT_MAX_WORK,
    endEntityOnly: policy.endEntityOnly ?? false,
  };
}

/** Parses untrusted extra certificates, dropping junk: a bad intermediate must not sink a good path. */
function parseLenient(inputs: readonly (Uint8Array | string)[], seen: Map<string, ParsedCert>): ParsedCert[] {
  const out: ParsedCert[] = [];
  for (const input of inputs) {
    let ders: Uint8Array[];
    try {
      ders = decodePemOrDer(input, 'CERTIFICATE');
    } catch {
      continue;
    }
    for (const der of ders) {
      try {
        const cert = parseCertificate(der);
        if (seen.has(cert.fingerprint)) continue;
        seen.set(cert.fingerprint, cert);
        out.push(cert);
      } catch {
        // not a certificate: ignored like any other irrelevant extra
      }
    }
  }
  return out;
}

function toChainCert(cert: ParsedCert): ChainCert {
  return {
    subject: formatName(cert.subject),
    issuer: formatName(cert.issuer),
    serialHex: Buffer.from(cert.serial).toString('hex'),
    fingerprintSha256: cert.fingerprint,
    notBefore: new Date(cert.notBefore * 1000).toISOString(),
    notAfter: new Date(cert.notAfter * 1000).toISOString(),
  };
}

function validate(input: ValidateChainInput, options: ValidateChainOptions): ValidateChainResult {
  const policy = resolvePolicy(input.now, input.policy);
  const [leafDer, ...extra] = decodePemOrDer(input.leaf, 'CERTIFICATE');
  if (!leafDer || extra.length > 0)
    throw new ChainError('CHAIN_MALFORMED', 'leaf must be exactly one certificate');
  const leaf = parseCertificate(leafDer);
  const seen = new Map<string, ParsedCert>([[leaf.fingerprint, leaf]]);
  const anchors = parseLenient(input.trustAnchors, seen);
  const intermediates = parseLenient(input.intermediates ?? [], seen);
  const candidates: Candidate[] = [
    ...anchors.map((cert) => ({ cert, anchor: true })),
    ...intermediates.map((cert) => ({ cert, anchor: false })),
  ];
  const verifier = new SignatureVerifier(options.keyCache);
  const crls: ParsedCrl[] = parseCrls(input.policy?.crls ?? []);
  const result = buildPath({
    leaf,
    candidates,
    policy,
    verifier,
    acceptPath: (path) => checkNameConstraints(path) ?? checkRevocation(path, crls, policy, verifier),
  });
  return result.ok ? { ok: true, chain: result.path.map(toChainCert) } : result;
}

/**
 * Builds and validates a certificate chain from `leaf` to one of `trustAnchors` at `now`.
 * Pure apart from CPU: no I/O, no clock, no environment. Never throws for bad input; every
 * failure is a stable code with a human-readable detail.
 */
export function validateChain(
  input: ValidateChainInput,
  options: ValidateChainOptions = {},
): ValidateChainResult {
  try {
    return validate(input, options);
  } catch (err) {
    if (err instanceof ChainError) return { ok: false, code: err.code, detail: err.detail };
    throw err;
  }
}
