/**
 * The agent's local topology (`topology: local`, or `auto` while this agent owns the raw topic):
 * one consumer in the raw topic's group (`kafka.group_stateless`, so the committed positions are
 * the same in both topologies) running normalize -> enrich -> features -> rules -> store in one
 * pass (`pipeline/local.ts`).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { BatchConsumer } from "../kafka/batch_consumer.ts";
import { createConsumer } from "../kafka/clients.ts";
import { partitionCount } from "../kafka/topics.ts";
import type { Logger } from "../lib/log.ts";
import { batchConsumerOptions } from "../pipeline/consumer_options.ts";
import { createLocalHandler, type LocalBatch, LocalBatchBuilder, RawOwnership } from "../pipeline/local.ts";
import { ReloadableFile } from "../pipeline/reload.ts";
import { emptyInventory, parseInventory } from "../stages/inventory.ts";
import { statefulDeps, type StatefulParts } from "./stateful.ts";

/** What the local topology is built from: the stateful group's parts, and what to do when shared. */
export interface LocalParts extends StatefulParts {
  /**
   * Called once when a rebalance leaves this agent without every raw partition (`auto` switches to
   * partitioned); without it, batches are refused until this agent owns the topic again (`local`).
   */
  onShared?: (reason: string) => void;
}

/** Starts the local topology; resolves once its consumer joined the raw topic's group. */
export async function startLocal(
  config: Config,
  log: Logger,
  parts: LocalParts,
): Promise<{ stop(): Promise<void> }> {
  const topic = config.topics.raw;
  const group = config.kafka.group_stateless;
  const ownership = new RawOwnership(topic, await partitionCount(parts.admin, topic));
  const handler = createLocalHandler(await statefulDeps(config, log, parts), ownership);
  const fallbackInventory = emptyInventory();
  const inventoryFile = config.inventory
    ? await ReloadableFile.open(config.inventory, parseInventory, log)
    : undefined;
  const builder = new LocalBatchBuilder({
    config,
    inventory: () => inventoryFile?.value ?? fallbackInventory,
    limits: parts.limits,
  });
  let shared = false;
  const hooks = {
    ...parts.hooks,
    onAssignment: (assignment: Parameters<typeof parts.hooks.onAssignment>[0]) => {
      parts.hooks.onAssignment(assignment);
      if (ownership.assigned(assignment)) return;
      const reason = ownership.refusal() ?? "";
      log.warn("another agent shares the raw topic's group; local batches are refused", { group, reason });
      if (!shared && parts.onShared) {
        shared = true;
        parts.onShared(reason);
      }
    },
  };
  const consumer = new BatchConsumer<LocalBatch>(
    () => createConsumer(config, group, "local"),
    batchConsumerOptions(config, topic, group, log, hooks),
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
