import { equal, match, throws } from "node:assert/strict";
import { pipelineMetrics } from "../../../telemetry/families.ts";
import { Registry } from "../../../telemetry/registry.ts";

Deno.test("registry renders counters, gauges and histograms in the text format", () => {
  const reg = new Registry();
  const c = reg.counter({ name: "x_total", help: "X things.", labelNames: ["stage"] });
  const normalize = c.labels("normalize");
  normalize.inc();
  normalize.inc(2);
  c.labels('we"ird\\').inc();
  const g = reg.gauge({ name: "lag", help: "Lag." });
  g.set(5);
  const h = reg.histogram({ name: "dur_seconds", help: "Durations.", buckets: [0.1, 1] });
  h.observe(0.05);
  h.observe(0.5);
  h.observe(5);
  const text = reg.render();
  equal(
    text,
    [
      "# HELP x_total X things.",
      "# TYPE x_total counter",
      'x_total{stage="normalize"} 3',
      'x_total{stage="we\\"ird\\\\"} 1',
      "# HELP lag Lag.",
      "# TYPE lag gauge",
      "lag 5",
      "# HELP dur_seconds Durations.",
      "# TYPE dur_seconds histogram",
      'dur_seconds_bucket{le="0.1"} 1',
      'dur_seconds_bucket{le="1"} 2',
      'dur_seconds_bucket{le="+Inf"} 3',
      "dur_seconds_sum 5.55",
      "dur_seconds_count 3",
      "",
    ].join("\n"),
  );
});

Deno.test("registry: children are cached, registration is idempotent, mistakes throw", () => {
  const reg = new Registry();
  const c = reg.counter({ name: "a_total", help: "A.", labelNames: ["k"] });
  equal(c.labels("v"), c.labels("v"));
  equal(reg.counter({ name: "a_total", help: "A.", labelNames: ["k"] }), c);
  throws(() => reg.gauge({ name: "a_total", help: "A." }), /already registered as a counter/);
  throws(() => c.labels(), /takes 1 label value/);
  throws(() => reg.counter({ name: "bad-name", help: "" }), /invalid metric name/);
  throws(() => reg.histogram({ name: "h", help: "", buckets: [2, 1] }), /ascend/);
});

Deno.test("registry: collectors run before render; pipeline families have stable names", () => {
  const reg = new Registry();
  const m = pipelineMetrics(reg);
  let n = 0;
  reg.onCollect(() => m.featureSeries.set(++n));
  m.alerts.labels("critical", "firing").inc();
  m.consumerLag.labels("eventops-stateful", "events.enriched").set(12);
  m.batchSeconds.labels("store").observe(0.02);
  m.batchAge.labels("stateless").observe(0.3);
  const text = reg.render();
  match(text, /^eventops_features_series 1$/m);
  match(text, /^eventops_alerts_emitted_total\{severity="critical",state="firing"\} 1$/m);
  match(text, /^eventops_consumer_lag\{group="eventops-stateful",topic="events.enriched"\} 12$/m);
  match(text, /^eventops_stage_batch_seconds_count\{stage="store"\} 1$/m);
  match(text, /^eventops_stage_batch_age_seconds_bucket\{stage="stateless",le="0.5"\} 1$/m);
  equal(pipelineMetrics(reg).alerts, m.alerts);
});
