import type { RevokeResult } from '../../domain/rotation';
import type { DeviceCertificateView } from '../../registry/revocations';
import { type Column, renderTable } from '../table';

export type { RevokeResult };
/** The API's device certificate. */
export type DeviceCertificate = DeviceCertificateView;

export function revokeResultText(r: RevokeResult): string {
  const what = r.deviceRevoked ? `device ${r.deviceId} revoked` : `device ${r.deviceId}`;
  const certs =
    r.revokedCertificates.length === 0 ? 'no certificate newly revoked' : r.revokedCertificates.join(', ');
  return `${what}; ${r.revokedCredentials} credential(s) revoked; certificates: ${certs}`;
}

export const certificateColumns: Column<DeviceCertificate>[] = [
  { header: 'FINGERPRINT', value: (c) => c.fingerprintSha256 },
  { header: 'STATUS', value: (c) => (c.pendingRotation ? `${c.status} (awaiting first use)` : c.status) },
  { header: 'NOT AFTER', value: (c) => c.notAfter },
  { header: 'SUBJECT', value: (c) => c.subject },
  {
    header: 'REVOKED',
    value: (c) => (c.revokedAt ? `${c.revokedAt} ${c.revocationReason ?? ''}`.trim() : ''),
  },
];

export function certificateTable(certs: readonly DeviceCertificate[]): string {
  return renderTable(certificateColumns, certs);
}
