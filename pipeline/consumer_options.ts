/**
 * The batch-consumer options both consumer groups share: batch bounds from `kafka.*`, failures
 * logged, batch and lag metrics to the given hooks.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Logger } from "../lib/log.ts";
import type { BatchConsumerOptions } from "../kafka/batch_consumer.ts";

/** Batch and lag reporting of one group. */
export interface GroupMetricsHooks {
  /** After each handled batch: its size, the handler's milliseconds, its first message's age. */
  onBatch(size: number, handlerMs: number, ageMs: number): void;
  /** The group's lag (messages), every few seconds. */
  onLag(lag: number): void;
}

/** Options for a {@link BatchConsumer} of `group` on `topic`. */
export function batchConsumerOptions(
  config: Config,
  topic: string,
  group: string,
  log: Logger,
  hooks: GroupMetricsHooks,
): BatchConsumerOptions {
  return {
    topics: [topic],
    maxMessages: config.kafka.batch_max_messages,
    maxBytes: config.kafka.batch_max_bytes,
    maxWaitMs: config.kafka.batch_max_wait,
    fromBeginning: config.kafka.from_beginning,
    onRetry: (error, delayMs) =>
      log.error("batch failed; consumption paused, retrying the same batch", {
        group,
        delay_ms: delayMs,
        error,
      }),
    onCommitError: (error) => log.warn("offset commit failed; the batch will be replayed", { group, error }),
    onBatch: (size, handlerMs, ageMs) => hooks.onBatch(size, handlerMs, ageMs),
    onLag: (lag) => hooks.onLag(lag),
  };
}
