/**
 * A workflow interceptor for the time-skipping test server only: a timer whose scope is cancelled is
 * left to fire (unobserved) instead of being cancelled with a CancelTimer command.
 *
 * Why: the Java test server refuses a workflow task's completion that cancels a timer which fired
 * while that task ran (its TimerFired still buffered), and then never times the task out nor hands
 * it out again: the run waits forever on WorkflowTaskStarted (temporalio/sdk-java#2606, #3088; the
 * real server drops the buffered fire and records TimerCanceled). With skipped time a drill's probe
 * interval fires often, so `condition(fn, interval)` ending on `fn` hit it now and then.
 * The workflow sees the same thing either way: its wait ends at once, rejected as cancelled.
 */
import { CancellationScope, type WorkflowInterceptorsFactory } from '@temporalio/workflow';

export const interceptors: WorkflowInterceptorsFactory = () => ({
  outbound: [
    {
      startTimer(input, next) {
        const outer = CancellationScope.current();
        return new Promise<void>((resolve, reject) => {
          if (outer.consideredCancelled) {
            outer.cancelRequested.catch(reject);
            return;
          }
          CancellationScope.nonCancellable(() => next(input)).then(resolve, reject);
          if (outer.cancellable) outer.cancelRequested.catch(reject);
        });
      },
    },
  ],
});
