/**
 * Workers in the test's own process and a client beside them, for integration tests that run
 * workflows on the lab's Temporal: `startTestWorkers` in beforeAll, `stop` in afterAll (it closes the
 * client, shuts the workers down and waits until they have, and does nothing for what never started).
 */
import { Client, Connection } from '@temporalio/client';
import { temporalSettings, type TemporalSettings } from '../../src/temporal/connection';
import { createWorkers, type LifeboatWorkerOptions } from '../../src/temporal/worker';

export interface TestWorkers {
  client: Client;
  settings: TemporalSettings;
  stop(): Promise<void>;
}

/** Workers for the control queue and `opts.hosts`' queues, running until `stop`, and a connected client. */
export async function startTestWorkers(opts: LifeboatWorkerOptions = {}): Promise<TestWorkers> {
  const settings = opts.settings ?? temporalSettings();
  const workers = await createWorkers({ ...opts, settings });
  const running = workers.run();
  let connection: Connection;
  try {
    connection = await Connection.connect(settings.connection);
  } catch (e) {
    // No client, no afterAll to stop them: the workers end here.
    workers.shutdown();
    await running;
    throw e;
  }
  return {
    client: new Client({ connection, namespace: settings.namespace }),
    settings,
    stop: async () => {
      await connection.close();
      workers.shutdown();
      await running;
    },
  };
}
