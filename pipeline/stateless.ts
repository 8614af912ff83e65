/**
 * The stateless group: raw messages -> normalize -> enrich -> `events.enriched`, bad input -> DLQ.
 * Pure stages in the middle, Kafka at both ends. Enriched events are packed per partition of their
 * series key (`tenant|host|metric`) into enriched batches (or JSON arrays of envelopes, see
 * `kafka.enriched_encoding`), so each series stays on one partition, in order.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { ConsumedMessage } from "../kafka/batch_consumer.ts";
import { type ByteProducer, type OutgoingMessage, sendInChunks } from "../kafka/clients.ts";
import { JsonBatcher } from "../kafka/json_batches.ts";
import { SeriesPartitioner } from "../kafka/partition.ts";
import type { DeadLetter } from "../model/dlq.ts";
import type { Envelope } from "../model/envelope.ts";
import { normalizeMessage } from "../stages/normalize.ts";
import { enrich, isUnknownHost } from "../stages/enrich.ts";
import type { Inventory } from "../stages/inventory.ts";
import type { PipelineCounters } from "./counters.ts";
import { EnrichedBatchPacker } from "./enriched_batch.ts";

/** What the stateless handler needs. */
export interface StatelessDeps {
  config: Config;
  producer: ByteProducer;
  /** The current inventory (reloaded on change). */
  inventory: () => Inventory;
  counters: PipelineCounters;
  /** Partitions of the enriched topic. */
  enrichedPartitions: number;
}

/** Collects a batch's enriched envelopes into messages, each series on its key's partition. */
interface EnrichedWriter {
  add(event: Envelope): void;
  /** The messages of what was added since the last take (or clear), and a fresh start. */
  take(): OutgoingMessage[];
  /** Drops what was added since the last take (a batch that failed half-way). */
  clear(): void;
}

/** The writer of `kafka.enriched_encoding`, kept from batch to batch. */
function enrichedWriter(config: Config, partitions: number): EnrichedWriter {
  const topic = config.topics.enriched;
  if (config.kafka.enriched_encoding === "columns") return new EnrichedBatchPacker(topic, partitions);
  const partitioner = new SeriesPartitioner(partitions);
  const batcher = new JsonBatcher(topic, partitions);
  return {
    add: (event) => batcher.add(partitioner.partition(event), JSON.stringify(event)),
    take: () => batcher.take(),
    clear: () => void batcher.take(),
  };
}

/** Creates the batch handler of the stateless group. */
export function createStatelessHandler(
  deps: StatelessDeps,
): (batch: readonly ConsumedMessage[]) => Promise<void> {
  const { config, producer, counters } = deps;
  const dlqTopic = config.topics.dlq;
  const enriched = enrichedWriter(config, deps.enrichedPartitions);
  return async (batch) => {
    const nowMs = Date.now();
    const inventory = deps.inventory();
    const deadLetters: OutgoingMessage[] = [];
    enriched.clear();
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
        enriched.add(envelope);
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
