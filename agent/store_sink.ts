/**
 * Where the stateful group's batches go: the store writer (exactly once, timed, slow writes
 * logged, rows and duplicates counted), then the live feeds of the API (`/events/stream`,
 * `/alerts/stream`), which publish only what is durable.
 *
 * @module
 */
import type { LiveFeeds } from "../api/mod.ts";
import type { PipelineMetrics } from "../telemetry/families.ts";
import type { Logger } from "../lib/log.ts";
import type { Envelope } from "../model/envelope.ts";
import type { StoredAlert } from "../model/query.ts";
import type { EventSink } from "../pipeline/stateful.ts";
import type { FeatureEngine } from "../stages/features.ts";
import type { StoreWriter } from "../store/mod.ts";

/** A store write at least this long is logged: live data waits for it (e.g. a DuckDB checkpoint). */
const SLOW_STORE_WRITE_S = 0.25;

/** The sink of the stateful group: `writer`, or nothing stored when this process runs no store stage. */
export function storeSink(
  writer: StoreWriter | undefined,
  metrics: PipelineMetrics,
  log: Logger,
): EventSink<StoredAlert> {
  return {
    filterUnseen: (events) => writer ? writer.filterUnseen(events) : Promise.resolve([...events]),
    write: async (events, alerts) => {
      if (!writer) return { inserted: 0, alerts: [] };
      const started = performance.now();
      const before = writer.stats;
      const result = await writer.writeBatch(events, alerts);
      const seconds = (performance.now() - started) / 1000;
      metrics.storeFlush.labels().observe(seconds);
      if (seconds >= SLOW_STORE_WRITE_S) {
        const after = writer.stats;
        log.warn("slow store write (live data waits for it)", {
          ms: Math.round(seconds * 1000),
          events: events.length,
          checkMs: Math.round(after.checkMs - before.checkMs),
          appendMs: Math.round(after.appendMs - before.appendMs),
          commitMs: Math.round(after.commitMs - before.commitMs),
        });
      }
      metrics.storeRows.labels("metrics").inc(result.inserted);
      metrics.storeRows.labels("alerts").inc(result.alertsInserted);
      metrics.storeDuplicates.labels().inc(result.duplicates);
      return { inserted: result.inserted, alerts: result.storedAlerts };
    },
  };
}

/**
 * Publishes a durable batch (stored events and alerts) to the live feeds, and counts the alerts
 * and the features' series.
 */
export function publishDurable(
  feeds: LiveFeeds,
  metrics: PipelineMetrics,
  features: FeatureEngine,
  alertsStored: (alerts: readonly StoredAlert[]) => void = () => {},
): (events: readonly Envelope[], alerts: readonly StoredAlert[]) => void {
  return (events, alerts) => {
    for (const event of events) feeds.events.publish(event);
    for (const alert of alerts) {
      feeds.alerts.publish(alert);
      metrics.alerts.labels(alert.severity, alert.state).inc();
    }
    if (alerts.length > 0) alertsStored(alerts);
    metrics.featureSeries.labels().set(features.seriesCount);
  };
}
