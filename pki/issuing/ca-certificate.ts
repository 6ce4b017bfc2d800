import { ChainError } from '../chain/errors';
import { decodePemOrDer, parseCertificate, type ParsedCert } from '../chain/parse';
import { IssuingError } from './errors';
import { derToPem } from './pem';

/** Parses exactly one PEM CERTIFICATE block; ISSUING_CA_INVALID otherwise. */
export function parseCaCertificate(pem: string): ParsedCert {
  try {
    const ders = decodePemOrDer(pem, 'CERTIFICATE');
    if (ders.length !== 1)
      throw new ChainError('CHAIN_MALFORMED', `expected one certificate, got ${ders.length}`);
    return parseCertificate(ders[0]!);
  } catch (err) {
    if (!(err instanceof ChainError)) throw err;
    throw new IssuingError('ISSUING_CA_INVALID', `the CA certificate is malformed: ${err.detail}`);
  }
}

/** The certificates of a chain PEM, re-encoded one block each; [] for an empty chain. */
export function parseChainPem(chainPem: string | undefined): ParsedCert[] {
  if (!chainPem?.trim()) return [];
  try {
    return decodePemOrDer(chainPem, 'CERTIFICATE').map((der) => parseCertificate(der));
  } catch (err) {
    if (!(err instanceof ChainError)) throw err;
    throw new IssuingError('ISSUING_CA_INVALID', `the CA chain is malformed: ${err.detail}`);
  }
}

/** Concatenated canonical PEM blocks with a trailing newline each; '' for an empty chain. */
export function normalizeChainPem(chainPem: string | undefined): string {
  return parseChainPem(chainPem)
    .map((cert) => derToPem(cert.der, 'CERTIFICATE'))
    .join('');
}
