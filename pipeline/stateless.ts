/**
 * The stateless group: raw messages -> normalize -> enrich -> `events.enriched`, bad input -> DLQ.
 * Pure stages in the middle, Kafka at both ends. Enriched events are packed per partition of their
 * series key (`tenant|host|metric`) into JSON-array messages, so each series stays on one partition,
 * in order.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { ConsumedMessage } from "../kafka/batch_consumer.ts";
import { type ByteProducer, type OutgoingMessage, sendInChunks } from "../kafka/clients.ts";
import { JsonBatcher } from "../kafka/json_batches.ts";
import type { SeriesPartitioner } from "../kafka/partition.ts";
import type { DeadLetter } from "../model/dlq.ts";
import { normalizeMessage } from "../stages/normalize.ts";
import { enrich, isUnknownHost } from "../stages/enrich.ts";
import type { Inventory } from "../stages/inventory.ts";
import type { PipelineCounters } from "./counters.ts";

/** What the stateless handler needs. */
export interface StatelessDeps {
  config: Config;
  producer: ByteProducer;
  /** The current inventory (reloaded on change). */
  inventory: () => Inventory;
  counters: PipelineCounters;
  /** Maps series keys to the enriched topic's partitions. */
  enrichedPartitioner: SeriesPartitioner;
}

/** Creates the batch handler of the stateless group. */
export function createStatelessHandler(
  deps: StatelessDeps,
): (batch: readonly ConsumedMessage[]) => Promise<void> {
  const { config, producer, counters } = deps;
  const { enriched: enrichedTopic, dlq: dlqTopic } = config.topics;
  return async (batch) => {
    const nowMs = Date.now();
    const inventory = deps.inventory();
    const deadLetters: OutgoingMessage[] = [];
    const enriched = new JsonBatcher(enrichedTopic, deps.enrichedPartitioner.partitions);
    let accepted = 0;
    let rejected = 0;
    let unknownHosts = 0;
    for (const message of batch) {
      const offset = message.offset.toString();
      const source = { topic: message.topic, partition: message.partition, offset };
      const value = message.value ?? Buffer.alloc(0);
      const result = normalizeMessage(value, source, config.normalize, nowMs);
      for (const event of result.events) {
        const envelope = enrich(event, inventory);
        if (isUnknownHost(envelope)) unknownHosts++;
        enriched.add(deps.enrichedPartitioner.partition(envelope), JSON.stringify(envelope));
      }
      accepted += result.events.length;
      for (const reject of result.rejects) {
        const record: DeadLetter = {
          stage: "normalize",
          reason: reject.reason,
          source: { ...source, index: reject.index },
          original: reject.original,
          encoding: reject.encoding,
          ts: nowMs,
        };
        deadLetters.push({ topic: dlqTopic, value: Buffer.from(JSON.stringify(record)) });
      }
      rejected += result.rejects.length;
    }
    await sendInChunks(producer, [...enriched.take(), ...deadLetters]);
    counters.add("normalize", "in", batch.length);
    counters.add("normalize", "out", accepted);
    counters.add("normalize", "dlq", rejected);
    counters.add("enrich", "unknown_host", unknownHosts);
  };
}
