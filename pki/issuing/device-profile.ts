import { randomBytes } from 'node:crypto';
import { isIP } from 'node:net';
import { CertflowError } from '../../domain/errors';
import { checkPublicKey } from '../chain/algorithms';
import {
  booleanTrue,
  explicit,
  implicitPrimitive,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  time,
  tlv,
  utf8String,
} from './der-writer';
import type { IssueRequest } from './issuer';
import { keyIdentifier } from './spki';

/*
 * The device certificate profile (RFC 5280, checked by pki/chain with requiredEku clientAuth):
 *   v3; subject CN only; basicConstraints cA=false (critical); keyUsage digitalSignature
 *   (critical); extKeyUsage clientAuth; SKI; AKI keyIdentifier = issuer SKI; SAN when asked.
 *
 * keyUsage is digitalSignature alone, for EC and RSA keys: a TLS client proves possession by
 * signing (CertificateVerify; RFC 8446 4.4.2.2 requires exactly this bit). RFC 5480 would allow
 * keyAgreement on EC keys, but that only serves static-ECDH client authentication (fixed_ecdh),
 * which TLS 1.3 removed and device stacks do not use; keyEncipherment only serves a TLS 1.2
 * server's RSA key transport. Least privilege: assert only what is used.
 */

const OIDS = {
  commonName: '2.5.4.3',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectKeyIdentifier: '2.5.29.14',
  authorityKeyIdentifier: '2.5.29.35',
  subjectAltName: '2.5.29.17',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;

function extension(id: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical
    ? sequence(oid(id), booleanTrue(), octetString(value))
    : sequence(oid(id), octetString(value));
}

// Constant for every device certificate: encoded once.
const BASIC_CONSTRAINTS = extension(OIDS.basicConstraints, true, sequence()); // cA DEFAULT FALSE
const KEY_USAGE = extension(OIDS.keyUsage, true, Uint8Array.of(0x03, 0x02, 0x07, 0x80)); // bit 0
const EXT_KEY_USAGE = extension(OIDS.extKeyUsage, false, sequence(oid(OIDS.clientAuth)));
const VERSION_3 = explicit(0, smallInteger(2));

const MAX_CN = 64; // ub-common-name
const MAX_SANS = 32;
const MAX_URI = 2048;
const DNS_LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i;
const URI_SCHEME = /^[a-z][a-z0-9+.-]*:/i;
const CONTROL_OR_LONE_SURROGATE = /[\p{Cc}\p{Cs}]/u;
const SERIAL_HEX = /^(?:[0-9a-f]{2}){1,20}$/i;

type GeneralName = { type: 'dns' | 'uri'; value: string };

/** A request after validation and clamping: exactly what goes into the certificate. */
export interface DeviceCertificateFields {
  serial: Uint8Array;
  cn: string;
  sans: GeneralName[];
  notBefore: Date;
  notAfter: Date;
  spki: Uint8Array;
}

function invalid(field: string, message: string): never {
  throw new CertflowError('VALIDATION_FAILED', `${field}: ${message}`, [{ field, message }]);
}

function checkCn(cn: string): string {
  if (cn.length === 0 || [...cn].length > MAX_CN) invalid('subjectCn', `must be 1 to ${MAX_CN} characters`);
  if (CONTROL_OR_LONE_SURROGATE.test(cn)) invalid('subjectCn', 'must not contain control characters');
  return cn;
}

function checkSan(value: string, index: number): GeneralName {
  const field = `sans.${index}`;
  if (URI_SCHEME.test(value)) {
    // IA5String, no whitespace, and something URL parsing accepts (spiffe://, urn:, https://).
    if (value.length > MAX_URI || !/^[\x21-\x7e]+$/.test(value) || !URL.canParse(value)) {
      invalid(field, 'is not a valid URI');
    }
    return { type: 'uri', value };
  }
  if (isIP(value)) invalid(field, 'IP addresses are not supported in device certificates');
  const labels = value.split('.');
  if (value.length > 253 || !labels.every((label) => DNS_LABEL.test(label))) {
    invalid(field, 'is neither a URI (scheme:...) nor a DNS name (letters, digits, hyphens; no wildcards)');
  }
  return { type: 'dns', value: value.toLowerCase() };
}

function checkSerial(serialHex: string | undefined): Uint8Array {
  if (serialHex === undefined) {
    const bytes = randomBytes(16);
    bytes[0] = (bytes[0]! & 0x3f) | 0x40; // positive, and minimal DER without a leading zero
    return bytes;
  }
  if (!SERIAL_HEX.test(serialHex)) invalid('serialHex', 'must be 1 to 20 bytes of hex');
  const bytes = Buffer.from(serialHex, 'hex');
  if (bytes[0]! >= 0x80) invalid('serialHex', 'must be positive (first byte below 0x80)');
  if (bytes.every((b) => b === 0)) invalid('serialHex', 'must not be zero');
  if (bytes.length > 1 && bytes[0] === 0 && bytes[1]! < 0x80)
    invalid('serialHex', 'has a redundant leading zero');
  return bytes;
}

function wholeSeconds(date: Date, field: string): Date {
  const ms = date.getTime();
  if (!Number.isFinite(ms) || date.getUTCFullYear() < 1950 || date.getUTCFullYear() > 9999) {
    invalid(field, 'must be a valid date between 1950 and 9999');
  }
  return new Date(Math.floor(ms / 1000) * 1000);
}

/**
 * Validates a request and fits it inside the issuer's validity: a device certificate never
 * outlives (or predates) its CA, since a chain is only valid while every certificate is.
 */
export function resolveRequest(
  req: IssueRequest,
  issuer: { notBefore: Date; notAfter: Date },
): DeviceCertificateFields {
  const failure = checkPublicKey(req.publicKeySpkiDer);
  if (failure) invalid('publicKeySpkiDer', failure.detail);
  const requested = [...new Set(req.sans ?? [])];
  if (requested.length > MAX_SANS) invalid('sans', `at most ${MAX_SANS} entries`);
  const sans = requested.map(checkSan);
  const wantedFrom = wholeSeconds(req.notBefore, 'notBefore');
  const wantedTo = wholeSeconds(req.notAfter, 'notAfter');
  if (wantedTo.getTime() <= wantedFrom.getTime()) invalid('notAfter', 'must be after notBefore');
  const notBefore = new Date(Math.max(wantedFrom.getTime(), issuer.notBefore.getTime()));
  const notAfter = new Date(Math.min(wantedTo.getTime(), issuer.notAfter.getTime()));
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new CertflowError(
      'CA_EXPIRED',
      `the issuing CA is valid until ${issuer.notAfter.toISOString()}, which leaves no validity for the certificate`,
    );
  }
  return {
    serial: checkSerial(req.serialHex),
    cn: checkCn(req.subjectCn),
    sans,
    notBefore,
    notAfter,
    spki: req.publicKeySpkiDer,
  };
}

function subjectAltName(sans: GeneralName[]): Uint8Array {
  // dNSName [2] and uniformResourceIdentifier [6] are IMPLICIT IA5String.
  const names = sans.map((n) => implicitPrimitive(n.type === 'dns' ? 2 : 6, Buffer.from(n.value, 'ascii')));
  return extension(OIDS.subjectAltName, false, sequence(...names));
}

/** The DER TBSCertificate of a device certificate. `issuer.name` is the CA's encoded subject. */
export function deviceTbs(
  f: DeviceCertificateFields,
  issuer: { name: Uint8Array; keyId: Uint8Array },
  signatureAlgorithm: Uint8Array,
): Uint8Array {
  const extensions = [
    BASIC_CONSTRAINTS,
    KEY_USAGE,
    EXT_KEY_USAGE,
    extension(OIDS.subjectKeyIdentifier, false, octetString(keyIdentifier(f.spki))),
    extension(OIDS.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, issuer.keyId))),
  ];
  if (f.sans.length > 0) extensions.push(subjectAltName(f.sans));
  return sequence(
    VERSION_3,
    tlv(0x02, f.serial),
    signatureAlgorithm,
    issuer.name,
    sequence(time(f.notBefore), time(f.notAfter)),
    sequence(set(sequence(oid(OIDS.commonName), utf8String(f.cn)))),
    f.spki,
    explicit(3, sequence(...extensions)),
  );
}
