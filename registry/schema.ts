import type { Generated, Insertable, Selectable } from 'kysely';

/**
 * Registry tables. Portable across SQLite and PostgreSQL: ids are text made in code,
 * timestamps are ISO-8601 UTC text (sortable), JSON is text, booleans are 0/1 integers.
 */
export interface TenantTable {
  id: string;
  name: string;
  created_at: string;
}

export interface ApiKeyTable {
  id: string;
  tenant_id: string;
  name: string;
  role: string;
  /** SHA-256 (hex) of the key's secret part; the key itself is shown once and never stored. */
  secret_hash: string;
  created_at: string;
  revoked_at: string | null;
}

export interface CaCertificateTable {
  id: string;
  tenant_id: string;
  subject: string;
  serial_hex: string;
  fingerprint_sha256: string;
  certificate_pem: string;
  status: string;
  not_before: string;
  not_after: string;
  jitp_enabled: number;
  jitp_settings: string;
  created_at: string;
  updated_at: string;
}

export interface CaRegistrationCodeTable {
  tenant_id: string;
  code: string;
  created_at: string;
}

export interface ProductTable {
  id: string;
  tenant_id: string;
  name: string;
  description: string | null;
  created_at: string;
}

export interface CohortTable {
  id: string;
  tenant_id: string;
  product_id: string | null;
  name: string;
  created_at: string;
}

export interface DeviceClassTable {
  id: string;
  tenant_id: string;
  name: string;
  /** JSON: the least-privilege policy (topic rules) devices of this class get. */
  policy: string;
  /** JSON: RenewalSettings (scheduled renewal of this class's certificates); `{}` = disabled. */
  renewal: string;
  created_at: string;
}

export interface DeviceProfileTable {
  id: string;
  tenant_id: string;
  name: string;
  provision_key: string | null;
  provision_secret_hash: string | null;
  strategy: string;
  allowed_credential_types: string;
  device_class_id: string | null;
  /** Unused legacy column (references ca_certificates); profiles sign with `issuing_ca_ref`. */
  issuing_ca_id: string | null;
  /** The issuing CA (issuing_cas.id) that signs CSRs from this profile's devices. */
  issuing_ca_ref: string | null;
  allow_reprovision: number;
  rate_per_minute: number;
  created_at: string;
  updated_at: string;
}

export interface IssuingCaTable {
  id: string;
  tenant_id: string;
  name: string;
  subject: string;
  fingerprint_sha256: string;
  certificate_pem: string;
  chain_pem: string;
  encrypted_private_key: string;
  not_before: string;
  not_after: string;
  status: string;
  created_at: string;
}

export interface DeviceTable {
  id: string;
  tenant_id: string;
  name: string;
  label: string | null;
  product_id: string | null;
  cohort_id: string | null;
  device_class_id: string | null;
  profile_id: string | null;
  tags: string;
  attributes: string;
  provision_state: string;
  status: string;
  gateway_id: string | null;
  provisioned_at: string | null;
  /** The workflow that created the device: lets a retried creation recognise its own row. */
  created_by_workflow: string;
  created_at: string;
  updated_at: string;
}

export interface DeviceCredentialTable {
  id: string;
  tenant_id: string;
  device_id: string;
  type: string;
  /** What the edge looks the credential up by: token hash, certificate SHA-256, client id. */
  lookup_key: string;
  secret_hash: string | null;
  certificate_id: string | null;
  status: string;
  created_at: string;
  revoked_at: string | null;
  revocation_reason: string | null;
  /** Workflow id of the rotation waiting for this credential's first use; null otherwise. */
  pending_rotation: string | null;
}

export interface CertificateTable {
  id: string;
  tenant_id: string;
  device_id: string | null;
  issuer_ca_id: string | null;
  serial_hex: string;
  fingerprint_sha256: string;
  subject: string;
  not_before: string;
  not_after: string;
  certificate_pem: string;
  status: string;
  created_at: string;
  revoked_at: string | null;
  revocation_reason: string | null;
  /** The issuing CA (issuing_cas.id) that signed it, for certificates certflow issued. */
  issuing_ca_id: string | null;
}

export interface RotationRunTable {
  id: string;
  tenant_id: string;
  /** RunStatus. */
  status: string;
  status_reason: string | null;
  /** `api` or `schedule`. */
  source: string;
  /** JSON RotationSelection. */
  selection: string;
  /** JSON RotationOptions. */
  options: string;
  total: number;
  /** 1 once every selected device has its item row. */
  materialized: number;
  workflow_id: string;
  created_by: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** JSON final report (counts), written once when the run ends. */
  report: string | null;
}

export interface RotationItemTable {
  run_id: string;
  device_id: string;
  tenant_id: string;
  /** 1-based order within the run; the run workflow starts items by ascending seq. */
  seq: number;
  /** ItemState. */
  state: string;
  reason: string | null;
  old_fingerprint: string | null;
  new_fingerprint: string | null;
  updated_at: string;
}

/** The one rotation in progress per device (deleted when it ends). */
export interface DeviceRotationTable {
  device_id: string;
  tenant_id: string;
  rotation_id: string;
  workflow_id: string;
  run_id: string | null;
  /** `requested` (waiting for a CSR) or `issued` (waiting for the first use). */
  state: string;
  old_fingerprint: string;
  new_fingerprint: string | null;
  issuing_ca_id: string;
  deadline: string;
  created_at: string;
  updated_at: string;
}

export interface EdgeEventTable {
  seq: Generated<number>;
  tenant_id: string;
  device_id: string | null;
  /** EdgeEventType. */
  type: string;
  fingerprint: string | null;
  /** JSON. */
  data: string;
  created_at: string;
}

export interface AuditEventTable {
  id: string;
  tenant_id: string;
  /** Idempotency key: a retried activity writes its event once. */
  event_key: string;
  type: string;
  actor: string;
  device_id: string | null;
  ca_id: string | null;
  run_id: string | null;
  workflow_id: string | null;
  workflow_run_id: string | null;
  data: string;
  created_at: string;
  seq: Generated<number>;
}

export interface Database {
  tenants: TenantTable;
  api_keys: ApiKeyTable;
  ca_certificates: CaCertificateTable;
  ca_registration_codes: CaRegistrationCodeTable;
  products: ProductTable;
  cohorts: CohortTable;
  device_classes: DeviceClassTable;
  device_profiles: DeviceProfileTable;
  issuing_cas: IssuingCaTable;
  devices: DeviceTable;
  device_credentials: DeviceCredentialTable;
  certificates: CertificateTable;
  audit_events: AuditEventTable;
  rotation_runs: RotationRunTable;
  rotation_items: RotationItemTable;
  device_rotations: DeviceRotationTable;
  edge_events: EdgeEventTable;
}

export type DeviceRow = Selectable<DeviceTable>;
export type NewDevice = Insertable<DeviceTable>;
export type AuditEventRow = Selectable<AuditEventTable>;
export type ApiKeyRow = Selectable<ApiKeyTable>;
export type TenantRow = Selectable<TenantTable>;
export type CaRow = Selectable<CaCertificateTable>;
export type DeviceProfileRow = Selectable<DeviceProfileTable>;
export type IssuingCaRow = Selectable<IssuingCaTable>;
export type RotationRunRow = Selectable<RotationRunTable>;
export type RotationItemRow = Selectable<RotationItemTable>;
export type DeviceRotationRow = Selectable<DeviceRotationTable>;
export type CertificateRow = Selectable<CertificateTable>;
