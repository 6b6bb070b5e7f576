/**
 * A test-only workflow that runs the drill's write stream as the drill workflow does: it answers
 * DRILL_STREAM_STOP_QUERY (false until the test signals `stopStream`) and routes the activity to the
 * task queue the test names (a worker the test can SIGKILL). Bundled by test/drills/stream.int.test.ts.
 */
import { defineQuery, defineSignal, proxyActivities, setHandler } from '@temporalio/workflow';
import type { LifeboatActivities } from '../../../activities';
import type { ClusterSpec } from '../../../src/config/spec';
import { DRILL_STREAM_STOP_QUERY } from '../../../src/drills/ids.pure';
import type { StreamLog } from '../../../src/drills/records';

export const stopStreamSignal = defineSignal('stopStream');

export interface StreamTestInput {
  spec: ClusterSpec;
  drillId: string;
  topic: string;
  intervalMs: number;
  zookeeper?: boolean;
  activityQueue: string;
  heartbeatSeconds: number;
}

export async function drillStreamTest(input: StreamTestInput): Promise<StreamLog> {
  let stop = false;
  setHandler(defineQuery<boolean>(DRILL_STREAM_STOP_QUERY), () => stop);
  setHandler(stopStreamSignal, () => {
    stop = true;
  });
  const { drillWriteStreamActivity } = proxyActivities<LifeboatActivities>({
    taskQueue: input.activityQueue,
    startToCloseTimeout: '10 minutes',
    heartbeatTimeout: `${input.heartbeatSeconds} seconds`,
    retry: { initialInterval: '200 milliseconds', maximumAttempts: 5 },
  });
  return drillWriteStreamActivity({ spec: input.spec, drillId: input.drillId, topic: input.topic, intervalMs: input.intervalMs, zookeeper: input.zookeeper });
}
