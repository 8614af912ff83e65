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
import { RestoredLanes, type Store, type StoreReader, type StoreWriter } from "../store/mod.ts";
import { StateRebuilder } from "../pipeline/rebuild.ts";
import type { AgentRules } from "./rules.ts";
import { runs } from "./stages.ts";
import { publishDurable, storeSink } from "./store_sink.ts";
import {
  type AlertsToRestore,
  PartitionRestorer,
  type RebalanceSnapshot,
  type RestoreReport,
} from "../pipeline/restore.ts";
import { alertDecoder } from "./peer_alerts.ts";
import { originOf } from "../kafka/alert_origin.ts";
import { type Alert, AlertSchema } from "../model/alert.ts";
import { createRangeConsumer, readPartitionRange } from "../kafka/partition_reader.ts";
import { AGENT_INSTANCE, clusterViewOf, type DescribedMember } from "../kafka/membership.ts";
import { readGroupOffsets } from "../kafka/lag.ts";
import { decodeEnriched } from "../enriched/mod.ts";

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
  notify?: { wake(): void; notifier?: { adopt(alerts: readonly StoredAlert[]): void } };
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
    published: publishDurable(parts.feeds, metrics, features, () => parts.notify?.wake()),
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
 * The alert transitions of the departed agents' processes (`wanted.departed`) of series on
 * `wanted.partitions`, read from the alerts topic whole (start to end of each partition; the record's
 * origin header names the process), per departed identity.
 */
async function departedAlerts(
  config: Config,
  admin: Admin,
  reader: ReturnType<typeof createRangeConsumer>,
  wanted: AlertsToRestore,
  partitionOf: (series: Alert) => number,
): Promise<Map<string, Alert[]>> {
  const byInstance = new Map<string, string>();
  for (const [identity, instances] of wanted.departed) {
    for (const instance of instances) byInstance.set(instance, identity);
  }
  const found = new Map<string, Alert[]>();
  if (byInstance.size === 0) return found;
  const partitions = new Set(wanted.partitions);
  const decode = alertDecoder(config);
  const topic = config.topics.alerts;
  for (const [partition, offsets] of await readGroupOffsets(admin, config.kafka.group_stateful, topic)) {
    await readPartitionRange(
      reader,
      { topic, partition, from: offsets.start, to: offsets.end },
      (messages) => {
        for (const message of messages) {
          const departed = byInstance.get(originOf(message.headers).instance ?? "");
          if (departed === undefined || !message.value) continue;
          let parsed;
          try {
            parsed = AlertSchema.safeParse(decode(message.value));
          } catch {
            continue;
          }
          if (!parsed.success || !partitions.has(partitionOf(parsed.data))) continue;
          let list = found.get(departed);
          if (list === undefined) found.set(departed, list = []);
          list.push(parsed.data);
        }
        return Promise.resolve();
      },
      config.kafka.fetch_max_bytes,
    );
  }
  return found;
}

/** The newest transition of each fingerprint among `alerts` (by `ts`, then `seq`). */
function latestPerFingerprint(alerts: readonly StoredAlert[]): StoredAlert[] {
  const latest = new Map<string, StoredAlert>();
  for (const alert of alerts) {
    const seen = latest.get(alert.fingerprint);
    if (seen === undefined || alert.ts > seen.ts || (alert.ts === seen.ts && alert.seq > seen.seq)) {
      latest.set(alert.fingerprint, alert);
    }
  }
  return [...latest.values()];
}

/** A described group, as the snapshot reads it. */
interface DescribedGroup {
  id: string;
  state: string;
  members: Map<string, DescribedMember>;
}

/**
 * The restore of a departed agent's rows (`pipeline/restore.ts`) for the stateful group: the group
 * described after each rebalance, the ranges read outside the group and stored by `parts.writer`.
 * None without a store, or without `http.advertise` (members cannot tell themselves apart without it).
 */
export function partitionRestorer(
  config: Config,
  log: Logger,
  parts: Pick<StatefulParts, "admin" | "writer" | "reader" | "store" | "notify">,
  partitions: number,
): { restorer: PartitionRestorer; close(): Promise<void> } | undefined {
  const { admin, writer, reader: storeReader, store } = parts;
  if (
    writer === undefined || storeReader === undefined || store === undefined || config.http.advertise === ""
  ) {
    return undefined;
  }
  let restoredFrom: Set<string> | undefined;
  const group = config.kafka.group_stateful;
  const topic = config.topics.enriched;
  const enriched = new SeriesPartitioner(partitions);
  let reader: ReturnType<typeof createRangeConsumer> | undefined;
  const snapshot = async (): Promise<RebalanceSnapshot | undefined> => {
    const [groups, offsets] = await Promise.all([
      admin.describeGroups({ groups: [group] }),
      readGroupOffsets(admin, group, topic),
    ]);
    const described = groups.get(group) as DescribedGroup | undefined;
    if (described === undefined) return undefined;
    const view = clusterViewOf(described, topic, offsets.size, "keyed", AGENT_INSTANCE, Date.now());
    const me = view.members.find((member) => member.self);
    if (me === undefined) return undefined;
    // The store's id first: an agent restarted on its store is the same owner (its rows are there).
    const identity = (member: (typeof view.members)[number]) =>
      member.store ?? member.instance ?? member.member_id;
    const owners = new Map<number, string>();
    for (const member of view.members) {
      for (const partition of member.partitions) owners.set(partition, identity(member));
    }
    const instances = new Map<string, string>();
    for (const member of view.members) {
      if (member.instance !== undefined) instances.set(identity(member), member.instance);
    }
    return { owners, members: new Set(view.members.map(identity)), self: identity(me), offsets, instances };
  };
  const restorer = new PartitionRestorer({
    snapshot,
    read: async (range, progress) => {
      reader ??= createRangeConsumer(config, "restore");
      const lanes = new RestoredLanes();
      await readPartitionRange(reader, { topic, ...range }, async (messages) => {
        const decoded = decodeEnriched(messages, Date.now());
        const written = await writer.writeBatch(decoded.events);
        for (const event of decoded.events) lanes.add(event);
        progress({ messages: messages.length, events: decoded.events.length, inserted: written.inserted });
      }, config.kafka.fetch_max_bytes);
      await writer.recordRestored(range.departed, lanes.lanes());
      (restoredFrom ??= new Set(await storeReader.restoredStores())).add(range.departed);
    },
    alerts: async (wanted) => {
      reader ??= createRangeConsumer(config, "restore");
      const alerts = await departedAlerts(
        config,
        admin,
        reader,
        wanted,
        (series) => enriched.partition(series),
      );
      const stored: StoredAlert[] = [];
      for (const [departed, theirs] of alerts) stored.push(...await writer.restoreAlerts(departed, theirs));
      parts.notify?.notifier?.adopt(latestPerFingerprint(stored));
      return stored.length;
    },
    hide: async (members) => {
      restoredFrom ??= new Set(await storeReader.restoredStores());
      store.hideRestoredFrom([...restoredFrom].filter((id) => members.has(id)));
    },
    log,
  });
  return { restorer, close: async () => await reader?.close() };
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
