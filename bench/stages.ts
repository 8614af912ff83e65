/**
 * Throughput of the pure stages (not a test): 200k deterministic raw events (seeded PRNG), timed
 * per stage and for the whole chain. Run: `deno run --ignore-env bench/stages.ts [count]`.
 *
 * @module
 */
import { ConfigSchema } from "../config/schema.ts";
import type { Alert } from "../model/alert.ts";
import type { Envelope } from "../model/envelope.ts";
import type { FeatureRecord } from "../model/feature.ts";
import { enrich } from "../stages/enrich.ts";
import { FeatureCursor, FeatureEngine } from "../stages/features.ts";
import { parseInventory } from "../stages/inventory.ts";
import { normalizeMessage } from "../stages/normalize/mod.ts";
import { DEFAULT_RULES_YAML, parseRules, RuleEngine } from "../stages/rules.ts";
import { prng } from "../lib/prng.ts";

const COUNT = Number(Deno.args[0] ?? 200_000);
const T0 = Date.UTC(2025, 9, 21, 10, 0, 0);
const config = ConfigSchema.parse({});

const METRICS = [
  { metric: "cpu_load", unit: "percent", scale: 100 },
  { metric: "cpu", unit: "ratio", scale: 1 },
  { metric: "memUsed", unit: "MiB", scale: 4096 },
  { metric: "disk.io", unit: "MB/s", scale: 500 },
  { metric: "temp", unit: "°F", scale: 120 },
];

function generate(count: number, seed: number): { messages: Uint8Array[]; nowMs: number } {
  const random = prng(seed);
  const encoder = new TextEncoder();
  const messages: Uint8Array[] = [];
  let ts = T0;
  for (let i = 0; i < count; i++) {
    ts += Math.floor(random() * 20);
    const m = METRICS[Math.floor(random() * METRICS.length)];
    const host = `host-${Math.floor(random() * 200)}`;
    const event = {
      tenant_id: `tenant-${Math.floor(random() * 5)}`,
      host,
      metric: m.metric,
      value: Math.round(random() * m.scale * 100) / 100,
      ts_event: random() < 0.5 ? new Date(ts).toISOString() : ts,
      unit: m.unit,
      tags: { env: random() < 0.8 ? "prod" : "dev", region: "eu-west" },
    };
    messages.push(encoder.encode(JSON.stringify(event)));
  }
  return { messages, nowMs: ts + 60_000 };
}

const INVENTORY = `
defaults: { site: unknown, criticality: low }
hosts:
${
  Array.from({ length: 50 }, (_, i) => `  - { tenant: tenant-1, host: host-${i}, site: par-1, role: web }`)
    .join("\n")
}
  - { tenant: "tenant-*", host: "host-1??", site: fra-2, role: db, labels: { rack: r12 } }
  - { host: "host-*", site: ams-3, role: cache }
`;

const RULES = `${DEFAULT_RULES_YAML}
  - name: cpu_avg_high
    metric: cpu_load
    feature: { window: 1m, stat: avg }
    warning: 85
    critical: 95
  - name: mem_high
    metric: mem_used
    match: { tags: { env: prod }, ctx: { role: "web" } }
    warning: 3.5e9
  - name: temp_high
    metric: temp
    warning: 45
    critical: 48
    for: 30s
`;

function time(label: string, count: number, fn: () => void): number {
  const start = performance.now();
  fn();
  const ms = performance.now() - start;
  const rate = Math.round(count / (ms / 1000));
  console.log(
    `${label.padEnd(26)} ${ms.toFixed(0).padStart(7)} ms  ${
      rate.toLocaleString("en-US").padStart(11)
    } events/s`,
  );
  return rate;
}

function run(count: number, print: boolean): void {
  const { messages, nowMs } = generate(count, 1);
  const source = { topic: "ingest.raw.agent", partition: 0, offset: "0" };
  const inventory = parseInventory(INVENTORY, "(bench inventory)");
  const rules = parseRules(RULES, "(bench rules)");
  const log = print ? time : (_label: string, _count: number, fn: () => void) => (fn(), 0);
  if (print) console.log(`${count.toLocaleString("en-US")} events, one JSON object per message`);

  // Each stage is timed on inputs prepared beforehand and keeps no outputs (as in the agent, where
  // outputs leave with the batch), so retained results do not inflate GC.
  let rejected = 0;
  let produced = 0;
  log("normalize", count, () => {
    for (let i = 0; i < messages.length; i++) {
      source.offset = String(i);
      const result = normalizeMessage(messages[i], source, config.normalize, nowMs);
      produced += result.events.length;
      rejected += result.rejects.length;
    }
  });
  const normalized: Envelope[] = [];
  for (let i = 0; i < messages.length; i++) {
    normalized.push(...normalizeMessage(messages[i], source, config.normalize, nowMs).events);
  }
  let ctxKeys = 0;
  log("enrich", normalized.length, () => {
    for (const event of normalized) ctxKeys += enrich(event, inventory).ctx === undefined ? 0 : 1;
  });
  const enriched = normalized.map((event) => enrich(event, inventory));
  let records = 0;
  log("features (1m, 5m)", enriched.length, () => {
    const engine = new FeatureEngine(config.features);
    for (const event of enriched) records += engine.update(event)?.length ?? 0;
  });
  const featureEngine = new FeatureEngine(config.features);
  const featureRecords: (FeatureRecord[] | undefined)[] = enriched.map((event) =>
    featureEngine.update(event)
  );
  let alerts = 0;
  log("rules (4 rules)", enriched.length, () => {
    const engine = new RuleEngine(rules);
    for (let i = 0; i < enriched.length; i++) {
      alerts += engine.evaluate(enriched[i], featureRecords[i]).length;
    }
  });
  // Drop the per-stage inputs so the chain runs with a heap like the agent's.
  normalized.length = 0;
  enriched.length = 0;
  featureRecords.length = 0;
  let chainAlerts: Alert[] = [];
  log("all together", count, () => {
    // As the stateful group does: observe, and rules read records through a cursor.
    const features = new FeatureEngine(config.features);
    const cursor = new FeatureCursor(features);
    const engine = new RuleEngine(rules);
    chainAlerts = [];
    for (let i = 0; i < messages.length; i++) {
      source.offset = String(i);
      for (const event of normalizeMessage(messages[i], source, config.normalize, nowMs).events) {
        const full = enrich(event, inventory);
        cursor.series = features.observe(full);
        for (const alert of engine.evaluate(full, cursor.series ? cursor : undefined)) {
          chainAlerts.push(alert);
        }
      }
    }
  });
  if (print) {
    console.log(
      `events ${produced}, rejected ${rejected}, feature records ${records}, alerts ${alerts} (chain ${chainAlerts.length}), ${ctxKeys} enriched`,
    );
    const ndjson = new TextEncoder().encode(
      Array.from({ length: 100 }, (_, i) => new TextDecoder().decode(messages[i])).join("\n"),
    );
    const batches = Math.floor(count / 100);
    time("normalize, NDJSON x100/msg", batches * 100, () => {
      for (let i = 0; i < batches; i++) normalizeMessage(ndjson, source, config.normalize, nowMs);
    });
  }
}

run(Math.min(COUNT, 20_000), false); // warm-up (JIT)
run(COUNT, true);
