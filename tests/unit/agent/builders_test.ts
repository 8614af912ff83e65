/** The agent's builders on their own: shutdown order, the consumer groups of the stages, /status. */
import assert from "node:assert/strict";
import { pipelineMetrics } from "../../../telemetry/families.ts";
import { Registry } from "../../../telemetry/registry.ts";
import { ConsumerGroups } from "../../../agent/consumer_groups.ts";
import { Lifecycle } from "../../../agent/lifecycle.ts";
import { statusOf } from "../../../agent/status.ts";
import { storeSink } from "../../../agent/store_sink.ts";
import { ConfigSchema } from "../../../config/schema.ts";
import { createLogger } from "../../../lib/log.ts";
import { MemoryCounters } from "../../../telemetry/counters.ts";
import { VALID_ENVELOPE } from "../pipeline/fixtures.ts";

const quiet = createLogger("error", () => {});

Deno.test("lifecycle: parts stop last started first; a failing stop is logged and the others still stop", async () => {
  const lines: string[] = [];
  const life = new Lifecycle(createLogger("warn", (line) => lines.push(new TextDecoder().decode(line))));
  const stopped: string[] = [];
  life.onStop(() => void stopped.push("admin"));
  life.onStop(() => {
    throw new Error("store is gone");
  });
  life.onStop(async () => {
    await Promise.resolve();
    stopped.push("groups");
  });
  await life.stopAll();
  assert.deepEqual(stopped, ["groups", "admin"]);
  assert.equal(lines.length, 1);
  assert.match(lines[0], /error while stopping.*store is gone/);
  await life.stopAll();
  assert.deepEqual(stopped, ["groups", "admin"], "each part stops once");
});

Deno.test("consumer groups: one per group the stages need, hooks feed the batch metrics and the health", () => {
  const registry = new Registry();
  const metrics = pipelineMetrics(registry);
  const onlyStateless = new ConsumerGroups(
    ConfigSchema.parse({ stages: ["normalize", "enrich"] }),
    registry,
    metrics,
    "partitioned",
  );
  assert.ok(onlyStateless.stateless && !onlyStateless.stateful);
  const config = ConfigSchema.parse({});
  const groups = new ConsumerGroups(config, registry, metrics, "partitioned");
  assert.deepEqual(groups.consumers().map((group) => [group.group, group.state]), [
    [config.kafka.group_stateless, "starting"],
    [config.kafka.group_stateful, "starting"],
  ]);
  assert.equal(groups.consumerLag(), undefined, "unknown until read from the broker");
  const hooks = groups.hooks(groups.stateful!, "stateful");
  hooks.onState("consuming");
  hooks.onBatch(7, 20, 100);
  const stateful = groups.consumers()[1];
  assert.equal(stateful.state, "consuming");
  assert.notEqual(stateful.last_batch_at, null);
  assert.match(registry.render(), /eventops_batch_size_sum\{stage="stateful"\} 7/);
});

Deno.test("consumer groups: local has the raw topic's group only, until auto switches and adds the stateful one", () => {
  const registry = new Registry();
  const config = ConfigSchema.parse({ topology: "auto" });
  const groups = new ConsumerGroups(config, registry, pipelineMetrics(registry), "local");
  assert.deepEqual(groups.consumers().map((group) => [group.group, group.topic]), [
    [config.kafka.group_stateless, config.topics.raw],
  ]);
  groups.addStateful();
  groups.addStateful();
  assert.deepEqual(groups.consumers().map((group) => group.group), [
    config.kafka.group_stateless,
    config.kafka.group_stateful,
  ]);
});

Deno.test("status: totals and DLQ per stage from the counters; no rates in the first 2 s", () => {
  const counters = new MemoryCounters();
  counters.add("normalize", "in", 10);
  counters.add("normalize", "dlq", 2);
  counters.add("stateful", "dlq", 1);
  const config = ConfigSchema.parse({});
  const status = statusOf(config, 123, counters, {
    brokerReachable: () => Promise.resolve(true),
    storeWritable: () => Promise.resolve(true),
    consumerLag: () => 5,
  });
  const first = status();
  assert.deepEqual(first.totals, { "normalize.in": 10, "normalize.dlq": 2, "stateful.dlq": 1 });
  assert.deepEqual(first.dlq, { total: 3, by_stage: { normalize: 2, stateful: 1 } });
  assert.equal(first.consumer_lag, 5);
  assert.equal(first.started_at, 123);
  assert.deepEqual(first.rates, {}, "no rates before 2 s");
});

Deno.test("store sink: without a store (a process without the store stage) nothing is filtered or written", async () => {
  const sink = storeSink(undefined, pipelineMetrics(new Registry()), quiet);
  const events = [{ ...VALID_ENVELOPE, v: 1 as const }];
  assert.deepEqual(await sink.filterUnseen(events), events);
  assert.deepEqual(await sink.write(events, []), { inserted: 0, alerts: [] });
});
