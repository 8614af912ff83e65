/**
 * Messages between the agent and the stateless group's worker thread (`worker.ts`).
 *
 * @module
 */
import type { Config } from "../../config/schema.ts";
import type { Assignment, StreamState } from "../../kafka/consumer_supervisor.ts";
import type { TopicLimits } from "../../kafka/limits.ts";
import type { CounterName } from "../../telemetry/counters.ts";

/** From the agent to the worker. */
export type ToStatelessWorker =
  | { type: "start"; config: Config; enrichedPartitions: number; limits: TopicLimits }
  | { type: "stop" };

/** From the worker to the agent. */
export type FromStatelessWorker =
  | { type: "started" }
  | { type: "failed"; message: string }
  | { type: "count"; counter: CounterName; amount: number }
  | { type: "batch"; size: number; handlerMs: number; ageMs: number }
  | { type: "state"; state: StreamState; error?: string }
  | { type: "assignment"; assignment: Assignment }
  | { type: "failure"; error: string }
  | { type: "stopped" };
