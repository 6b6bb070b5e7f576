/**
 * Integration files run two at a time, each against a lab of its own: the global setup brings up
 * TEST_LABS labs (lab/topology.ts labSlotEnv: the one LIFEBOAT_LAB_* names, and one beside it), and
 * a test file uses the lab of its vitest worker's slot (VITEST_POOL_ID, unique among the workers
 * running at a time). Nothing one file does to its clusters, ZooKeeper or Temporal reaches the other.
 */
export const TEST_LABS = 2;

export function labSlot(env: NodeJS.ProcessEnv = process.env): number {
  const id = Number(env.VITEST_POOL_ID ?? 1);
  if (!Number.isInteger(id) || id < 1 || id > TEST_LABS) {
    throw new Error(`vitest worker ${env.VITEST_POOL_ID} has no lab: the run brings up ${TEST_LABS} (test/support/labSlots.ts), so vitest may run at most that many workers`);
  }
  return id;
}
