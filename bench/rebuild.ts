/**
 * Time and memory of the stateful stages' rebuild after a restart (`pipeline/rebuild.ts`): a store
 * holding `series` series with an event every `stepMs` for `minutes`, reopened, then every
 * partition's series rebuilt (default config: windows 1m and 5m, the built-in rules) as at start.
 * Reports the rebuild's wall time, the events replayed, and the process memory before and after
 * (RSS, peak RSS sampled every 20 ms, V8 heap after a GC). Not a test.
 *
 * ```sh
 * deno task bench:rebuild [series, default 5000] [stepMs, default 1000] [minutes, default 10]
 * ```
 *
 * @module
 */
import { ConfigSchema } from "../config/schema.ts";
import { partitionOf } from "../kafka/partition.ts";
import type { Envelope } from "../model/envelope.ts";
import { seriesKey } from "../model/envelope.ts";
import { StateRebuilder } from "../pipeline/rebuild.ts";
import { FeatureEngine } from "../stages/features.ts";
import { defaultRules, RuleEngine } from "../stages/rules.ts";
import { openStore } from "../store/open.ts";
import { StoreReader } from "../store/query.ts";
import { StoreWriter } from "../store/writer.ts";

const SERIES = Number(Deno.args[0] ?? 5_000);
const STEP_MS = Number(Deno.args[1] ?? 1_000);
const MINUTES = Number(Deno.args[2] ?? 10);
const PARTITIONS = 3;
const MB = 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error("run with --v8-flags=--expose-gc (deno task bench:rebuild does)");

const config = ConfigSchema.parse({});
const dir = `./data/bench-rebuild-${crypto.randomUUID().slice(0, 8)}`;
await Deno.mkdir(dir, { recursive: true });
const resources = { memoryLimit: config.store.memory_limit, threads: config.store.threads };
try {
  // Fill the store: one event per series every STEP_MS, written in batches as the agent does.
  let store = await openStore(dir, resources);
  const writer = await StoreWriter.open(store);
  const end = Date.UTC(2025, 9, 21, 12);
  const steps = Math.floor((MINUTES * 60_000) / STEP_MS);
  const fillStarted = performance.now();
  let batch: Envelope[] = [];
  let offset = 0;
  for (let step = 0; step < steps; step++) {
    const ts = end - (steps - 1 - step) * STEP_MS;
    for (let s = 0; s < SERIES; s++) {
      const source = { topic: "raw", partition: s % PARTITIONS, offset: String(offset++), index: 0 };
      batch.push({
        v: 1,
        id: `${source.topic}:${source.partition}:${source.offset}:0`,
        tenant: "acme",
        host: `host-${s % 500}`,
        metric: `m${Math.floor(s / 500)}`,
        value: 50 + 20 * Math.sin(step / 10 + s),
        unit: "percent",
        ts,
        ts_ingest: ts + 5,
        tags: { env: "prod" },
        ctx: { site: `plant-${s % 4}` },
        source,
      });
      if (batch.length >= 50_000) {
        await writer.writeBatch(batch, []);
        batch = [];
      }
    }
  }
  if (batch.length > 0) await writer.writeBatch(batch, []);
  batch = [];
  const fillMs = performance.now() - fillStarted;
  store.close();

  // As at a restart: a fresh process state, the store reopened, every partition rebuilt.
  store = await openStore(dir, resources);
  const reader = await StoreReader.open(store);
  gc();
  const before = Deno.memoryUsage();
  let peakRss = before.rss;
  const sampler = setInterval(() => peakRss = Math.max(peakRss, Deno.memoryUsage().rss), 20);
  const features = new FeatureEngine(config.features);
  const rules = new RuleEngine(defaultRules());
  const rebuilder = new StateRebuilder({
    config,
    source: {
      recentSeries: (idleMs, horizonMs) => reader.recentSeries(idleMs, horizonMs),
      seriesHistory: (series) => reader.seriesHistory(series),
      latestAlerts: () => reader.latestAlertPerFingerprint(),
    },
    features,
    rules,
    partitionOf: (series) => partitionOf(seriesKey(series), PARTITIONS),
  });
  const started = performance.now();
  const report = await rebuilder.ensure([0, 1, 2]);
  const ms = performance.now() - started;
  clearInterval(sampler);
  peakRss = Math.max(peakRss, Deno.memoryUsage().rss);
  gc();
  const after = Deno.memoryUsage();
  reader.close();
  store.close();
  console.log(JSON.stringify(
    {
      series: SERIES,
      stored_rows: steps * SERIES,
      step_ms: STEP_MS,
      fill_s: Math.round(fillMs / 100) / 10,
      rebuild_ms: Math.round(ms),
      read_ms: report?.readMs,
      rebuilt_series: report?.series,
      replayed_events: report?.events,
      tracked_series: features.seriesCount,
      rule_states: rules.stateCount,
      rss_mb_before: Math.round(before.rss / MB),
      rss_mb_peak: Math.round(peakRss / MB),
      rss_mb_after: Math.round(after.rss / MB),
      heap_mb_before: Math.round(before.heapUsed / MB),
      heap_mb_after: Math.round(after.heapUsed / MB),
    },
    null,
    2,
  ));
} finally {
  await Deno.remove(dir, { recursive: true });
}
