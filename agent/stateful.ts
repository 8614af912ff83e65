/**
 * The agent's stateful group (features + rules + store): the handler over the agent's rule engine,
 * feature engine and store sink, consuming `events.enriched`.
 *
 * @module
 */
import type { Admin } from "@platformatic/kafka";
import type { LiveFeeds } from "../api/mod.ts";
import type { PipelineMetrics } from "../telemetry/families.ts";
import type { Config } from "../config/schema.ts";
import { BatchConsumer, messageBatches } from "../kafka/batch_consumer.ts";
import { createConsumer, type MessageSender } from "../kafka/clients.ts";
import type { TopicLimits } from "../kafka/limits.ts";
import { SeriesPartitioner } from "../kafka/partition.ts";
import { partitionCount } from "../kafka/topics.ts";
import type { Logger } from "../lib/log.ts";
import type { StoredAlert } from "../model/query.ts";
import type { StoredSeries } from "../model/history.ts";
import { batchConsumerOptions, type GroupHooks } from "../pipeline/consumer_options.ts";
import type { PipelineCounters } from "../telemetry/counters.ts";
import { createStatefulHandler, type StatefulDeps } from "../pipeline/stateful.ts";
import { FeatureEngine } from "../stages/features.ts";
import type { Store, StoreReader, StoreWriter } from "../store/mod.ts";
import { StateRebuilder } from "../pipeline/rebuild.ts";
import type { AgentRules } from "./rules.ts";
import { runs } from "./stages.ts";
import { publishDurable, storeSink } from "./store_sink.ts";
import type { RestoreReport } from "../pipeline/restore.ts";
import { partitionRestorer } from "./restore.ts";

/** What the stateful group is built from. */
export interface StatefulParts {
  admin: Admin;
  producer: MessageSender;
  rules: AgentRules;
  /** The store writer, when this process opened the store. */
  writer?: StoreWriter;
  /** The store reader, when this process opened the store: the rebuild after a restart reads it. */
  reader?: StoreReader;
  counters: PipelineCounters;
  metrics: PipelineMetrics;
  feeds: LiveFeeds;
  hooks: GroupHooks;
  limits: TopicLimits;
  /**
   * Alert delivery, woken when alerts were stored (the store is its outbox); `notifier.adopt` takes
   * over the firing alerts restored from a departed agent.
   */
  notify?: {
    wake(stored: readonly StoredAlert[]): void;
    notifier?: { adopt(alerts: readonly StoredAlert[]): void };
  };
  /**
   * The feature engine (the topology keeps one across a switch, so the windows of the series this
   * agent keeps go on); a new one when absent.
   */
  features?: FeatureEngine;
  /** The store, when this process opened it (reads leave out rows restored from an agent that came back). */
  store?: Store;
  /** Told which partitions are being restored (their answers are partial meanwhile). */
  cluster?: { restoringPartitions: () => number[]; lastRestoreReport: () => RestoreReport | undefined };
}

/** The stateful stages' dependencies over the agent's rule engine, a new feature engine and the store sink. */
export async function statefulDeps(
  config: Config,
  log: Logger,
  parts: StatefulParts,
): Promise<StatefulDeps<StoredAlert>> {
  const { rules, metrics } = parts;
  const features = parts.features ?? new FeatureEngine(config.features);
  return {
    config,
    producer: parts.producer,
    features,
    rules: rules.engine,
    counters: parts.counters,
    featuresPartitioner: new SeriesPartitioner(await partitionCount(parts.admin, config.topics.features)),
    limits: parts.limits,
    takePendingAlerts: rules.takePendingAlerts,
    onEventTime: rules.eventTime,
    stages: {
      features: runs(config, "features"),
      rules: runs(config, "rules"),
      store: runs(config, "store"),
    },
    sink: storeSink(parts.writer, metrics, log),
    published: publishDurable(parts.feeds, metrics, features, (alerts) => parts.notify?.wake(alerts)),
  };
}

/** Starts the stateful group; resolves once its consumer joined the group. */
export async function startStateful(
  config: Config,
  log: Logger,
  parts: StatefulParts,
): Promise<{ stop(): Promise<void> }> {
  const deps = await statefulDeps(config, log, parts);
  const enriched = new SeriesPartitioner(await partitionCount(parts.admin, config.topics.enriched));
  const rebuilder = stateRebuilder(config, log, parts, deps, (series) => enriched.partition(series));
  const restore = partitionRestorer(config, log, parts, enriched.partitions);
  if (restore && parts.cluster) {
    parts.cluster.restoringPartitions = () => restore.restorer.restoring();
    parts.cluster.lastRestoreReport = () => restore.restorer.last;
  }
  const handler = createStatefulHandler<StoredAlert>({ ...deps, rebuilder, restorer: restore?.restorer });
  const group = config.kafka.group_stateful;
  const consumer = new BatchConsumer(
    () => createConsumer(config, group, "stateful"),
    batchConsumerOptions(config, config.topics.enriched, group, log, {
      ...parts.hooks,
      onAssignment: (assignment) => {
        const owned = assignment.find((entry) => entry.topic === config.topics.enriched)?.partitions ?? [];
        rebuilder?.assigned(owned);
        if (owned.length > 0) restore?.restorer.assigned();
        parts.hooks.onAssignment(assignment);
      },
    }),
  );
  const stop = async () => {
    await consumer.stop();
    await restore?.close();
  };
  try {
    await consumer.start(messageBatches(), handler);
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { stop };
}

/**
 * The rebuild of the features' and rules' memory from the store (a restart changes no decision) for
 * the partitions the consumer starts to own, a series' partition given by `partitionOf` (its
 * `events.enriched` partition in the stateful group; one partition for all in the local topology);
 * none without the store or those stages.
 */
export function stateRebuilder(
  config: Config,
  log: Logger,
  parts: Pick<StatefulParts, "reader" | "rules">,
  deps: StatefulDeps<StoredAlert>,
  partitionOf: (series: StoredSeries) => number,
): StateRebuilder | undefined {
  const reader = parts.reader;
  if (!reader || !(deps.stages.features || deps.stages.rules)) return undefined;
  return new StateRebuilder({
    config,
    source: {
      recentSeries: (idleMs, horizonMs) => reader.recentSeries(idleMs, horizonMs),
      seriesHistory: (series) => reader.seriesHistory(series),
      latestAlerts: () => reader.latestAlertPerFingerprint(),
    },
    features: deps.stages.features ? deps.features : undefined,
    rules: deps.stages.rules ? parts.rules.engine : undefined,
    partitionOf,
    log,
  });
}
