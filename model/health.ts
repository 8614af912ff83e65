/**
 * The health of a consumer group as readiness reports it: what the pipeline tracks
 * (`pipeline/group_health.ts`) and the API shows (`/readyz`, `/status`, and the OpenAPI document).
 *
 * @module
 */
import { z } from "zod";

/** One consumer group this process runs, as `/readyz` and `/status` show it. */
/** One `inputs` topic a group also reads: its lag as the group's own topic's. */
export const InputTopicLagSchema = z.object({
  topic: z.string(),
  /** Messages of the topic the group has not committed yet (from the broker); null while unknown. */
  lag: z.number().nullable(),
  /** The part of `lag` on the partitions assigned to this process. */
  assigned_lag: z.number().nullable(),
  /** Partitions assigned to this process; null before the first join. */
  partitions: z.array(z.int()).nullable(),
});

export const ConsumerHealthSchema = z.object({
  group: z.string(),
  topic: z.string(),
  /** Consuming, and making progress or with nothing pending on its partitions. */
  ok: z.boolean(),
  /** `starting` (waiting for the broker, joining), `consuming`, `lost` (reconnecting), `stopped`. */
  state: z.enum(["starting", "consuming", "lost", "stopped"]),
  /** Messages of the topic the group has not committed yet (from the broker); null while unknown. */
  lag: z.number().nullable(),
  /** The part of `lag` on the partitions assigned to this process. */
  assigned_lag: z.number().nullable(),
  /** Partitions assigned to this process; null before the first join. */
  partitions: z.array(z.int()).nullable(),
  /** Epoch ms of the last batch handled; null before the first. */
  last_batch_at: z.number().nullable(),
  /** Seconds since the group last made progress (handled a batch, or its stream opened). */
  idle_s: z.number(),
  /** Times the stream was lost and opened again. */
  reconnects: z.int(),
  /** The `inputs` topics the group also reads (the stateless group's, or local's), each with its lag. */
  inputs: z.array(InputTopicLagSchema),
  /** Why the group is not ok. */
  reason: z.string().optional(),
});
/** One consumer group this process runs, as `/readyz` and `/status` show it. */
export type ConsumerHealth = z.infer<typeof ConsumerHealthSchema>;
