/**
 * A workflow interceptor that changes what every workflow does: a one-millisecond timer before the
 * workflow's own code. The replay test bundles it in to prove that replay catches a change of
 * commands (a run recorded without the timer must fail to replay with it).
 */
import { sleep, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  inbound: [
    {
      async execute(input, next) {
        await sleep(1);
        return next(input);
      },
    },
  ],
});
