/**
 * The stateless consumer group as one unit: its own producer, the inventory (reloaded on change),
 * the batch handler and the consumer. The agent runs it in-process or on its own thread
 * (`worker.ts`); the hooks carry its metrics either way.
 *
 * @module
 */
import type { Config } from "../../config/schema.ts";
import type { Logger } from "../../lib/log.ts";
import { BatchConsumer } from "../../kafka/batch_consumer.ts";
import { createConsumer, createProducer } from "../../kafka/clients.ts";
import { emptyInventory, parseInventory } from "../../stages/inventory.ts";
import { compileNormalizeOptions } from "../../stages/normalize/mod.ts";
import type { TopicLimits } from "../../kafka/limits.ts";
import { batchConsumerOptions, type GroupHooks } from "../consumer_options.ts";
import type { PipelineCounters } from "../../telemetry/counters.ts";
import { ReloadableFile } from "../reload.ts";
import { createStatelessHandler, type StatelessBatch, StatelessBatchBuilder } from "./batch.ts";
import { schemaResolverOf } from "../../registry/resolver.ts";
import { framerOf, framingSender } from "../../registry/framing.ts";

/** Where the group reports what it does. */
export interface StatelessHooks extends GroupHooks {
  counters: PipelineCounters;
}

/** What the group needs to know of the topics it writes. */
export interface StatelessTopology {
  /** Partitions of the enriched topic. */
  enrichedPartitions: number;
  /** `max.message.bytes` of the topics (`kafka/limits.ts`). */
  limits: TopicLimits;
}

/** A running stateless group. */
export interface StatelessGroup {
  /** Finishes the batch in flight, commits, and closes the consumer, producer and file watch. */
  stop(): Promise<void>;
}

/** Starts the stateless group, writing to the topics described by `topology`. */
export async function startStatelessGroup(
  config: Config,
  log: Logger,
  hooks: StatelessHooks,
  topology: StatelessTopology,
): Promise<StatelessGroup> {
  const group = config.kafka.group_stateless;
  compileNormalizeOptions(config.normalize);
  const fallbackInventory = emptyInventory();
  const inventoryFile = config.inventory
    ? await ReloadableFile.open(config.inventory, parseInventory, log)
    : undefined;
  const producer = createProducer(config, "stateless");
  const consumer = new BatchConsumer<StatelessBatch>(
    () => createConsumer(config, group, "stateless"),
    batchConsumerOptions(
      config,
      [config.topics.raw, ...config.inputs.map((input) => input.topic)],
      group,
      log,
      hooks,
    ),
  );
  const deps = {
    config,
    producer: framingSender(producer, framerOf(config)),
    inventory: () => inventoryFile?.value ?? fallbackInventory,
    counters: hooks.counters,
    enrichedPartitions: topology.enrichedPartitions,
    limits: topology.limits,
    schemas: schemaResolverOf(config),
  };
  try {
    await consumer.start(new StatelessBatchBuilder(deps), createStatelessHandler(deps));
  } catch (error) {
    await consumer.stop().catch(() => undefined);
    inventoryFile?.close();
    await producer.close().catch(() => undefined);
    throw error;
  }
  return {
    async stop() {
      try {
        await consumer.stop();
      } finally {
        inventoryFile?.close();
        await producer.close().catch((error) => log.warn("error closing the producer", { group, error }));
      }
    },
  };
}
