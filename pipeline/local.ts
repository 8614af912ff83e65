/**
 * The local topology: raw messages -> normalize -> enrich -> features -> rules -> store in one pass,
 * one consumer on the raw topic, no `events.enriched` round trip. It reuses the stateless group's
 * builder (normalize and enrich each message as it arrives, the envelopes kept in memory instead of
 * packed) and the stateful stages (`createStatefulStages`). Exactly once rests on the raw topic's
 * positions: ids stay `<topic>:<partition>:<offset>:<index>`, the store filters ids it has, and a
 * batch is made durable as produce (features, alerts, DLQ) -> store transaction -> offset commit.
 *
 * Features are only right when this agent sees every event of a series, so a batch runs locally
 * only while this agent owns every partition of the raw topic and of the `inputs` topics
 * ({@link RawOwnership}); otherwise it
 * is refused (`local`) or sent the partitioned way (`auto`, {@link forwardToEnriched}).
 *
 * @module
 */
import type { BatchBuilder } from "../kafka/batch_consumer.ts";
import type { Config } from "../config/schema.ts";
import { MAX_REQUEST_BYTES, type OutgoingMessage } from "../kafka/clients.ts";
import { JsonBatcher } from "../kafka/json_batches.ts";
import { recordBudget, type TopicLimits } from "../kafka/limits.ts";
import { SeriesPartitioner } from "../kafka/partition.ts";
import { EnrichedBatchPacker, expandEnrichedBatch, MAX_BATCH_BYTES } from "../enriched/mod.ts";
import type { Assignment } from "../kafka/consumer_supervisor.ts";
import type { Envelope, NormalizedEvent, Source } from "../model/envelope.ts";
import type { Ctx } from "../stages/inventory.ts";
import {
  buildDeferred,
  type BuilderDeps,
  countStatelessBatch,
  createStatelessHandler,
  type EnrichedWriter,
  type StatelessBatch,
  StatelessBatchBuilder,
  type StatelessDeps,
} from "./stateless/batch.ts";
import { createStatefulStages, type StatefulDeps } from "./stateful.ts";

/** One batch of the local topology: the stateless part's counts and dead letters, and its envelopes. */
export interface LocalBatch {
  readonly stateless: StatelessBatch;
  readonly events: Envelope[];
}

/**
 * Keeps the enriched events of a batch in memory, packed in columns as `events.enriched` carries
 * them (no message, no encoding) and read back as views ({@link expandEnrichedBatch}): no envelope
 * object, source copy or id string per event.
 */
class EnvelopeCollector implements EnrichedWriter {
  readonly #packer = EnrichedBatchPacker.inMemory();

  add(event: NormalizedEvent, source: Source, ctx: Ctx): void {
    this.#packer.add(event, source, ctx);
  }

  take(): OutgoingMessage[] {
    return [];
  }

  /** The envelopes added since the last call. */
  takeEvents(): Envelope[] {
    const batches = this.#packer.takeBatches();
    return batches.length === 1 ? expandEnrichedBatch(batches[0]) : batches.flatMap(expandEnrichedBatch);
  }
}

/** Normalizes and enriches each raw message as it arrives; a batch is its envelopes and dead letters. */
export class LocalBatchBuilder implements BatchBuilder<LocalBatch> {
  readonly #collector = new EnvelopeCollector();
  readonly #stateless: StatelessBatchBuilder;

  /** A builder with the normalize options, inventory and topic limits of `deps`. */
  constructor(deps: Omit<BuilderDeps, "enrichedPartitions">) {
    this.#stateless = new StatelessBatchBuilder({ ...deps, enrichedPartitions: 1 }, this.#collector);
  }

  /** Normalizes and enriches one raw message; bad input becomes dead letters. */
  add(message: Parameters<StatelessBatchBuilder["add"]>[0]): void {
    this.#stateless.add(message);
  }

  /** The batch of what was added since the last take. */
  take(): LocalBatch {
    return { stateless: this.#stateless.take(), events: this.#collector.takeEvents() };
  }
}

/**
 * Whether `assignment` holds every partition `0..partitions-1` of `topic` (an empty or partial
 * assignment means another member of the group reads some of them).
 */
export function ownsEveryPartition(assignment: Assignment, topic: string, partitions: number): boolean {
  const owned = new Set<number>();
  for (const entry of assignment) {
    if (entry.topic === topic) { for (const partition of entry.partitions) owned.add(partition); }
  }
  for (let partition = 0; partition < partitions; partition++) {
    if (!owned.has(partition)) return false;
  }
  return partitions > 0;
}

/** A topic this member reads and its partition count. */
export interface TopicPartitions {
  topic: string;
  partitions: number;
}

/**
 * What this member of the raw topic's group owns, from the assignments the consumer reports: the
 * raw topic and the `inputs` topics the same consumer reads (a series may come from any of them).
 */
export class RawOwnership {
  readonly #topics: readonly TopicPartitions[];
  #assignment: Assignment = [];

  /** Ownership of `topic`, which has `partitions` partitions, and of the `inputs` topics. */
  constructor(topic: string, partitions: number, inputs: readonly TopicPartitions[] = []) {
    this.#topics = [{ topic, partitions }, ...inputs];
  }

  /** Records the assignment after a (re)join; returns whether it covers every topic. */
  assigned(assignment: Assignment): boolean {
    this.#assignment = assignment;
    return this.ownsAll();
  }

  /** Whether the last assignment covers every partition of the raw topic and the inputs topics. */
  ownsAll(): boolean {
    return this.#topics.every(({ topic, partitions }) =>
      ownsEveryPartition(this.#assignment, topic, partitions)
    );
  }

  /** Why a local batch cannot run now, or undefined when it can. */
  refusal(): string | undefined {
    const partial = this.#topics.find(({ topic, partitions }) =>
      !ownsEveryPartition(this.#assignment, topic, partitions)
    );
    if (partial === undefined) return undefined;
    const mine = this.#assignment.filter((entry) => entry.topic === partial.topic)
      .flatMap((entry) => entry.partitions).sort((a, b) => a - b);
    return `topology local needs every partition of ${partial.topic} (${partial.partitions}); this agent ` +
      `owns [${mine.join(",")}]: another agent shares the group, so the features of a series ` +
      "would be split between agents (run topology partitioned or auto on every agent)";
  }
}

/** A local batch refused because this agent does not own every raw partition. */
export class SharedTopicError extends Error {
  /** An error saying why. */
  constructor(reason: string) {
    super(reason);
    this.name = "SharedTopicError";
  }
}

/**
 * Sends a local batch the partitioned way, as the stateless group does: its envelopes packed into
 * `events.enriched` batches (columns, each series on its key's partition) and its dead letters
 * produced, then counted. `auto` uses it once another agent shares the raw topic.
 */
export function forwardToEnriched(
  deps: Pick<StatelessDeps, "config" | "producer" | "counters" | "limits" | "enrichedPartitions">,
): (batch: LocalBatch) => Promise<void> {
  const pack = envelopePacker(deps.config, deps.enrichedPartitions, deps.limits ?? {});
  const produce = createStatelessHandler(deps);
  return async (batch) => {
    await produce({ ...batch.stateless, messages: [...pack(batch.events), ...batch.stateless.messages] });
  };
}

/** Packs envelopes into `events.enriched` messages in `kafka.enriched_encoding`, each series on its key's partition. */
function envelopePacker(
  config: Config,
  partitions: number,
  limits: TopicLimits,
): (events: readonly Envelope[]) => OutgoingMessage[] {
  const topic = config.topics.enriched;
  const budget = recordBudget(limits, topic);
  if (config.kafka.enriched_encoding === "columns") {
    const packer = new EnrichedBatchPacker(topic, partitions, Math.min(MAX_BATCH_BYTES, budget));
    return (events) => {
      for (const event of events) packer.addEnvelope(event);
      return packer.take();
    };
  }
  const partitioner = new SeriesPartitioner(partitions);
  const batcher = new JsonBatcher(topic, partitions, Math.floor(Math.min(MAX_REQUEST_BYTES, budget) / 3));
  return (events) => {
    for (const event of events) batcher.add(partitioner.partition(event), JSON.stringify(event));
    return batcher.take();
  };
}

/**
 * The one partition all series of the local topology are rebuilt as (`deps.rebuilder`): this agent
 * owns every series while it owns the raw topic.
 */
export const LOCAL_SERIES_PARTITION = 0;

/**
 * Creates the batch handler of the local topology: while `ownership` covers the raw topic, rebuilds
 * the features' and rules' memory from the store before the first batch (`deps.rebuilder`, over
 * {@link LOCAL_SERIES_PARTITION}), runs the stateful stages over a batch's envelopes (the normalize
 * dead letters are produced with the features and alerts) and counts the stateless part. From the first batch it does not cover, the
 * batch is refused (`local`: it throws, nothing is committed, the batch is retried) or, with
 * `forward` (`auto`), this and every later batch go to `forward` (the partitioned way), for good.
 */
export function createLocalHandler<StoredAlertT>(
  deps: StatefulDeps<StoredAlertT>,
  ownership: RawOwnership,
  forward?: (batch: LocalBatch) => Promise<void>,
  withDeferred: (batch: LocalBatch) => Promise<LocalBatch> = (batch) => Promise.resolve(batch),
): (batch: LocalBatch) => Promise<void> {
  const stages = createStatefulStages(deps);
  const { counters } = deps;
  let shared = false;
  return async (built) => {
    const batch = await withDeferred(built);
    if (!shared) {
      const refusal = ownership.refusal();
      if (refusal === undefined) {
        await deps.rebuilder?.ensure([LOCAL_SERIES_PARTITION]);
        const decoded = { events: batch.events, deadLetters: [], elements: batch.events.length };
        // The stateful stages know a retry by the batch object: the consumer's, which a retry
        // passes again (withDeferred builds a new one on each attempt).
        await stages(built, decoded, batch.stateless.messages);
        countStatelessBatch(counters, batch.stateless);
        return;
      }
      if (!forward) throw new SharedTopicError(refusal);
      shared = true;
    }
    await forward!(batch);
  };
}

/**
 * Builds the messages a batch deferred because their schema ids were not cached (framed in the
 * Confluent wire format): fetches the schemas (throws while the registry is unreachable, so the
 * batch is retried), then normalizes and enriches them after the batch's own events, in order.
 */
export function deferredBuilder(
  deps: Parameters<typeof buildDeferred>[0],
): (batch: LocalBatch) => Promise<LocalBatch> {
  return async (batch) => {
    if (batch.stateless.deferred.length === 0) return batch;
    const late = new EnvelopeCollector();
    const stateless = await buildDeferred(deps, batch.stateless, late);
    return { stateless, events: [...batch.events, ...late.takeEvents()] };
  };
}
