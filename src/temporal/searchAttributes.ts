/**
 * Lifeboat's search attributes: which cluster a run is about, what kind of run it is and the step
 * it is on, so operators can filter runs in the Temporal UI (`LifeboatCluster = "primary"`).
 * Plain data plus typed keys; safe to import from workflow code.
 */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const LIFEBOAT_CLUSTER = defineSearchAttributeKey('LifeboatCluster', SearchAttributeType.KEYWORD);
export const LIFEBOAT_KIND = defineSearchAttributeKey('LifeboatKind', SearchAttributeType.KEYWORD);
export const LIFEBOAT_STEP = defineSearchAttributeKey('LifeboatStep', SearchAttributeType.KEYWORD);

/** Names and types as `temporal server start-dev --search-attribute NAME=Type` and the operator API take them. */
export const SEARCH_ATTRIBUTE_TYPES = {
  LifeboatCluster: 'Keyword',
  LifeboatKind: 'Keyword',
  LifeboatStep: 'Keyword',
} as const;
