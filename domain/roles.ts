/**
 * API key roles. Admin ⊃ operator ⊃ auditor for reading; auditors never write; only admins
 * manage API keys.
 */
export const roles = ['admin', 'operator', 'auditor'] as const;
export type Role = (typeof roles)[number];

const rank: Record<Role, number> = { auditor: 1, operator: 2, admin: 3 };

export function roleAllows(held: Role, required: Role): boolean {
  return rank[held] >= rank[required];
}
