/**
 * The drill's early read-back, in skipped time with stub activities (drill.int runs it on real Kafka):
 * the write stream is read back while the recovery verifies, and the review's drop is guarded by the
 * ends that read saw. When an end moved after it (a replica catching up), the drop deletes nothing,
 * the stream is read again, that reading is the record's, and only then is it dropped.
 */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import type { DrillRecord } from '../../src/drills/records';
import { CONTROL_TASK_QUEUE } from '../../src/temporal/taskQueues.pure';
import { drillSpec, drillStubs, NO_READ } from './support/drillStubs';
import { hold, override } from './support/recoveryStubs';
import { stubbedServer } from './support/stubbedServer';

const spec = drillSpec;
const calls: string[] = [];
const TOPIC = 'lifeboat-drill-stream';
const acked = { offset: 4, at: '2026-12-05T20:00:00.000Z' };
/** What a read-back answers: partition 0 readable through `through`, its end `end`. */
const readBackAnswer = (end: number, through: typeof acked | null) => ({
  partitions: [{ topic: TOPIC, partition: 0, lastAcked: acked, intactThrough: through }],
  zookeeper: null,
  streamStartedAt: '2026-12-05T19:59:59.000Z',
  ends: { 0: end },
});

describe('the drill reads the stream back while the recovery verifies', () => {
  const server = stubbedServer(calls, drillStubs as never);

  /** A cluster-lost drill on the newest set whose probe is green; what its drops were asked; its record and history. */
  const drill = async (workflowId: string, reads: (ReturnType<typeof readBackAnswer> | Error)[], drops: { dropped: boolean; changed?: string }[]) => {
    override.drillProbeActivity = async () => ({ green: true, at: new Date().toISOString(), detail: 'green (stub)' });
    override.drillReadBackActivity = async () => {
      const r = reads.shift()!;
      if (r instanceof Error) throw ApplicationFailure.nonRetryable(r.message);
      return r;
    };
    const asked: unknown[] = [];
    override.drillDropStreamActivity = async (input: unknown) => {
      asked.push(input);
      return drops.shift()!;
    };
    const record = (await server.env.client.workflow.execute('drill', {
      taskQueue: CONTROL_TASK_QUEUE,
      workflowId,
      args: [{ spec, scenario: 'cluster-lost', type: 'full', useNewestSet: true, probeIntervalSeconds: 2 }],
    })) as DrillRecord;
    const events = (await server.env.client.workflow.getHandle(workflowId).fetchHistory()).events ?? [];
    return { record, asked, events };
  };

  it('before the recovery ends; the review only drops the stream, guarded by the ends read', async () => {
    const { record, asked, events } = await drill('early-read-back', [readBackAnswer(5, acked)], [{ dropped: true }]);
    const notes = record.phases.flatMap((p) => p.notes);
    const why = notes.join('\n');
    expect(record.phases.find((p) => p.name === 'verify')!.notes, why).toEqual(expect.arrayContaining([expect.stringMatching(/^write stream read back at .*, from the recovery's verify step on$/)]));
    const readBack = events.findIndex((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'drillReadBackActivity');
    const recoveryClosed = events.findIndex((e) => e.childWorkflowExecutionCompletedEventAttributes?.workflowExecution?.workflowId === 'early-read-back/recovery');
    expect(readBack, why).toBeGreaterThan(-1);
    expect(readBack, why).toBeLessThan(recoveryClosed);
    expect(calls.filter((c) => c === 'drillReadBackActivity')).toHaveLength(1);
    expect(asked).toEqual([{ spec, topic: 'lifeboat-drill-early-read-back', drillId: 'early-read-back', ifEnds: { 0: 5 } }]);
    // The reading is the record's evidence, without the ends (a guard, not evidence).
    expect(record.evidence.data?.partitions).toEqual(readBackAnswer(5, acked).partitions);
    expect(JSON.stringify(record.evidence)).not.toContain('"ends"');
    expect(record.rpoSeconds).toBe(0);
  });

  it('an end that moved after it: nothing dropped, read again (that reading is the record\'s), then dropped', async () => {
    const changed = 'partition 0: end 3 at the read-back, end 5 now';
    const { record, asked } = await drill('moved-read-back', [readBackAnswer(3, null), readBackAnswer(5, acked)], [{ dropped: false, changed }, { dropped: true }]);
    expect(calls.filter((c) => c === 'drillReadBackActivity')).toHaveLength(2);
    expect(asked).toEqual([
      { spec, topic: 'lifeboat-drill-moved-read-back', drillId: 'moved-read-back', ifEnds: { 0: 3 } },
      { spec, topic: 'lifeboat-drill-moved-read-back', drillId: 'moved-read-back' },
    ]);
    expect(record.phases.find((p) => p.name === 'review')!.notes).toEqual(expect.arrayContaining([`the write stream's ends moved since its read-back (${changed}): read again before the drop`]));
    // The second reading: partition 0 intact through its last ack, nothing lost.
    expect(record.evidence.data?.partitions).toEqual(readBackAnswer(5, acked).partitions);
    expect(record.rpoSeconds).toBe(0);
  });

  it('not before the recovery restored the data: none while its log-dir restore is held', async () => {
    let release = () => {};
    hold.logDirs = new Promise<void>((r) => (release = r));
    try {
      const done = drill('held-read-back', [readBackAnswer(5, acked)], [{ dropped: true }]);
      for (const until = Date.now() + 60_000; Date.now() < until && !calls.includes('restoreLogDirsActivity'); ) await new Promise((r) => setTimeout(r, 25));
      expect(calls).toContain('restoreLogDirsActivity');
      await new Promise((r) => setTimeout(r, 500));
      expect(calls.filter((c) => c === 'drillReadBackActivity')).toEqual([]);
      release();
      const { record, asked } = await done;
      expect(calls.filter((c) => c === 'drillReadBackActivity')).toHaveLength(1);
      expect(asked).toEqual([expect.objectContaining({ ifEnds: { 0: 5 } })]);
      expect(record.evidence.data?.partitions).toEqual(readBackAnswer(5, acked).partitions);
    } finally {
      release();
      delete hold.logDirs;
    }
  });

  it('a recovery that did not verify: that reading is not used; the stream read again after it, the drop unguarded', async () => {
    override.produceConsumeProbeActivity = async () => {
      throw new Error(NO_READ);
    };
    const { record, asked } = await drill('unverified-read-back', [readBackAnswer(3, null), readBackAnswer(5, acked)], [{ dropped: true }]);
    expect(record.phases.find((p) => p.name === 'verify')!.notes).toEqual(expect.arrayContaining([expect.stringContaining('not run: the recovery did not verify')]));
    expect(calls.filter((c) => c === 'drillReadBackActivity')).toHaveLength(2);
    expect(record.phases.flatMap((p) => p.notes).filter((n) => n.startsWith('write stream read back at'))).toEqual([]);
    expect(asked).toEqual([{ spec, topic: 'lifeboat-drill-unverified-read-back', drillId: 'unverified-read-back' }]);
    expect(record.evidence.data?.partitions).toEqual(readBackAnswer(5, acked).partitions);
  });

  it('a reading again that fails: a P1 problem, the loss unmeasured (not the stale reading), the stream still dropped', async () => {
    const changed = 'partition 0: end 3 at the read-back, end 5 now';
    const { record, asked } = await drill('failed-read-again', [readBackAnswer(3, null), new Error('the cluster went away (stub)')], [{ dropped: false, changed }, { dropped: true }]);
    expect(record.problems.map((p) => [p.class, p.title])).toEqual(
      expect.arrayContaining([['P1', 'the write stream could not be read again in the review (its ends moved): the cluster went away (stub); its data loss is not measured']]),
    );
    expect(record.evidence.data?.partitions).toBeUndefined();
    expect(record.rpoSeconds).toBeNull();
    expect(asked).toHaveLength(2);
    expect(asked[1]).not.toHaveProperty('ifEnds');
  });
});
