/**
 * The stateless group: raw messages -> normalize -> enrich -> `events.enriched` (keyed by series),
 * bad input -> DLQ. Pure stages in the middle, Kafka at both ends.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { seriesKey } from "../model/envelope.ts";
import type { ConsumedMessage } from "../kafka/batch_consumer.ts";
import { type ByteProducer, type OutgoingMessage, sendInChunks } from "../kafka/clients.ts";
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
    const outgoing: OutgoingMessage[] = [];
    let accepted = 0;
    let rejected = 0;
    let unknownHosts = 0;
    for (const message of batch) {
      const offset = message.offset.toString();
      const source = { topic: message.topic, partition: message.partition, offset };
      const value = message.value ?? Buffer.alloc(0);
      const result = normalizeMessage(value, source, config.normalize, nowMs);
      for (const event of result.events) {
        const enriched = enrich(event, inventory);
        if (isUnknownHost(enriched)) unknownHosts++;
        outgoing.push({
          topic: enrichedTopic,
          key: Buffer.from(seriesKey(enriched)),
          value: Buffer.from(JSON.stringify(enriched)),
        });
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
        outgoing.push({ topic: dlqTopic, value: Buffer.from(JSON.stringify(record)) });
      }
      rejected += result.rejects.length;
    }
    await sendInChunks(producer, outgoing);
    counters.add("normalize", "in", batch.length);
    counters.add("normalize", "out", accepted);
    counters.add("normalize", "dlq", rejected);
    counters.add("enrich", "unknown_host", unknownHosts);
  };
}
