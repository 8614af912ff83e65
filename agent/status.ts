/**
 * `/status`: the dashboard's summary of the agent (version, stages, rates, totals, DLQ counts per
 * stage, the consumer groups).
 *
 * @module
 */
import type { AgentStatus, Health } from "../api/mod.ts";
import type { Config } from "../config/schema.ts";
import { type CounterKey, DLQ_STAGES, type MemoryCounters } from "../telemetry/counters.ts";
import { VERSION } from "../version.ts";
import { memoryReport } from "../config/memory.ts";
import v8 from "node:v8";

/** `/status`: rates over the last 2 s or more, totals, DLQ counts per stage, the consumer groups. */
export function statusOf(
  config: Config,
  startedAt: number,
  counters: MemoryCounters,
  health: Health,
  clock: () => number = Date.now,
): () => AgentStatus {
  const memory = memoryReport(config, v8.getHeapStatistics().heap_size_limit);
  const rateWindow = { at: clock(), values: counters.snapshot(), rates: {} as Record<string, number> };
  return () => {
    const now = clock();
    const values = counters.snapshot();
    if (now - rateWindow.at >= 2_000) {
      const seconds = (now - rateWindow.at) / 1000;
      const rate = (key: CounterKey) => ((values[key] ?? 0) - (rateWindow.values[key] ?? 0)) / seconds;
      rateWindow.rates = {
        consumed: rate("normalize.in"),
        stored: rate("store.in"),
        alerts: rate("rules.alerts"),
        dlq: DLQ_STAGES.reduce((sum, stage) => sum + rate(`${stage}.dlq` as CounterKey), 0),
      };
      rateWindow.at = now;
      rateWindow.values = values;
    }
    const byStage: Record<string, number> = {};
    for (const [key, value] of Object.entries(values) as [CounterKey, number][]) {
      if (key.endsWith(".dlq")) byStage[key.slice(0, -4)] = value;
    }
    return {
      version: VERSION,
      started_at: startedAt,
      stages: config.stages,
      topology: { configured: config.topology, running: health.topology?.() ?? null },
      rates: rateWindow.rates,
      consumer_lag: health.consumerLag() ?? null,
      consumers: health.consumers?.() ?? [],
      dlq: { total: Object.values(byStage).reduce((sum, value) => sum + value, 0), by_stage: byStage },
      totals: values,
      memory,
    };
  };
}
