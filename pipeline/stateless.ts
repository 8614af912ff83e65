/**
 * The stateless group: raw messages -> normalize -> enrich -> `events.enriched`, bad input -> DLQ.
 * Pure stages in the middle, Kafka at both ends: {@link StatelessBatchBuilder} runs the stages on
 * each message as it arrives, the handler produces the batch. Enriched events are packed per
 * partition of their series key (`tenant|host|metric`) into enriched batches (or JSON arrays of
 * envelopes, see `kafka.enriched_encoding`), so each series stays on one partition, in order.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { BatchBuilder, ConsumedMessage } from "../kafka/batch_consumer.ts";
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
  /** The messages of what was added since the last take, and a fresh start. */
  take(): OutgoingMessage[];
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
  };
}

/** One batch of the stateless group: its messages for the enriched topic and the DLQ, and its counts. */
export interface StatelessBatch {
  readonly messages: readonly OutgoingMessage[];
  /** Raw messages read. */
  readonly read: number;
  readonly accepted: number;
  readonly rejected: number;
  readonly unknownHosts: number;
}

/**
 * Normalizes and enriches each raw message as it arrives and packs the result: a batch is its
 * packed messages, so a raw message is garbage as soon as it was added.
 */
export class StatelessBatchBuilder implements BatchBuilder<StatelessBatch> {
  readonly #deps: StatelessDeps;
  readonly #enriched: EnrichedWriter;
  #deadLetters: OutgoingMessage[] = [];
  #read = 0;
  #accepted = 0;
  #rejected = 0;
  #unknownHosts = 0;

  /** A builder writing to the topics of `deps.config`. */
  constructor(deps: StatelessDeps) {
    this.#deps = deps;
    this.#enriched = enrichedWriter(deps.config, deps.enrichedPartitions);
  }

  /** Normalizes, enriches and packs one raw message; bad input becomes dead letters. */
  add(message: ConsumedMessage): void {
    const { config } = this.#deps;
    const nowMs = Date.now();
    const source = { topic: message.topic, partition: message.partition, offset: message.offset.toString() };
    const result = normalizeMessage(message.value ?? EMPTY, source, config.normalize, nowMs);
    if (result.events.length > 0) {
      const inventory = this.#deps.inventory();
      for (const event of result.events) {
        const envelope = enrich(event, inventory);
        if (isUnknownHost(envelope)) this.#unknownHosts++;
        this.#enriched.add(envelope);
      }
    }
    for (const reject of result.rejects) {
      const record: DeadLetter = {
        stage: "normalize",
        reason: reject.reason,
        source: { ...source, index: reject.index },
        original: reject.original,
        encoding: reject.encoding,
        ts: nowMs,
      };
      this.#deadLetters.push({ topic: config.topics.dlq, value: Buffer.from(JSON.stringify(record)) });
    }
    this.#read++;
    this.#accepted += result.events.length;
    this.#rejected += result.rejects.length;
  }

  /** The batch of what was added since the last take. */
  take(): StatelessBatch {
    const batch = {
      messages: [...this.#enriched.take(), ...this.#deadLetters],
      read: this.#read,
      accepted: this.#accepted,
      rejected: this.#rejected,
      unknownHosts: this.#unknownHosts,
    };
    this.#deadLetters = [];
    this.#read =
      this.#accepted =
      this.#rejected =
      this.#unknownHosts =
        0;
    return batch;
  }
}

const EMPTY = Buffer.alloc(0);

/** Creates the batch handler of the stateless group: produces a built batch, then counts it. */
export function createStatelessHandler(
  deps: Pick<StatelessDeps, "producer" | "counters">,
): (batch: StatelessBatch) => Promise<void> {
  const { producer, counters } = deps;
  return async (batch) => {
    await sendInChunks(producer, batch.messages);
    counters.add("normalize", "in", batch.read);
    counters.add("normalize", "out", batch.accepted);
    counters.add("normalize", "dlq", batch.rejected);
    counters.add("enrich", "unknown_host", batch.unknownHosts);
  };
}
