/**
 * The batch-consumer options both consumer groups share: batch bounds from `kafka.*`, failures and
 * stream state changes logged (one line per change), batches, failures, state and assignment
 * reported to the given hooks.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { describeError } from "../lib/errors.ts";
import type { Logger } from "../lib/log.ts";
import type { BatchConsumerOptions } from "../kafka/batch_consumer.ts";
import type { Assignment, StreamState } from "../kafka/consumer_supervisor.ts";

/** What one group reports (plain values: they cross from the stateless worker thread). */
export interface GroupHooks {
  /** After each handled batch: its size, the handler's milliseconds, its first message's age. */
  onBatch(size: number, handlerMs: number, ageMs: number): void;
  /** The stream's state changed; `error` says why it was lost. */
  onState(state: StreamState, error?: string): void;
  /** The partitions assigned to this process after a (re)join. */
  onAssignment(assignment: Assignment): void;
  /** The batch in hand failed and will be retried. */
  onFailure(error: string): void;
}

/** Options for a {@link BatchConsumer} of `group` on `topic` (or several topics). */
export function batchConsumerOptions(
  config: Config,
  topic: string | readonly string[],
  group: string,
  log: Logger,
  hooks: GroupHooks,
): BatchConsumerOptions {
  return {
    topics: typeof topic === "string" ? [topic] : [...topic],
    maxMessages: config.kafka.batch_max_messages,
    maxBytes: config.kafka.batch_max_bytes,
    maxWaitMs: config.kafka.batch_max_wait,
    fromBeginning: config.kafka.from_beginning,
    onRetry: (error, delayMs) => {
      log.error("batch failed; consumption paused, retrying the same batch", {
        group,
        delay_ms: delayMs,
        error,
      });
      hooks.onFailure(describeError(error));
    },
    onCommitError: (error) => log.warn("offset commit failed; the batch will be replayed", { group, error }),
    onBatch: (size, handlerMs, ageMs) => hooks.onBatch(size, handlerMs, ageMs),
    onState: (state, detail) => {
      if (state === "lost") {
        log.error("consumer lost its stream (broker unreachable?); reconnecting with backoff", {
          group,
          error: detail.error,
        });
      } else if (state === "consuming" && detail.downMs !== undefined) {
        log.info("consumer reconnected; consuming again from the committed offsets", {
          group,
          down_s: Math.round(detail.downMs / 100) / 10,
          attempts: detail.attempts,
        });
      }
      hooks.onState(state, detail.error === undefined ? undefined : describeError(detail.error));
    },
    onAssignment: (assignment) => hooks.onAssignment(assignment),
  };
}
