import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';
import { searchAttributes } from '../domain/ids';

/** Typed keys of certflow's custom search attributes (registered as Keyword). */
export const tenantSearchAttribute = defineSearchAttributeKey(
  searchAttributes.tenant,
  SearchAttributeType.KEYWORD,
);
export const deviceSearchAttribute = defineSearchAttributeKey(
  searchAttributes.device,
  SearchAttributeType.KEYWORD,
);

/** The search attributes every device workflow starts with, so its history is found by device. */
export function deviceSearchAttributes(tenantId: string, deviceId: string): TypedSearchAttributes {
  return new TypedSearchAttributes([
    { key: tenantSearchAttribute, value: tenantId },
    { key: deviceSearchAttribute, value: deviceId },
  ]);
}
