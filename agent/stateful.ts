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
import { batchConsumerOptions, type GroupHooks } from "../pipeline/consumer_options.ts";
import type { PipelineCounters } from "../telemetry/counters.ts";
import { createStatefulHandler } from "../pipeline/stateful.ts";
import { FeatureEngine } from "../stages/features.ts";
import type { StoreReader, StoreWriter } from "../store/mod.ts";
import { StateRebuilder } from "../pipeline/rebuild.ts";
import type { AgentRules } from "./rules.ts";
import { runs } from "./stages.ts";
import { publishDurable, storeSink } from "./store_sink.ts";

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
}

/** Starts the stateful group; resolves once its consumer joined the group. */
export async function startStateful(
  config: Config,
  log: Logger,
  parts: StatefulParts,
): Promise<{ stop(): Promise<void> }> {
  const { rules, metrics } = parts;
  const features = new FeatureEngine(config.features);
  const stages = {
    features: runs(config, "features"),
    rules: runs(config, "rules"),
    store: runs(config, "store"),
  };
  const enriched = new SeriesPartitioner(await partitionCount(parts.admin, config.topics.enriched));
  const reader = parts.reader;
  const rebuilder = reader && (stages.features || stages.rules)
    ? new StateRebuilder({
      config,
      source: {
        recentSeries: (idleMs, horizonMs) => reader.recentSeries(idleMs, horizonMs),
        seriesHistory: (series) => reader.seriesHistory(series),
        latestAlerts: () => reader.latestAlertPerFingerprint(),
      },
      features: stages.features ? features : undefined,
      rules: stages.rules ? rules.engine : undefined,
      partitionOf: (series) => enriched.partition(series),
      log,
    })
    : undefined;
  const handler = createStatefulHandler<StoredAlert>({
    config,
    producer: parts.producer,
    features,
    rules: rules.engine,
    counters: parts.counters,
    featuresPartitioner: new SeriesPartitioner(await partitionCount(parts.admin, config.topics.features)),
    limits: parts.limits,
    takePendingAlerts: rules.takePendingAlerts,
    onEventTime: rules.eventTime,
    stages,
    rebuilder,
    sink: storeSink(parts.writer, metrics, log),
    published: publishDurable(parts.feeds, metrics, features),
  });
  const group = config.kafka.group_stateful;
  const consumer = new BatchConsumer(
    () => createConsumer(config, group, "stateful"),
    batchConsumerOptions(config, config.topics.enriched, group, log, {
      ...parts.hooks,
      onAssignment: (assignment) => {
        const owned = assignment.find((entry) => entry.topic === config.topics.enriched)?.partitions ?? [];
        rebuilder?.assigned(owned);
        parts.hooks.onAssignment(assignment);
      },
    }),
  );
  try {
    await consumer.start(messageBatches(), handler);
  } catch (error) {
    await consumer.stop().catch(() => undefined);
    throw error;
  }
  return consumer;
}
