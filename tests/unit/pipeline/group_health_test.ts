/**
 * Readiness of a consumer group: not while starting or reconnecting; not when messages are pending
 * on its partitions and it handled no batch for `kafka.progress_timeout`; ready when idle with
 * nothing pending or when it makes progress. The numbers go to the metric families.
 *
 * @module
 */
import assert from "node:assert/strict";
import { pipelineMetrics } from "../../../telemetry/families.ts";
import { Registry } from "../../../telemetry/registry.ts";
import { assessGroup, describeGroup, GroupHealth, groupMetrics } from "../../../pipeline/group_health.ts";

function tracked() {
  let now = 1_000_000;
  const registry = new Registry();
  const health = new GroupHealth(
    "g",
    "raw",
    groupMetrics(registry, pipelineMetrics(registry).consumerLag),
    () => now,
  );
  return { health, registry, advance: (ms: number) => (now += ms), now: () => now };
}

Deno.test("group health: starting and lost are not ready, with the reason", () => {
  const { health, advance, now } = tracked();
  advance(2_500);
  assert.deepEqual(assessGroup(health.snapshot(), now(), 30_000), {
    ok: false,
    reason: "consumer group g: starting for 2.5 s",
  });
  health.state("consuming");
  assert.equal(assessGroup(health.snapshot(), now(), 30_000).ok, true);
  health.state("lost", "fetch failed 6 times: connect ECONNREFUSED 127.0.0.1:9092");
  advance(4_000);
  assert.deepEqual(assessGroup(health.snapshot(), now(), 30_000), {
    ok: false,
    reason: "consumer group g: lost its stream 4.0 s ago (fetch failed 6 times: connect ECONNREFUSED " +
      "127.0.0.1:9092); reconnecting",
  });
  health.state("consuming");
  assert.equal(health.snapshot().reconnects, 1);
});

Deno.test("group health: pending messages and no batch for the progress timeout is not ready", () => {
  const { health, advance, now, registry } = tracked();
  health.state("consuming");
  health.assignment([{ topic: "raw", partitions: [2, 0] }, { topic: "other", partitions: [1] }]);
  health.lag(new Map([[0, 10], [1, 500], [2, 5]]));
  advance(31_000);
  // 15 pending on this process' partitions (0 and 2); partition 1 is another member's.
  health.failure("Unknown topic dlq");
  const stuck = describeGroup(health.snapshot(), now(), 30_000);
  assert.equal(stuck.ok, false);
  assert.equal(stuck.lag, 515);
  assert.equal(stuck.assigned_lag, 15);
  assert.deepEqual(stuck.partitions, [0, 2]);
  assert.equal(stuck.idle_s, 31);
  assert.equal(
    stuck.reason,
    "consumer group g: 15 messages pending and no batch handled for 31.0 s (kafka.progress_timeout 30s); " +
      "the batch fails: Unknown topic dlq",
  );
  const text = registry.render();
  assert.match(text, /eventops_consumer_lag\{group="g",topic="raw"\} 515/);
  assert.match(text, /eventops_consumer_consuming\{group="g"\} 1/);
  // A batch handled: progress, ready again.
  health.batch();
  assert.equal(assessGroup(health.snapshot(), now(), 30_000).ok, true);
  assert.match(
    registry.render(),
    new RegExp(`eventops_consumer_last_progress_timestamp_seconds\\{group="g"\\} ${now() / 1000}`),
  );
});

Deno.test("group health: idle with nothing pending on its partitions is ready however long", () => {
  const { health, advance, now } = tracked();
  health.state("consuming");
  health.assignment([{ topic: "raw", partitions: [] }]);
  health.lag(new Map([[0, 99]]));
  advance(3_600_000);
  assert.equal(
    assessGroup(health.snapshot(), now(), 30_000).ok,
    true,
    "no partition of its own: nothing to do",
  );
  health.assignment([{ topic: "raw", partitions: [0] }]);
  assert.equal(assessGroup(health.snapshot(), now(), 30_000).ok, false);
  health.lag(new Map([[0, 0]]));
  assert.equal(assessGroup(health.snapshot(), now(), 30_000).ok, true);
});

Deno.test("group health: the inputs topics' lag is reported per topic and counts for readiness", () => {
  let at = 1_000_000;
  const registry = new Registry();
  const health = new GroupHealth(
    "g",
    "raw",
    groupMetrics(registry, pipelineMetrics(registry).consumerLag),
    () => at,
    ["otlp", "influx"],
  );
  assert.deepEqual(health.topics, ["raw", "otlp", "influx"]);
  health.state("consuming");
  health.assignment([{ topic: "raw", partitions: [0] }, { topic: "otlp", partitions: [1, 0] }]);
  health.lag(new Map([[0, 0]]));
  health.lag(new Map([[0, 7], [1, 3]]), "otlp");
  assert.throws(() => health.lag(new Map(), "elsewhere"), /group g does not read elsewhere/);
  at += 31_000;
  const described = describeGroup(health.snapshot(), at, 30_000);
  assert.equal(described.lag, 0);
  assert.deepEqual(described.inputs, [
    { topic: "otlp", lag: 10, assigned_lag: 10, partitions: [0, 1] },
    { topic: "influx", lag: null, assigned_lag: null, partitions: [] },
  ]);
  // Nothing pending on raw, but 10 on an input topic and no batch for the progress timeout: not ready.
  assert.equal(described.ok, false);
  assert.match(described.reason ?? "", /consumer group g: 10 messages pending/);
  const text = registry.render();
  assert.match(text, /^eventops_consumer_lag\{group="g",topic="raw"\} 0$/m);
  assert.match(text, /^eventops_consumer_lag\{group="g",topic="otlp"\} 10$/m);
});
