/** Registered CAs and their just-in-time provisioning (JITP) settings. Pure. */

export const caStatuses = ['active', 'inactive', 'revoked'] as const;
export type CaStatus = (typeof caStatuses)[number];

/** What a device certificate offers to name and describe the device. */
export interface CertificateFields {
  cn: string | null;
  o: string | null;
  ou: string | null;
  serialHex: string;
  notAfter: string;
  sans: string[];
}

export interface JitpSettings {
  enabled: boolean;
  productId: string | null;
  cohortId: string | null;
  deviceClassId: string | null;
  tags: string[];
  /** e.g. `{{o}} unit {{cn}} (serial {{serial}})`; fields: cn, o, ou, serial, notAfter, sans. */
  descriptionTemplate: string | null;
  /**
   * How the device name is derived: absent → the subject CN; else a regular expression over
   * the CN whose first capture group is the name.
   */
  deviceNamePattern: string | null;
}

export const defaultJitpSettings: JitpSettings = {
  enabled: false,
  productId: null,
  cohortId: null,
  deviceClassId: null,
  tags: [],
  descriptionTemplate: null,
  deviceNamePattern: null,
};

/** Why a name pattern is unusable, or undefined: it must compile and have a capture group. */
export function namePatternProblem(pattern: string): string | undefined {
  if (pattern.length > 256) return 'must be at most 256 characters';
  let re: RegExp;
  try {
    re = new RegExp(pattern);
  } catch (err) {
    return `is not a valid regular expression: ${(err as Error).message}`;
  }
  // A pattern with a group matches the empty alternation with an extra slot per group.
  const groups = new RegExp(`${re.source}|`).exec('')?.length ?? 1;
  return groups < 2 ? 'needs a capture group that yields the device name' : undefined;
}

/** The device name a certificate yields under the settings, or undefined when it yields none. */
export function deviceNameFromCertificate(
  fields: CertificateFields,
  settings: JitpSettings,
): string | undefined {
  const cn = fields.cn;
  if (!cn) return undefined;
  if (!settings.deviceNamePattern) return cn;
  const match = new RegExp(settings.deviceNamePattern).exec(cn);
  return match?.[1] || undefined;
}

const templateFields = ['cn', 'o', 'ou', 'serial', 'notAfter', 'sans'] as const;

/** Fills `{{field}}` placeholders from the certificate; unknown placeholders are left as written. */
export function renderDescription(template: string, fields: CertificateFields): string {
  const values: Record<(typeof templateFields)[number], string> = {
    cn: fields.cn ?? '',
    o: fields.o ?? '',
    ou: fields.ou ?? '',
    serial: fields.serialHex,
    notAfter: fields.notAfter,
    sans: fields.sans.join(', '),
  };
  return template
    .replace(/\{\{\s*(\w+)\s*\}\}/g, (whole, name: string) =>
      (templateFields as readonly string[]).includes(name) ? values[name as keyof typeof values] : whole,
    )
    .slice(0, 256);
}

/** Days until a CA expires (negative once expired) and whether it is inside the warning window. */
export function caExpiry(
  notAfter: string,
  now: Date,
  warningDays: number,
): { daysLeft: number; warning: boolean } {
  const daysLeft = Math.floor((Date.parse(notAfter) - now.getTime()) / 86_400_000);
  return { daysLeft, warning: daysLeft <= warningDays };
}
