/**
 * The stateful group: enriched events (keyed by series) -> features -> rules -> store, with the
 * features and alerts published to their topics. A batch is made durable in this order: produce
 * (features, alerts, DLQ) -> one store transaction -> (caller) offset commit. Replayed events (ids
 * already stored) are skipped before the stateful stages, so a replay repeats no alert.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import type { Alert } from "../model/alert.ts";
import type { Envelope } from "../model/envelope.ts";
import type { FeatureRecord } from "../model/feature.ts";
import type { ConsumedMessage } from "../kafka/batch_consumer.ts";
import { type ByteProducer, type OutgoingMessage, sendInChunks } from "../kafka/clients.ts";
import { deadLetter } from "../kafka/dlq.ts";
import type { FeatureEngine } from "../stages/features.ts";
import type { RuleEngine } from "../stages/rules.ts";
import type { PipelineCounters } from "./counters.ts";
import { parseEnvelope } from "./envelope_guard.ts";

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
  producer: ByteProducer;
  sink: EventSink<StoredAlertT>;
  features: FeatureEngine;
  /** The current rule engine (rules reload swaps its rules in place). */
  rules: RuleEngine;
  counters: PipelineCounters;
  /** Alerts produced outside event processing (rules removed on reload), emitted with this batch. */
  takePendingAlerts?: () => Alert[];
  /** Called with the newest event time of each batch. */
  onEventTime?: (ts: number) => void;
  /** Called after the batch is durable (live feeds for the API). */
  published?: (events: readonly Envelope[], alerts: readonly StoredAlertT[]) => void;
  /** Which stages this process runs among features, rules and store. */
  stages: { features: boolean; rules: boolean; store: boolean };
}

const textDecoder = new TextDecoder();

/** Creates the batch handler of the stateful group. */
export function createStatefulHandler<StoredAlertT>(
  deps: StatefulDeps<StoredAlertT>,
): (batch: readonly ConsumedMessage[]) => Promise<void> {
  const { config, producer, sink, counters, stages } = deps;
  const { features: featuresTopic, alerts: alertsTopic, dlq: dlqTopic } = config.topics;
  return async (batch) => {
    const nowMs = Date.now();
    const outgoing: OutgoingMessage[] = [];
    const decoded: Envelope[] = [];
    for (const message of batch) {
      const bytes = message.value ?? Buffer.alloc(0);
      const source = {
        topic: message.topic,
        partition: message.partition,
        offset: message.offset.toString(),
      };
      let parsed: unknown;
      try {
        parsed = JSON.parse(textDecoder.decode(bytes));
      } catch (error) {
        const reason = `not JSON: ${error instanceof Error ? error.message : String(error)}`;
        outgoing.push({
          topic: dlqTopic,
          value: Buffer.from(JSON.stringify(deadLetter("stateful", reason, source, bytes, nowMs))),
        });
        continue;
      }
      const result = parseEnvelope(parsed);
      if (!result.success) {
        const reason = `not an envelope v1: ${result.reason}`;
        outgoing.push({
          topic: dlqTopic,
          value: Buffer.from(JSON.stringify(deadLetter("stateful", reason, source, bytes, nowMs))),
        });
        continue;
      }
      decoded.push(result.data);
    }
    counters.add("stateful", "in", batch.length);
    counters.add("stateful", "dlq", batch.length - decoded.length);

    const fresh = await sink.filterUnseen(decoded);
    counters.add("store", "replayed", decoded.length - fresh.length);

    const alerts: Alert[] = deps.takePendingAlerts?.() ?? [];
    let newestTs = Number.NEGATIVE_INFINITY;
    const latestFeatures = new Map<string, FeatureRecord>();
    for (const event of fresh) {
      if (event.ts > newestTs) newestTs = event.ts;
      const records = stages.features ? deps.features.update(event) : undefined;
      if (records) {
        for (const record of records) {
          latestFeatures.set(`${event.tenant}|${event.host}|${event.metric}|${record.window}`, record);
        }
      } else if (stages.features) {
        counters.add("features", "late", 1);
      }
      if (stages.rules) {
        const emitted = deps.rules.evaluate(event, records);
        for (const alert of emitted) alerts.push(alert);
      }
    }
    if (fresh.length > 0) {
      deps.onEventTime?.(newestTs);
      deps.features.evictIdle(newestTs);
      deps.rules.evictIdle(newestTs, config.features.idle_eviction);
    }
    // Features are published once per series and window per batch (the latest), not per event.
    for (const [key, record] of latestFeatures) {
      outgoing.push({
        topic: featuresTopic,
        key: Buffer.from(key),
        value: Buffer.from(JSON.stringify(record)),
      });
    }
    for (const alert of alerts) {
      outgoing.push({
        topic: alertsTopic,
        key: Buffer.from(alert.fingerprint),
        value: Buffer.from(JSON.stringify(alert)),
      });
    }
    await sendInChunks(producer, outgoing);
    counters.add("features", "out", latestFeatures.size);
    counters.add("rules", "alerts", alerts.length);

    if (stages.store) {
      const written = await sink.write(fresh, alerts);
      counters.add("store", "in", written.inserted);
      deps.published?.(fresh, written.alerts);
    }
  };
}
