/**
 * The stateless group: raw messages -> normalize -> enrich -> `events.enriched`, bad input -> DLQ.
 * Pure stages in the middle, Kafka at both ends: {@link StatelessBatchBuilder} runs the stages on
 * each message as it arrives, the handler produces the batch. Enriched events are packed per
 * partition of their series key (`tenant|host|metric`) into enriched batches (or JSON arrays of
 * envelopes, see `kafka.enriched_encoding`), so each series stays on one partition, in order.
 *
 * @module
 */
import type { Config } from "../../config/schema.ts";
import type { BatchBuilder, ConsumedMessage } from "../../kafka/batch_consumer.ts";
import { MAX_REQUEST_BYTES, type MessageSender, type OutgoingMessage } from "../../kafka/clients.ts";
import { deadLetter, encodeDeadLetter } from "../../kafka/dlq.ts";
import { JsonBatcher } from "../../kafka/json_batches.ts";
import { recordBudget, smallestBudget, type TopicLimits } from "../../kafka/limits.ts";
import { produceAll } from "../../kafka/produce.ts";
import { SeriesPartitioner } from "../../kafka/partition.ts";
import { type NormalizedEvent, type Source, toEnvelope } from "../../model/envelope.ts";
import { normalizeMessageTo, type NormalizeReject, type NormalizeSink } from "../../stages/normalize/mod.ts";
import { enrichedContext, isUnknownContext } from "../../stages/enrich.ts";
import type { Ctx, Inventory } from "../../stages/inventory.ts";
import type { PipelineCounters } from "../../telemetry/counters.ts";
import { EnrichedBatchPacker, MAX_BATCH_BYTES } from "../../enriched/mod.ts";
import { isFramed, payloadOf, schemaIdOf } from "../../registry/wire.ts";
import type { SchemaLookup, SchemaResolver } from "../../registry/resolver.ts";
import { RegistryUnavailableError } from "../../registry/client.ts";
import { type InputConverter, inputConverters } from "./inputs.ts";
import { type Conversion, UnreadableBody } from "../../sources/convert.ts";

/** What the stateless handler needs. */
export interface StatelessDeps {
  config: Config;
  /** The producer (framing dead letters with `schema_registry.produce`). */
  producer: MessageSender;
  /** The current inventory (reloaded on change). */
  inventory: () => Inventory;
  counters: PipelineCounters;
  /** Partitions of the enriched topic. */
  enrichedPartitions: number;
  /** `max.message.bytes` of the topics (`kafka/limits.ts`); 1 MiB for a topic not in it. */
  limits?: TopicLimits;
  /** The schemas of framed messages (`schema_registry.url` set); without it they are dead-lettered. */
  schemas?: SchemaResolver;
}

/**
 * Collects a batch's enriched envelopes: into messages, each series on its key's partition (the
 * stateless group), or as envelopes kept in memory (the local topology, `pipeline/local.ts`).
 */
export interface EnrichedWriter {
  /** Adds the envelope `toEnvelope(event, source, ctx)`; keeps nothing of `source`. */
  add(event: NormalizedEvent, source: Source, ctx: Ctx): void;
  /** The messages of what was added since the last take, and a fresh start. */
  take(): OutgoingMessage[];
}

/** The writer of `kafka.enriched_encoding`, kept from batch to batch; its messages fit `limits`. */
function enrichedWriter(config: Config, partitions: number, limits: TopicLimits): EnrichedWriter {
  const topic = config.topics.enriched;
  const budget = recordBudget(limits, topic);
  if (config.kafka.enriched_encoding === "columns") {
    return new EnrichedBatchPacker(topic, partitions, Math.min(MAX_BATCH_BYTES, budget));
  }
  const partitioner = new SeriesPartitioner(partitions);
  const batcher = new JsonBatcher(topic, partitions, Math.floor(Math.min(MAX_REQUEST_BYTES, budget) / 3));
  return {
    add: (event, source, ctx) =>
      batcher.add(partitioner.partition(event), JSON.stringify(toEnvelope(event, source, ctx))),
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
  /** Messages that were an empty JSON array (no events, nothing rejected). */
  readonly empty: number;
  /** Framed messages decoded with their schema. */
  readonly framed: number;
  /** Framed messages dead-lettered (unknown id, undecodable, no registry). */
  readonly framedRejected: number;
  /**
   * Messages left for the handler, in order: from the first one framed with a schema id the cache
   * did not hold (the handler fetches the schemas, then builds them), so a series keeps its order.
   */
  readonly deferred: readonly RawMessage[];
}

/** The parts of a consumed raw message the builder reads. */
export type RawMessage = Pick<ConsumedMessage, "topic" | "partition" | "offset" | "value">;

/** What the builder needs: no producer, no counters (the handler's). */
export type BuilderDeps = Pick<StatelessDeps, "config" | "inventory" | "enrichedPartitions" | "limits"> & {
  /** What is known of schema ids now; without it framed messages are dead-lettered. */
  schemas?: SchemaLookup;
};

/**
 * Normalizes and enriches each raw message as it arrives and packs the result: a batch is its
 * packed messages, so a raw message is garbage as soon as it was added. Normalize hands each
 * element straight to the builder (a {@link NormalizeSink}), and the packer takes the event with
 * the message's source and its inventory context, so an event costs no result array, no enriched
 * copy, no id string and no source object.
 */
export class StatelessBatchBuilder implements BatchBuilder<StatelessBatch> {
  readonly #deps: BuilderDeps;
  readonly #enriched: EnrichedWriter;
  /** Most bytes of a dead letter. */
  readonly #dlqMaxBytes: number;
  /** The converter of each `inputs` topic (the raw topic has none: its messages are raw events). */
  readonly #converters: ReadonlyMap<string, InputConverter>;
  #deadLetters: OutgoingMessage[] = [];
  #read = 0;
  #accepted = 0;
  #rejected = 0;
  #unknownHosts = 0;
  #empty = 0;
  #framed = 0;
  #framedRejected = 0;
  #deferred: RawMessage[] = [];
  /** The message being added and the element's index (one object, rewritten), and the ingest time. */
  readonly #source: Source = { topic: "", partition: 0, offset: "0", index: 0 };
  #nowMs = 0;
  readonly #sink: NormalizeSink = {
    event: (event, index) => this.#addEvent(event, index),
    reject: (reject) => this.#addReject(reject),
    empty: () => void this.#empty++,
  };

  /**
   * A builder writing to the topics of `deps.config`; `enriched` replaces the writer of
   * `kafka.enriched_encoding` (the local topology keeps the envelopes).
   */
  constructor(deps: BuilderDeps, enriched?: EnrichedWriter) {
    this.#deps = deps;
    this.#enriched = enriched ?? enrichedWriter(deps.config, deps.enrichedPartitions, deps.limits ?? {});
    this.#dlqMaxBytes = recordBudget(deps.limits ?? {}, deps.config.topics.dlq);
    this.#converters = inputConverters(deps.config.inputs);
  }

  /** Normalizes, enriches and packs one raw message; bad input becomes dead letters. */
  add(message: RawMessage): void {
    const value = message.value ?? EMPTY;
    if (this.#converters.size !== 0) {
      const converter = this.#converters.get(message.topic);
      if (converter !== undefined) return this.#addConverted(message, value, converter);
    }
    // Unframed JSON pays a length test and a byte test.
    if (this.#deferred.length !== 0 || isFramed(value)) return this.#addFramed(message, value);
    this.#setSource(message);
    normalizeMessageTo(this.#sink, value, this.#deps.config.normalize, this.#nowMs);
    this.#read++;
  }

  #setSource(message: RawMessage): void {
    const source = this.#source;
    source.topic = message.topic;
    source.partition = message.partition;
    source.offset = message.offset.toString();
    this.#nowMs = Date.now();
  }

  /**
   * A framed message, or any message once one was deferred (they stay in order): deferred when its
   * schema is not cached, else decoded and normalized as JSON, or dead-lettered with the reason.
   */
  #addFramed(message: RawMessage, value: Uint8Array): void {
    const schemas = this.#deps.schemas;
    const id = schemaIdOf(value);
    const known = this.#deferred.length === 0 ? schemas?.lookup(id) : undefined;
    if (schemas !== undefined && known === undefined) return void this.#deferred.push(message);
    this.#setSource(message);
    this.#read++;
    if (known === undefined) {
      return this.#rejectFramed(
        value,
        `framed with schema id ${id} (Confluent wire format) but schema_registry.url is not set`,
      );
    }
    if ("unknown" in known) return this.#rejectFramed(value, known.unknown);
    const decoded = known.decoder(payloadOf(value));
    if (!decoded.ok) return this.#rejectFramed(value, decoded.reason);
    this.#framed++;
    const json = ENCODER.encode(JSON.stringify(decoded.value));
    normalizeMessageTo(this.#sink, json, this.#deps.config.normalize, this.#nowMs);
  }

  /**
   * A message of an `inputs` topic: converted to raw events, normalized as a JSON array of them (the
   * ids are this topic's positions); what cannot be converted is dead-lettered with the reason, a
   * message that is not the format at all (truncated protobuf, bad Snappy) whole, with its bytes.
   */
  #addConverted(message: RawMessage, value: Uint8Array, converter: InputConverter): void {
    this.#setSource(message);
    this.#read++;
    let conversion: Conversion;
    try {
      conversion = converter(value, this.#nowMs);
    } catch (error) {
      if (!(error instanceof UnreadableBody)) throw error;
      this.#deadLetter("input", `message: ${error.message}`, value);
      this.#rejected++;
      return;
    }
    const { events, rejected } = conversion;
    for (const item of rejected) {
      this.#deadLetter("input", item.reason, item.original);
      this.#rejected++;
    }
    if (events.length === 0) return;
    const json = ENCODER.encode(JSON.stringify(events));
    normalizeMessageTo(this.#sink, json, this.#deps.config.normalize, this.#nowMs);
  }

  #rejectFramed(value: Uint8Array, reason: string): void {
    this.#deadLetter("schema_registry", reason, value);
    this.#framedRejected++;
  }

  /** Dead-letters a whole message (or an item of it) of the current source, with the reason. */
  #deadLetter(stage: "input" | "schema_registry", reason: string, original: Uint8Array | string): void {
    const record = deadLetter(stage, reason, { ...this.#source, index: 0 }, original, this.#nowMs);
    this.#deadLetters.push({
      topic: this.#deps.config.topics.dlq,
      value: encodeDeadLetter(record, this.#dlqMaxBytes),
    });
  }

  #addEvent(event: NormalizedEvent, index: number): void {
    const ctx = enrichedContext(event, this.#deps.inventory());
    if (isUnknownContext(ctx)) this.#unknownHosts++;
    this.#source.index = index;
    this.#enriched.add(event, this.#source, ctx);
    this.#accepted++;
  }

  #addReject(reject: NormalizeReject): void {
    const source = { ...this.#source, index: reject.index };
    const record = deadLetter("normalize", reject.reason, source, reject, this.#nowMs);
    this.#deadLetters.push({
      topic: this.#deps.config.topics.dlq,
      value: encodeDeadLetter(record, this.#dlqMaxBytes),
    });
    this.#rejected++;
  }

  /** The batch of what was added since the last take. */
  take(): StatelessBatch {
    const batch = {
      messages: [...this.#enriched.take(), ...this.#deadLetters],
      read: this.#read,
      accepted: this.#accepted,
      rejected: this.#rejected,
      unknownHosts: this.#unknownHosts,
      empty: this.#empty,
      framed: this.#framed,
      framedRejected: this.#framedRejected,
      deferred: this.#deferred,
    };
    this.#deadLetters = [];
    this.#deferred = [];
    this.#read =
      this.#accepted =
      this.#rejected =
      this.#unknownHosts =
      this.#empty =
      this.#framed =
      this.#framedRejected =
        0;
    return batch;
  }
}

const EMPTY = Buffer.alloc(0);
const ENCODER = new TextEncoder();

/**
 * Creates the batch handler of the stateless group: produces a built batch (a message the broker
 * refuses goes to the DLQ, see `kafka/produce.ts`), then counts it.
 */
export function createStatelessHandler(
  deps:
    & Pick<StatelessDeps, "config" | "producer" | "counters" | "limits">
    & Partial<Pick<StatelessDeps, "schemas" | "inventory">>
    & { enrichedPartitions?: number },
): (batch: StatelessBatch) => Promise<void> {
  const { config, producer, counters } = deps;
  const limits = deps.limits ?? {};
  const refusals = {
    dlqTopic: config.topics.dlq,
    dlqMaxBytes: recordBudget(limits, config.topics.dlq),
    maxRequestBytes: Math.min(
      MAX_REQUEST_BYTES,
      smallestBudget(limits, [config.topics.enriched, config.topics.dlq]),
    ),
    stage: "produce",
  };
  return async (given) => {
    const batch = given.deferred.length === 0 ? given : await buildDeferred(deps, given);
    const refused = await produceAll(producer, batch.messages, refusals);
    counters.add("produce", "dlq", refused);
    countStatelessBatch(counters, batch);
  };
}

/** Counts what a built batch read, made, rejected and decoded (both topologies' stateless part). */
export function countStatelessBatch(counters: PipelineCounters, batch: StatelessBatch): void {
  counters.add("normalize", "in", batch.read);
  counters.add("normalize", "out", batch.accepted);
  counters.add("normalize", "dlq", batch.rejected);
  counters.add("enrich", "unknown_host", batch.unknownHosts);
  counters.add("normalize", "empty", batch.empty);
  counters.add("schema_registry", "framed", batch.framed);
  counters.add("schema_registry", "dlq", batch.framedRejected);
}

/**
 * `batch` with its deferred messages built: their schemas fetched (throws while the registry cannot
 * be reached: the batch is retried, counted in `schema_registry.unavailable`), then built after the
 * batch's messages, in order, by a builder of their own writing to `enriched` (the default: one of
 * `kafka.enriched_encoding`). The batch itself is not changed (a retry builds again).
 */
export async function buildDeferred(
  deps:
    & Pick<StatelessDeps, "config" | "counters" | "limits">
    & Partial<Pick<StatelessDeps, "schemas" | "inventory">>
    & { enrichedPartitions?: number },
  batch: StatelessBatch,
  enriched?: EnrichedWriter,
): Promise<StatelessBatch> {
  const { schemas, counters, inventory } = deps;
  if (schemas === undefined || inventory === undefined) {
    throw new Error("deferred messages without a schema registry and an inventory");
  }
  const ids = batch.deferred.map((message) => message.value ?? EMPTY).filter(isFramed).map(schemaIdOf);
  let resolved;
  try {
    resolved = await schemas.resolve(ids);
  } catch (error) {
    if (error instanceof RegistryUnavailableError) counters.add("schema_registry", "unavailable", 1);
    throw error;
  }
  counters.add("schema_registry", "fetched", resolved.fetched);
  const late = new StatelessBatchBuilder({
    config: deps.config,
    inventory,
    enrichedPartitions: deps.enrichedPartitions ?? 1,
    limits: deps.limits,
    schemas: { lookup: (id) => resolved.known.get(id) },
  }, enriched);
  for (const message of batch.deferred) late.add(message);
  const rest = late.take();
  return {
    messages: [...batch.messages, ...rest.messages],
    read: batch.read + rest.read,
    accepted: batch.accepted + rest.accepted,
    rejected: batch.rejected + rest.rejected,
    unknownHosts: batch.unknownHosts + rest.unknownHosts,
    empty: batch.empty + rest.empty,
    framed: batch.framed + rest.framed,
    framedRejected: batch.framedRejected + rest.framedRejected,
    deferred: [],
  };
}
