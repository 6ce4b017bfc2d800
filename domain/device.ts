/** Device rules shared by every edge (HTTP, MQTT, CoAP) and the workflows. Pure. */

export const DEVICE_NAME_MAX_LENGTH = 128;

export const provisionStates = ['pre-provisioned', 'provisioned'] as const;
export type ProvisionState = (typeof provisionStates)[number];

export const deviceStatuses = ['active', 'disabled', 'revoked'] as const;
export type DeviceStatus = (typeof deviceStatuses)[number];

/**
 * Why a device name is refused, or undefined when it is fine. Names become MQTT topic parts,
 * workflow ids and certificate CNs, so MQTT wildcards, separators, `$`, control characters and
 * surrounding blanks are refused rather than escaped.
 */
export function deviceNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (name.length > DEVICE_NAME_MAX_LENGTH) return `must be at most ${DEVICE_NAME_MAX_LENGTH} characters`;
  if (name.trim() !== name) return 'must not start or end with white space';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(name)) return 'must not contain control characters';
  if (/[+#/$]/.test(name)) return 'must not contain +, #, / or $';
  return undefined;
}

/** Tags are short labels used to select devices for fleet operations. */
export function tagProblem(tag: string): string | undefined {
  if (!/^[A-Za-z0-9][A-Za-z0-9._:-]{0,62}$/.test(tag)) {
    return 'must be 1-63 characters of letters, digits, . _ : -, starting with a letter or digit';
  }
  return undefined;
}

/** A device as it crosses boundaries (activity results, HTTP bodies): plain JSON. */
export interface DeviceView {
  id: string;
  tenantId: string;
  name: string;
  label: string | null;
  productId: string | null;
  cohortId: string | null;
  deviceClassId: string | null;
  profileId: string | null;
  tags: string[];
  attributes: Record<string, string | number | boolean>;
  provisionState: ProvisionState;
  status: DeviceStatus;
  createdAt: string;
  updatedAt: string;
}

/** What an operator asks for when pre-provisioning a device (already validated). */
export interface CreateDeviceInput {
  tenantId: string;
  deviceId: string;
  name: string;
  label?: string | null;
  productId?: string | null;
  cohortId?: string | null;
  deviceClassId?: string | null;
  profileId?: string | null;
  tags?: string[];
  attributes?: Record<string, string | number | boolean>;
  /** SHA-256 of the device's access token, if it gets one; never the token itself. */
  accessTokenHash?: string | null;
  /** The gateway the device sits behind (created by gateway provisioning). */
  gatewayId?: string | null;
  /** Who asked: `api-key:<id>`, `cli`, … recorded in the audit trail. */
  requestedBy: string;
}

/** What the edge hands the JITP workflow: the chain as presented, and the ids it chose. */
export interface ProvisionX509Input {
  tenantId: string;
  caId: string;
  deviceId: string;
  leafPem: string;
  intermediatePems: string[];
  /** `mqtt` or `https`: recorded in the audit trail. */
  via: string;
}

export interface ProvisionedDevice {
  tenantId: string;
  deviceId: string;
  deviceName: string;
}
