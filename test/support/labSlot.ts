/**
 * First setup file of every integration test file: points this process, and every process it
 * starts, at the lab of its worker slot (labSlots.ts). Slot 1's lab is the one the environment names.
 */
import { labEnv, labSlotEnv, labTopology } from '../../lab/topology';
import { labSlot } from './labSlots';

const slot = labSlot();
if (slot > 1 && process.env.LIFEBOAT_TEST_LAB_SLOT !== String(slot)) {
  Object.assign(process.env, labSlotEnv(slot, process.env), { LIFEBOAT_TEST_LAB_SLOT: String(slot) });
  // Replaces what the global setup set for slot 1's lab (TEMPORAL_ADDRESS, the Alertmanagers, S3, ...).
  Object.assign(process.env, labEnv(labTopology()));
}
