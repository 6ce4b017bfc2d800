import { renderTable } from '../table';

/** An API key as the API returns it; never its secret. */
export interface ApiKeyView {
  id: string;
  tenant_id: string;
  name: string;
  role: string;
  created_at: string;
  revoked_at: string | null;
}

export function apiKeyTable(keys: readonly ApiKeyView[]): string {
  return renderTable(
    [
      { header: 'ID', value: (k) => k.id },
      { header: 'NAME', value: (k) => k.name },
      { header: 'ROLE', value: (k) => k.role },
      { header: 'CREATED', value: (k) => k.created_at },
      { header: 'REVOKED', value: (k) => k.revoked_at },
    ],
    keys,
  );
}
