import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
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
