import type { DeviceView } from '../../domain/device';
import { type Column, renderTable } from '../table';

export const deviceColumns: Column<DeviceView>[] = [
  { header: 'ID', value: (d) => d.id },
  { header: 'NAME', value: (d) => d.name },
  { header: 'STATE', value: (d) => d.provisionState },
  { header: 'STATUS', value: (d) => d.status },
  { header: 'TAGS', value: (d) => d.tags },
  { header: 'LABEL', value: (d) => d.label },
  { header: 'CREATED', value: (d) => d.createdAt },
];

export function deviceTable(devices: readonly DeviceView[]): string {
  return renderTable(deviceColumns, devices);
}

/** One device as `field  value` lines. */
export function deviceDetails(device: DeviceView): string {
  const rows = Object.entries(device as unknown as Record<string, unknown>).map(([field, value]) => ({
    field,
    value,
  }));
  return renderTable<{ field: string; value: unknown }>(
    [
      { header: 'FIELD', value: (r) => r.field },
      { header: 'VALUE', value: (r) => r.value },
    ],
    rows,
  );
}
