/**
 * The failover policy of a run: the defaults (FailoverPolicy's doc comments), then the primary
 * spec's `failover` section, then the run's own overrides (FailoverInput.policy).
 *
 * No Node APIs and only type imports from the spec: the failover workflow computes its policy
 * in workflow code from the spec it resolved.
 */
import type { ClusterSpec } from '../config/spec';
import { LifeboatError } from '../errors';
import type { FailoverPolicy, Severity } from './types';

export const DEFAULT_FAILOVER_POLICY: Readonly<FailoverPolicy> = Object.freeze({
  // The seed's decision tree asks "can it be repaired within 15 minutes?" (004 §6.3).
  repairBudgetMinutes: 15,
  confirmProbes: 3,
  confirmIntervalSeconds: 5,
  maxLagRecords: 10_000,
  approvers: 1,
  autoApprove: [] as Severity[],
  // The seed's P0 row: respond within 15 minutes (004 §6.2); after that the approval escalates.
  approvalTimeoutMinutes: 15,
  onApprovalTimeout: 'escalate' as const,
  degradationLevel: 1 as const,
});

const SEVERITIES: readonly Severity[] = ['P0', 'P1', 'P2', 'P3'];

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isInt = (v: unknown): v is number => isNum(v) && Number.isInteger(v);

/** What is wrong with a set of overrides, one line per field (empty when none). */
export function policyProblems(overrides: unknown, where = 'policy'): string[] {
  if (overrides === undefined || overrides === null) return [];
  if (typeof overrides !== 'object' || Array.isArray(overrides)) return [`${where}: expected an object of failover policy fields`];
  const o = overrides as Record<string, unknown>;
  const problems: string[] = [];
  const check = (key: keyof FailoverPolicy, ok: (v: unknown) => boolean, expected: string): void => {
    if (o[key] !== undefined && !ok(o[key])) problems.push(`${where}.${key}: expected ${expected}, got ${JSON.stringify(o[key])}`);
  };
  check('repairBudgetMinutes', (v) => isNum(v) && v >= 0 && v <= 1440, 'minutes between 0 and 1440');
  check('confirmProbes', (v) => isInt(v) && v >= 1 && v <= 20, 'a whole number of probes between 1 and 20');
  check('confirmIntervalSeconds', (v) => isNum(v) && v >= 0 && v <= 600, 'seconds between 0 and 600');
  check('maxLagRecords', (v) => isInt(v) && v >= 0, 'a whole number of records, 0 or more');
  check('approvers', (v) => isInt(v) && v >= 1 && v <= 10, 'a whole number of approvers between 1 and 10');
  check('autoApprove', (v) => Array.isArray(v) && v.every((s) => SEVERITIES.includes(s as Severity)), 'a list of severities (P0, P1, P2, P3)');
  check('approvalTimeoutMinutes', (v) => isNum(v) && v > 0 && v <= 10080, 'minutes above 0 and at most 10080 (a week)');
  check('onApprovalTimeout', (v) => v === 'escalate' || v === 'proceed' || v === 'stand-down', '"escalate", "proceed" or "stand-down"');
  check('degradationLevel', (v) => isInt(v) && v >= 0 && v <= 4, 'a degradation level 0-4');
  const known = new Set<string>(Object.keys(DEFAULT_FAILOVER_POLICY));
  for (const k of Object.keys(o)) if (!known.has(k)) problems.push(`${where}.${k}: not a failover policy field (known: ${[...known].join(', ')})`);
  return problems;
}

/**
 * The policy for a failover of `spec`: defaults ← spec.failover ← overrides. Bad overrides are
 * one InvalidInput naming every bad field (the spec's own section was validated when it loaded).
 */
export function failoverPolicy(spec: Pick<ClusterSpec, 'failover'> | undefined, overrides?: Partial<FailoverPolicy>): FailoverPolicy {
  const problems = [...policyProblems(spec?.failover, 'failover'), ...policyProblems(overrides, 'policy')];
  if (problems.length) throw new LifeboatError('InvalidInput', `invalid failover policy:\n${problems.map((p) => `  ${p}`).join('\n')}`);
  const defined = <T extends object>(o: T | undefined): Partial<T> =>
    Object.fromEntries(Object.entries(o ?? {}).filter(([, v]) => v !== undefined)) as Partial<T>;
  const merged: FailoverPolicy = { ...DEFAULT_FAILOVER_POLICY, ...defined(spec?.failover as Partial<FailoverPolicy> | undefined), ...defined(overrides) };
  // A copy: the default's frozen array is never handed out to be mutated.
  return { ...merged, autoApprove: [...merged.autoApprove] };
}
