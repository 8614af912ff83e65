/**
 * The stateful group: enriched events (each series on one partition) -> features -> rules -> store,
 * with the features (JSON arrays per partition of the series, the latest per series and window) and
 * the alerts (one per message, keyed by fingerprint) published to their topics. A batch is made durable in this order: produce
 * (features, alerts, DLQ) -> one store transaction -> (caller) offset commit. Replayed events (ids
 * already stored) are skipped before the stateful stages, so a replay repeats no alert.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Alert } from "../model/alert.ts";
import type { Envelope } from "../model/envelope.ts";
import { MAX_REQUEST_BYTES, type MessageSender, type OutgoingMessage } from "../kafka/clients.ts";
import { alertOriginHeaders } from "../kafka/alert_origin.ts";
import { encodeDeadLetter } from "../kafka/dlq.ts";
import { JsonBatcher } from "../kafka/json_batches.ts";
import { recordBudget, smallestBudget, type TopicLimits } from "../kafka/limits.ts";
import { produceAll, type RefusalOptions } from "../kafka/produce.ts";
import type { SeriesPartitioner } from "../kafka/partition.ts";
import { FeatureCursor, type FeatureEngine } from "../stages/features.ts";
import { FeatureSchedule } from "./feature_schedule.ts";
import type { StateRebuilder } from "./rebuild.ts";
import type { PartitionRestorer } from "./restore.ts";
import type { RuleEngine } from "../stages/rules.ts";
import type { PipelineCounters } from "../telemetry/counters.ts";
import { type DecodedEnriched, decodeEnriched, type EnrichedMessage } from "../enriched/mod.ts";

/** The store operations the stateful group needs. */
export interface EventSink<StoredAlertT> {
  /** The events whose ids are not stored yet, in order. */
  filterUnseen(events: readonly Envelope[]): Promise<Envelope[]>;
  /** Stores events and alerts in one transaction; resolves when durable, with the stored alerts. */
  write(
    events: readonly Envelope[],
    alerts: readonly Alert[],
  ): Promise<{ inserted: number; alerts: StoredAlertT[] }>;
}

/** What the stateful handler needs. */
export interface StatefulDeps<StoredAlertT> {
  config: Config;
  producer: MessageSender;
  sink: EventSink<StoredAlertT>;
  features: FeatureEngine;
  /** The current rule engine (rules reload swaps its rules in place). */
  rules: RuleEngine;
  counters: PipelineCounters;
  /** Maps series keys to the features topic's partitions (a series' records go to one partition). */
  featuresPartitioner: SeriesPartitioner;
  /** Alerts produced outside event processing (rules removed on reload), emitted with this batch. */
  takePendingAlerts?: () => Alert[];
  /** Called with the newest event time of each batch. */
  onEventTime?: (ts: number) => void;
  /** Called after the batch is durable (live feeds for the API). */
  published?: (events: readonly Envelope[], alerts: readonly StoredAlertT[]) => void;
  /** Which stages this process runs among features, rules and store. */
  stages: { features: boolean; rules: boolean; store: boolean };
  /** `max.message.bytes` of the topics (`kafka/limits.ts`); 1 MiB for a topic not in it. */
  limits?: TopicLimits;
  /**
   * Processing time, epoch ms (default `Date.now`): stamps dead letters and paces the features
   * schedule and idle eviction.
   */
  now?: () => number;
  /**
   * Rebuilds the features' and rules' memory of the partitions the group starts to own from the
   * store, before their first batch (a restart changes no decision).
   */
  rebuilder?: StateRebuilder;
  /**
   * Restores the rows a departed agent stored of the partitions this one gained (`restore.ts`):
   * each batch waits for it, so they are stored (and rebuilt from) before the partitions' new events.
   */
  restorer?: PartitionRestorer;
}

/** Creates the batch handler of the stateful group: decodes `events.enriched`, then {@link createStatefulStages}. */
export function createStatefulHandler<StoredAlertT>(
  deps: StatefulDeps<StoredAlertT>,
): (batch: readonly EnrichedMessage[]) => Promise<void> {
  const now = deps.now ?? Date.now;
  const stages = createStatefulStages(deps);
  const rebuilder = deps.rebuilder;
  const restorer = deps.restorer;
  return async (batch) => {
    if (restorer) await restorer.settled();
    // The partitions this group starts to own: their series' memory rebuilt first (once each).
    if (rebuilder) await rebuilder.ensure(partitionsOf(batch));
    await stages(batch, decodeEnriched(batch, now()));
  };
}

/**
 * The stateful stages over decoded events (features -> rules -> store), shared by the stateful group
 * and the local topology (`pipeline/local.ts`). `batch` identifies the batch: the same object again
 * is a retry of a failed one. `leading` messages (the local topology's normalize dead letters) are
 * produced first, with the batch's features and alerts.
 */
export function createStatefulStages<StoredAlertT>(
  deps: StatefulDeps<StoredAlertT>,
): (batch: object, decoded: DecodedEnriched, leading?: readonly OutgoingMessage[]) => Promise<void> {
  const { sink, counters, stages, config } = deps;
  const now = deps.now ?? Date.now;
  const limits = deps.limits ?? {};
  const { features: featuresTopic, alerts: alertsTopic, dlq: dlqTopic } = config.topics;
  const refusals: RefusalOptions = {
    dlqTopic,
    dlqMaxBytes: recordBudget(limits, dlqTopic),
    maxRequestBytes: Math.min(
      MAX_REQUEST_BYTES,
      smallestBudget(limits, [featuresTopic, alertsTopic, dlqTopic]),
    ),
    stage: "produce",
  };
  const featureCursor = new FeatureCursor(deps.features);
  const schedule = new FeatureSchedule(deps.config.features.publish_every);
  const eviction: EvictionClock = { lastMs: Number.NEGATIVE_INFINITY };
  // A failed batch is retried as the same array (BatchConsumer). Once its features and rules ran,
  // their state has moved on: running them again would count the events twice in the windows and
  // emit no alert (the rules already changed state). The retry reuses the first attempt's results,
  // and does not produce them again once they were produced.
  let unfinished: Attempt | undefined;
  return async (batch, decoded, leading = []) => {
    // Another batch: the failed one was given up (a rebalance, a stop) and will come back as new.
    if (unfinished?.batch !== batch) unfinished = undefined;
    const nowMs = now();
    const fresh = await sink.filterUnseen(decoded.events);
    const attempt = unfinished ??
      evaluate(deps, featureCursor, schedule, eviction, batch, decoded, fresh, nowMs, leading);
    unfinished = attempt;
    if (!attempt.produced) {
      counters.add("produce", "dlq", await produceAll(deps.producer, attempt.messages, refusals));
      attempt.produced = true;
      counters.add("features", "out", attempt.featureRecords);
      counters.add("rules", "alerts", attempt.alerts.length);
    }
    if (stages.store) {
      const written = await sink.write(fresh, attempt.alerts);
      counters.add("store", "in", written.inserted);
      deps.published?.(fresh, written.alerts);
    }
    unfinished = undefined;
  };
}

/** The partitions a batch's messages come from. */
function partitionsOf(batch: readonly EnrichedMessage[]): Set<number> {
  const partitions = new Set<number>();
  for (const message of batch) partitions.add(message.partition);
  return partitions;
}

/** What one batch's features and rules produced. */
interface Attempt {
  readonly batch: object;
  readonly alerts: Alert[];
  /** Features, alerts and dead letters, in produce order. */
  readonly messages: OutgoingMessage[];
  readonly featureRecords: number;
  produced: boolean;
}

/**
 * When idle series were last looked for (processing time). The scan visits every series, so it runs
 * at most once per {@link EVICTION_EVERY_MS}, not per batch: in a backlog drain a scan per batch
 * of 5,000 events over 5,000 series cost ~0.25 µs per event.
 */
interface EvictionClock {
  lastMs: number;
}

const EVICTION_EVERY_MS = 1_000;

/** Runs features and rules over a batch's fresh events (their state advances) and builds its messages. */
function evaluate<StoredAlertT>(
  deps: StatefulDeps<StoredAlertT>,
  featureCursor: FeatureCursor,
  schedule: FeatureSchedule,
  eviction: EvictionClock,
  batch: object,
  decoded: DecodedEnriched,
  fresh: readonly Envelope[],
  nowMs: number,
  leading: readonly OutgoingMessage[],
): Attempt {
  const { config, counters, stages } = deps;
  const { features: featuresTopic, alerts: alertsTopic, dlq: dlqTopic } = config.topics;
  const limits = deps.limits ?? {};
  const outgoing: OutgoingMessage[] = [...leading];
  const dlqMaxBytes = recordBudget(limits, dlqTopic);
  for (const record of decoded.deadLetters) {
    outgoing.push({ topic: dlqTopic, value: encodeDeadLetter(record, dlqMaxBytes) });
  }
  counters.add("stateful", "in", decoded.elements);
  counters.add("stateful", "dlq", decoded.deadLetters.length);
  counters.add("store", "replayed", decoded.events.length - fresh.length);

  const alerts: Alert[] = deps.takePendingAlerts?.() ?? [];
  let newestTs = Number.NEGATIVE_INFINITY;
  // The series updated in the batch go to the schedule, which says after the loop whose latest
  // records to publish. Rules read records through the cursor, which builds only the ones a feature
  // rule asks for.
  for (const event of fresh) {
    if (event.ts > newestTs) newestTs = event.ts;
    const series = stages.features ? deps.features.observe(event) : undefined;
    if (series) {
      schedule.changed(series);
    } else if (stages.features) {
      counters.add("features", "late", 1);
    }
    if (stages.rules) {
      featureCursor.series = series;
      const emitted = deps.rules.evaluate(event, series ? featureCursor : undefined);
      for (const alert of emitted) alerts.push(alert);
    }
  }
  if (fresh.length > 0) {
    deps.onEventTime?.(newestTs);
    if (nowMs - eviction.lastMs >= EVICTION_EVERY_MS) {
      eviction.lastMs = nowMs;
      deps.features.evictIdle(newestTs);
      deps.rules.evictIdle(newestTs, config.features.idle_eviction);
    }
  }
  // A series' latest records, once per window, when the schedule says so (not per event).
  const { featuresPartitioner } = deps;
  const featureMessages = new JsonBatcher(
    featuresTopic,
    featuresPartitioner.partitions,
    Math.floor(Math.min(MAX_REQUEST_BYTES, recordBudget(limits, featuresTopic)) / 3),
  );
  for (const series of schedule.due(nowMs)) {
    const partition = featuresPartitioner.partition(series);
    for (const record of deps.features.recordsOf(series)) {
      featureMessages.add(partition, JSON.stringify(record));
    }
  }
  const origin = alerts.length > 0 ? alertOriginHeaders(config.http.advertise) : undefined;
  for (const alert of alerts) {
    outgoing.push({
      topic: alertsTopic,
      key: Buffer.from(alert.fingerprint),
      value: Buffer.from(JSON.stringify(alert)),
      headers: origin,
    });
  }
  const featureRecords = featureMessages.records;
  return {
    batch,
    alerts,
    messages: [...featureMessages.take(), ...outgoing],
    featureRecords,
    produced: false,
  };
}
