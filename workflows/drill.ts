/**
 * drill (issue 16): one DR drill against a staging cluster, in the five phases of §8.3. Stub until
 * the workflow lands.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import type { ClusterSpec } from '../src/config/spec';
import type { DrillRecord, Scenario } from '../src/drills/records';
import type { DrillType } from '../src/drills/types';

export interface DrillInput {
  /** The target, by spec or by name among the worker's specs. */
  spec?: ClusterSpec;
  cluster?: string;
  scenario: Scenario;
  type: DrillType;
  /** Needed to drill a cluster whose spec does not say environment: staging (or development). */
  iKnowThisIsProduction?: boolean;
  /** Set by a Schedule: its id. */
  schedule?: string;
}

export async function drill(_input: DrillInput): Promise<DrillRecord> {
  throw ApplicationFailure.nonRetryable('the drill workflow is not built yet', 'InvalidInput');
}
