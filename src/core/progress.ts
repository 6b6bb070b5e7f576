/**
 * Typed progress of long work: what activities heartbeat, what the `status` query and
 * `lifeboat status` show, and what the CLI's progress bar draws. Heartbeat details are data from
 * another process, so readers check them with `parseProgress` rather than trusting their shape.
 */
import { z } from 'zod';

export const ProgressSchema = z.object({
  /** The step or sub-step, e.g. "restore-logdirs", "choose-set: reading data". */
  phase: z.string(),
  done: z.number().nonnegative().optional(),
  total: z.number().nonnegative().optional(),
  /** What done/total count: bytes, files, records, znodes, chunks, partitions, brokers, topics. */
  unit: z.string().optional(),
  /** What is being worked on now (a broker, a topic, a file), for people. */
  subject: z.string().optional(),
});

export type Progress = z.infer<typeof ProgressSchema>;

/** Heartbeat details or a status field as Progress, or undefined when they are something else. */
export function parseProgress(value: unknown): Progress | undefined {
  const r = ProgressSchema.safeParse(value);
  return r.success ? r.data : undefined;
}
