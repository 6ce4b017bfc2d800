/** Audit event types written to the append-only audit log. Never renamed once shipped. */
export const auditEventTypes = [
  'device.created',
  'device.provisioned',
  'api-key.created',
  'api-key.revoked',
  'tenant.created',
  'rotation.started',
  'rotation.issued',
  'rotation.completed',
  'rotation.rolled_back',
  'rotation.failed',
  'rotation-run.status',
  'rotation-run.finished',
  'device.revoked',
  'certificate.revoked',
] as const;
export type AuditEventType = (typeof auditEventTypes)[number];
