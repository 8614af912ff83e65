/**
 * The health of a consumer group as readiness reports it: what the pipeline tracks
 * (`pipeline/group_health.ts`) and the API shows (`/readyz`, `/status`).
 *
 * @module
 */

/** One consumer group this process runs, as `/readyz` and `/status` show it. */
export interface ConsumerHealth {
  group: string;
  topic: string;
  /** Consuming, and making progress or with nothing pending on its partitions. */
  ok: boolean;
  /** `starting` (waiting for the broker, joining), `consuming`, `lost` (reconnecting), `stopped`. */
  state: string;
  /** Messages of the topic the group has not committed yet (from the broker); null while unknown. */
  lag: number | null;
  /** The part of `lag` on the partitions assigned to this process. */
  assigned_lag: number | null;
  /** Partitions assigned to this process; null before the first join. */
  partitions: number[] | null;
  /** Epoch ms of the last batch handled; null before the first. */
  last_batch_at: number | null;
  /** Seconds since the group last made progress (handled a batch, or its stream opened). */
  idle_s: number;
  /** Times the stream was lost and opened again. */
  reconnects: number;
  /** Why the group is not ok. */
  reason?: string;
}
