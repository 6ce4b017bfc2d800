/** Audit event types written to the append-only audit log. Never renamed once shipped. */
export const auditEventTypes = [
  'device.created',
  'device.provisioned',
  'api-key.created',
  'api-key.revoked',
  'tenant.created',
] as const;
export type AuditEventType = (typeof auditEventTypes)[number];
