import { createHash, X509Certificate } from 'node:crypto';
import {
  type ClaimWorkflowInput,
  type CredentialsValue,
  ProvisionError,
  type ProvisionRequestWire,
} from '../../domain/provisioning';
import { hashPassword, mqttBasicLookupKey, randomSecret, sha256Hex } from '../../registry/secrets';
import { clientIdProblem } from '../mqtt/me-topics';
import { PROVISION_USERNAME } from '../mqtt/provisioning';

export interface PreparedCredential {
  /** What the workflow stores: secrets hashed, never in clear. */
  stored: ClaimWorkflowInput['credential'];
  /** What the device gets back (ThingsBoard's credentialsValue); CSR answers come from the workflow. */
  value: CredentialsValue;
}

const TOKEN = /^[\x21-\x7e]{1,256}$/;

/**
 * Turns the device's credential request into what is stored and what is answered. Runs at the
 * edge so that tokens and passwords never enter workflow history in clear.
 */
export async function prepareCredential(req: ProvisionRequestWire): Promise<PreparedCredential> {
  const type = req.credentialsType ?? 'ACCESS_TOKEN';
  switch (type) {
    case 'ACCESS_TOKEN': {
      const token = req.token ?? randomSecret(15);
      if (!TOKEN.test(token)) throw bad('token must be 1-256 printable ASCII characters without spaces');
      if (token === PROVISION_USERNAME)
        throw bad(`"${PROVISION_USERNAME}" is reserved for provisioning connects`);
      return { stored: { type, lookupKey: sha256Hex(token), secretHash: null }, value: token };
    }
    case 'MQTT_BASIC': {
      const clientId = req.clientId ?? null;
      const username = req.username ?? null;
      const password = req.password ?? null;
      if (!clientId && !username) throw bad('MQTT_BASIC needs a clientId, a username, or both');
      if (password !== null && !username) throw bad('MQTT_BASIC password needs a username');
      for (const [field, v] of [
        ['clientId', clientId],
        ['username', username],
      ] as const) {
        if (v !== null && !TOKEN.test(v))
          throw bad(`${field} must be 1-256 printable ASCII characters without spaces`);
      }
      if (username === PROVISION_USERNAME)
        throw bad(`"${PROVISION_USERNAME}" is reserved for provisioning connects`);
      // The broker refuses such client ids at CONNECT: do not hand out credentials that cannot work.
      const idProblem = clientId === null ? undefined : clientIdProblem(clientId);
      if (idProblem) throw bad(`clientId ${idProblem}`);
      const secretHash = password === null ? null : await hashPassword(password);
      return {
        stored: { type, lookupKey: mqttBasicLookupKey(clientId, username), secretHash },
        value: { clientId, userName: username, password },
      };
    }
    case 'X509_CERTIFICATE': {
      if (!req.hash)
        throw bad('X509_CERTIFICATE needs "hash": the certificate (PEM or base64 DER) or its SHA-256');
      return { stored: { type, lookupKey: certificateSha256(req.hash), secretHash: null }, value: req.hash };
    }
    case 'CSR': {
      if (!req.csr) throw bad('CSR needs "csr": a PKCS#10 request (PEM or base64 DER)');
      return { stored: { type, csrPem: req.csr }, value: '' };
    }
  }
}

/** The SHA-256 (hex) a certificate credential is looked up by, from the certificate or the hash itself. */
export function certificateSha256(hash: string): string {
  const trimmed = hash.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return trimmed.toLowerCase();
  const b64 = trimmed.replace(/-----(BEGIN|END) CERTIFICATE-----/g, '').replace(/\s+/g, '');
  let der: Buffer;
  try {
    der = Buffer.from(b64, 'base64');
    new X509Certificate(der);
  } catch {
    throw bad('hash is neither a SHA-256 (64 hex characters) nor a certificate');
  }
  return createHash('sha256').update(der).digest('hex');
}

function bad(message: string): ProvisionError {
  return new ProvisionError('PROVISION_BAD_REQUEST', message);
}
