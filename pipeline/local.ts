/**
 * The local topology: raw messages -> normalize -> enrich -> features -> rules -> store in one pass,
 * one consumer on the raw topic, no `events.enriched` round trip. It reuses the stateless group's
 * builder (normalize and enrich each message as it arrives, the envelopes kept in memory instead of
 * packed) and the stateful stages (`createStatefulStages`). Exactly once rests on the raw topic's
 * positions: ids stay `<topic>:<partition>:<offset>:<index>`, the store filters ids it has, and a
 * batch is made durable as produce (features, alerts, DLQ) -> store transaction -> offset commit.
 *
 * Features are only right when this agent sees every event of a series, so a batch is refused
 * (the handler throws, the batch is retried, nothing committed) while this agent does not own every
 * partition of the raw topic ({@link RawOwnership}).
 *
 * @module
 */
import type { BatchBuilder } from "../kafka/batch_consumer.ts";
import type { OutgoingMessage } from "../kafka/clients.ts";
import type { Assignment } from "../kafka/consumer_supervisor.ts";
import { type Envelope, type NormalizedEvent, type Source, toEnvelope } from "../model/envelope.ts";
import type { Ctx } from "../stages/inventory.ts";
import {
  type BuilderDeps,
  type EnrichedWriter,
  type StatelessBatch,
  StatelessBatchBuilder,
} from "./stateless/batch.ts";
import { createStatefulStages, type StatefulDeps } from "./stateful.ts";

/** One batch of the local topology: the stateless part's counts and dead letters, and its envelopes. */
export interface LocalBatch {
  readonly stateless: StatelessBatch;
  readonly events: Envelope[];
}

/** Keeps the enriched envelopes of a batch in memory (no message, no encoding). */
class EnvelopeCollector implements EnrichedWriter {
  #events: Envelope[] = [];

  add(event: NormalizedEvent, source: Source, ctx: Ctx): void {
    // The builder rewrites its one source object per element: the envelope keeps a copy.
    this.#events.push(toEnvelope(event, { ...source }, ctx));
  }

  take(): OutgoingMessage[] {
    return [];
  }

  /** The envelopes added since the last call. */
  takeEvents(): Envelope[] {
    const events = this.#events;
    this.#events = [];
    return events;
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

/** What this member of the raw topic's group owns, from the assignments the consumer reports. */
export class RawOwnership {
  readonly #topic: string;
  readonly #partitions: number;
  #assignment: Assignment = [];

  /** Ownership of `topic`, which has `partitions` partitions. */
  constructor(topic: string, partitions: number) {
    this.#topic = topic;
    this.#partitions = partitions;
  }

  /** Records the assignment after a (re)join; returns whether it covers the whole topic. */
  assigned(assignment: Assignment): boolean {
    this.#assignment = assignment;
    return this.ownsAll();
  }

  /** Whether the last assignment covers every partition of the raw topic. */
  ownsAll(): boolean {
    return ownsEveryPartition(this.#assignment, this.#topic, this.#partitions);
  }

  /** Why a local batch cannot run now, or undefined when it can. */
  refusal(): string | undefined {
    if (this.ownsAll()) return undefined;
    const mine = this.#assignment.filter((entry) => entry.topic === this.#topic)
      .flatMap((entry) => entry.partitions).sort((a, b) => a - b);
    return `topology local needs every partition of ${this.#topic} (${this.#partitions}); this agent ` +
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
 * Creates the batch handler of the local topology: refuses the batch unless `ownership` covers the
 * raw topic, then runs the stateful stages over its envelopes (the normalize dead letters are
 * produced with the features and alerts) and counts the stateless part.
 */
export function createLocalHandler<StoredAlertT>(
  deps: StatefulDeps<StoredAlertT>,
  ownership: RawOwnership,
): (batch: LocalBatch) => Promise<void> {
  const stages = createStatefulStages(deps);
  const { counters } = deps;
  return async (batch) => {
    const refusal = ownership.refusal();
    if (refusal !== undefined) throw new SharedTopicError(refusal);
    const decoded = { events: batch.events, deadLetters: [], elements: batch.events.length };
    await stages(batch, decoded, batch.stateless.messages);
    const counts = batch.stateless;
    counters.add("normalize", "in", counts.read);
    counters.add("normalize", "out", counts.accepted);
    counters.add("normalize", "dlq", counts.rejected);
    counters.add("enrich", "unknown_host", counts.unknownHosts);
    counters.add("normalize", "empty", counts.empty);
  };
}
