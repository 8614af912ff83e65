/**
 * The agent's local topology (`topology: local`, or `auto`): one consumer in the raw topic's group
 * (`kafka.group_stateless`, so the committed positions are the same in both topologies), reading
 * the raw topic and the `inputs` topics (converted by the stateless builder as in partitioned), running
 * normalize -> enrich -> features -> rules -> store in one pass (`pipeline/local.ts`). Under `auto`
 * the same consumer goes on once another agent shares the raw topic, writing `events.enriched` as
 * the stateless group does, and the stateful group starts (no consumer is closed mid-rebalance).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { BatchConsumer } from "../kafka/batch_consumer.ts";
import { createConsumer } from "../kafka/clients.ts";
import { partitionCount } from "../kafka/topics.ts";
import type { Logger } from "../lib/log.ts";
import { batchConsumerOptions } from "../pipeline/consumer_options.ts";
import {
  createLocalHandler,
  deferredBuilder,
  forwardToEnriched,
  LOCAL_SERIES_PARTITION,
  type LocalBatch,
  LocalBatchBuilder,
  RawOwnership,
} from "../pipeline/local.ts";
import { ReloadableFile } from "../pipeline/reload.ts";
import { schemaResolverOf } from "../registry/resolver.ts";
import { emptyInventory, parseInventory } from "../stages/inventory.ts";
import { statefulDeps, type StatefulParts, stateRebuilder } from "./stateful.ts";

/** What the local topology is built from: the stateful group's parts, and what to do when shared. */
export interface LocalParts extends StatefulParts {
  /**
   * `auto`: called when a rebalance leaves this agent without every raw partition (again on each
   * such rebalance and before each forwarded batch; it starts the stateful group once and resolves
   * when it runs); from then on batches go to `events.enriched`. Without it (`local`), batches are
   * refused until this agent owns the topic again.
   */
  whenShared?: (reason: string) => Promise<void>;
}

/** Starts the local topology; resolves once its consumer joined the raw topic's group. */
export async function startLocal(
  config: Config,
  log: Logger,
  parts: LocalParts,
): Promise<{ stop(): Promise<void> }> {
  const topic = config.topics.raw;
  const group = config.kafka.group_stateless;
  const inputs = await Promise.all(
    config.inputs.map(async (input) => ({
      topic: input.topic,
      partitions: await partitionCount(parts.admin, input.topic),
    })),
  );
  const ownership = new RawOwnership(topic, await partitionCount(parts.admin, topic), inputs);
  const whenShared = parts.whenShared;
  let forward: ((batch: LocalBatch) => Promise<void>) | undefined;
  if (whenShared) {
    const send = forwardToEnriched({
      config,
      producer: parts.producer,
      counters: parts.counters,
      limits: parts.limits,
      enrichedPartitions: await partitionCount(parts.admin, config.topics.enriched),
    });
    forward = async (batch) => {
      await whenShared(ownership.refusal() ?? "shared");
      await send(batch);
    };
  }
  const fallbackInventory = emptyInventory();
  const inventoryFile = config.inventory
    ? await ReloadableFile.open(config.inventory, parseInventory, log)
    : undefined;
  const inventory = () => inventoryFile?.value ?? fallbackInventory;
  const schemas = schemaResolverOf(config);
  const withDeferred = deferredBuilder({
    config,
    counters: parts.counters,
    limits: parts.limits,
    schemas,
    inventory,
  });
  const deps = await statefulDeps(config, log, parts);
  const rebuilder = stateRebuilder(config, log, parts, deps, () => LOCAL_SERIES_PARTITION);
  const handler = createLocalHandler({ ...deps, rebuilder }, ownership, forward, withDeferred);
  const builder = new LocalBatchBuilder({ config, inventory, limits: parts.limits, schemas });
  const hooks = {
    ...parts.hooks,
    onAssignment: (assignment: Parameters<typeof parts.hooks.onAssignment>[0]) => {
      parts.hooks.onAssignment(assignment);
      if (ownership.assigned(assignment)) return rebuilder?.assigned([LOCAL_SERIES_PARTITION]);
      // Another member reads a part of the topic (an empty assignment is a reconnect, not that).
      if (assignment.length > 0) rebuilder?.forget();
      const reason = ownership.refusal() ?? "";
      if (whenShared) {
        whenShared(reason).catch((error) =>
          log.error("topology auto: the stateful group did not start", { error })
        );
      } else {
        log.warn("another agent shares the raw topic's group; local batches are refused", { group, reason });
      }
    },
  };
  const consumer = new BatchConsumer<LocalBatch>(
    () => createConsumer(config, group, "local"),
    batchConsumerOptions(config, [topic, ...inputs.map((input) => input.topic)], group, log, hooks),
  );
  try {
    await consumer.start(builder, handler);
  } catch (error) {
    await consumer.stop().catch(() => undefined);
    inventoryFile?.close();
    throw error;
  }
  return {
    async stop() {
      try {
        await consumer.stop();
      } finally {
        inventoryFile?.close();
      }
    },
  };
}
