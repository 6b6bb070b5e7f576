import { describe, expect, it } from 'vitest';
import { parseSpec } from '../../src/config/spec';
import { DEFAULT_FAILOVER_POLICY, failoverPolicy, policyProblems } from '../../src/failover/policy.pure';

const base = { name: 'primary', kafka: { bootstrapServers: ['127.0.0.1:9092'] } };

describe('failoverPolicy', () => {
  it('defaults, as documented in FailoverPolicy', () => {
    expect(failoverPolicy(parseSpec(base))).toEqual({
      repairBudgetMinutes: 15,
      confirmProbes: 3,
      confirmIntervalSeconds: 5,
      maxLagRecords: 10_000,
      approvers: 1,
      autoApprove: [],
      approvalTimeoutMinutes: 15,
      onApprovalTimeout: 'escalate',
      degradationLevel: 1,
    });
    expect(failoverPolicy(undefined)).toEqual(failoverPolicy(parseSpec(base)));
  });

  it('the spec section overrides the defaults, the run overrides the spec', () => {
    const spec = parseSpec({ ...base, standby: 'standby', failover: { repairBudgetMinutes: 5, approvers: 2, autoApprove: ['P2', 'P3'], degradationLevel: 3 } });
    expect(spec.standby).toBe('standby');
    const p = failoverPolicy(spec, { approvers: 1, maxLagRecords: 0 });
    expect(p).toMatchObject({ repairBudgetMinutes: 5, approvers: 1, autoApprove: ['P2', 'P3'], degradationLevel: 3, maxLagRecords: 0, confirmProbes: 3 });
  });

  it('undefined overrides do not erase', () => {
    expect(failoverPolicy(parseSpec(base), { approvers: undefined }).approvers).toBe(1);
  });

  it('never hands out the defaults to be mutated', () => {
    failoverPolicy(undefined).autoApprove.push('P0');
    expect(DEFAULT_FAILOVER_POLICY.autoApprove).toEqual([]);
    expect(failoverPolicy(undefined).autoApprove).toEqual([]);
  });

  it('bad run overrides: one InvalidInput naming every bad field', () => {
    expect(() => failoverPolicy(undefined, { approvers: 0, onApprovalTimeout: 'wait' as never, bogus: 1 } as never)).toThrow(
      expect.objectContaining({
        type: 'InvalidInput',
        message: expect.stringMatching(/policy\.approvers: expected .*\n.*policy\.onApprovalTimeout: .*\n.*policy\.bogus: not a failover policy field/),
      }),
    );
    expect(policyProblems({ autoApprove: ['P5'] })).toEqual([expect.stringMatching(/autoApprove: expected a list of severities/)]);
    expect(policyProblems('x')).toEqual([expect.stringMatching(/expected an object/)]);
    expect(policyProblems(undefined)).toEqual([]);
  });
});

describe('spec: the failover section', () => {
  it('is optional and strict', () => {
    expect(parseSpec(base).failover).toBeUndefined();
    expect(() => parseSpec({ ...base, failover: { repairBudget: 5 } }, 'p.yaml')).toThrow(/failover: Unrecognized key.*repairBudget|repairBudget/);
  });
  it('names a bad field', () => {
    expect(() => parseSpec({ ...base, failover: { confirmProbes: 0 } }, 'p.yaml')).toThrow(/failover\.confirmProbes/);
    expect(() => parseSpec({ ...base, failover: { degradationLevel: 5 } }, 'p.yaml')).toThrow(/failover\.degradationLevel/);
    expect(() => parseSpec({ ...base, failover: { autoApprove: ['P9'] } }, 'p.yaml')).toThrow(/failover\.autoApprove\[0\]/);
  });
});
