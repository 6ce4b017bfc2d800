import { CertflowError, type ErrorCode } from '../domain/errors';
import { type ChainCert, type PublicKeyCache, validateChain } from './chain';

export const CLIENT_AUTH_EKU = '1.3.6.1.5.5.7.3.2';

export interface AnchorCa {
  id: string;
  tenantId: string;
  fingerprintSha256: string;
  certificatePem: string;
  status: string;
  jitpEnabled: boolean;
}

export interface DeviceChainOptions {
  now: Date;
  clockSkewSeconds: number;
  keyCache?: PublicKeyCache;
}

/**
 * Validates a device chain for just-in-time provisioning and says which registered CA it
 * chains to. Paths are built first to CAs that may provision (active, JITP on); only when none
 * exists are the other registered CAs tried, to give the precise refusal (inactive CA, JITP
 * disabled) instead of "unknown CA".
 */
export function validateDeviceChain(
  leaf: string | Uint8Array,
  intermediates: (string | Uint8Array)[],
  anchors: AnchorCa[],
  opts: DeviceChainOptions,
): { ca: AnchorCa; chain: ChainCert[] } {
  const usable = anchors.filter((a) => a.status === 'active' && a.jitpEnabled);
  const run = (set: AnchorCa[]) =>
    validateChain(
      {
        leaf,
        intermediates,
        trustAnchors: set.map((a) => a.certificatePem),
        now: opts.now,
        policy: {
          requiredEku: [CLIENT_AUTH_EKU],
          clockSkewSeconds: opts.clockSkewSeconds,
          endEntityOnly: true,
        },
      },
      { keyCache: opts.keyCache },
    );
  const result = run(usable);
  if (result.ok) return { ca: anchorOf(result.chain, usable), chain: result.chain };
  if (result.code === 'CHAIN_NO_PATH') {
    const others = anchors.filter((a) => !usable.includes(a));
    const fallback = others.length > 0 ? run(others) : undefined;
    if (fallback?.ok) {
      const ca = anchorOf(fallback.chain, others);
      const code: ErrorCode = ca.status === 'active' ? 'JITP_DISABLED' : 'JITP_CA_INACTIVE';
      throw new CertflowError(
        code,
        `the issuing CA ${ca.id} is ${ca.status}${ca.jitpEnabled ? '' : ', JITP disabled'}`,
      );
    }
    throw new CertflowError('JITP_UNKNOWN_CA', `no path to a registered CA: ${result.detail}`);
  }
  if (result.code === 'CHAIN_MALFORMED' && !isParsable(leaf)) {
    throw new CertflowError('DEVICE_CERTIFICATE_MALFORMED', result.detail);
  }
  throw new CertflowError('JITP_CHAIN_INVALID', `${result.code}: ${result.detail}`);
}

function anchorOf(chain: ChainCert[], anchors: AnchorCa[]): AnchorCa {
  const top = chain.at(-1)?.fingerprintSha256.toLowerCase();
  const ca = anchors.find((a) => a.fingerprintSha256 === top);
  if (!ca) throw new Error('validated chain ends at an anchor that was not offered');
  return ca;
}

function isParsable(leaf: string | Uint8Array): boolean {
  const result = validateChain({ leaf, trustAnchors: [], now: new Date(0) });
  return result.ok || result.code !== 'CHAIN_MALFORMED';
}
