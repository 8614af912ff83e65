import assert from "node:assert/strict";
import { ConfigSchema } from "../../../config/schema.ts";
import type { OutgoingMessage } from "../../../kafka/clients.ts";
import { SeriesPartitioner } from "../../../kafka/partition.ts";
import type { Alert } from "../../../model/alert.ts";
import type { Envelope } from "../../../model/envelope.ts";
import { MemoryCounters } from "../../../telemetry/counters.ts";
import { EnrichedBatchPacker } from "../../../enriched/mod.ts";
import { createStatefulHandler, type EventSink } from "../../../pipeline/stateful.ts";
import { FeatureEngine } from "../../../stages/features.ts";
import { defaultRules, RuleEngine } from "../../../stages/rules.ts";
import { VALID_ENVELOPE } from "./fixtures.ts";

const config = ConfigSchema.parse({});

/** Envelopes of one series whose cpu_load crosses the default rule: firing (99), then resolved (10). */
function events(): Envelope[] {
  return [99, 10].map((value, i) => {
    const source = { ...VALID_ENVELOPE.source, offset: String(100 + i) };
    return {
      ...VALID_ENVELOPE,
      v: 1,
      id: `${source.topic}:${source.partition}:${source.offset}:0`,
      value,
      ts: VALID_ENVELOPE.ts + i * 1_000,
      source,
    };
  });
}

/** A producer and a store that fail the first `failures` calls each, and record what got through. */
function setup(failures: { send: number; write: number; lookup?: number }, now?: () => number) {
  const sent: OutgoingMessage[] = [];
  const stored: { events: number; alerts: Alert[] }[] = [];
  let lookups = 0;
  let lookupFailures = failures.lookup ?? 0;
  const producer = {
    send({ messages }: { messages: OutgoingMessage[] }): Promise<unknown> {
      if (failures.send-- > 0) return Promise.reject(new Error("broker unavailable"));
      sent.push(...messages);
      return Promise.resolve();
    },
  };
  const sink: EventSink<Alert> = {
    filterUnseen(list) {
      // Fails on the second lookup and after: the retry's first step, before the stages would run.
      if (lookups++ > 0 && lookupFailures-- > 0) return Promise.reject(new Error("store lookup failed"));
      return Promise.resolve([...list]);
    },
    write(list, alerts) {
      if (failures.write-- > 0) return Promise.reject(new Error("disk full"));
      stored.push({ events: list.length, alerts: [...alerts] });
      return Promise.resolve({ inserted: list.length, alerts: [...alerts] });
    },
  };
  const features = new FeatureEngine(config.features);
  const counters = new MemoryCounters();
  const handler = createStatefulHandler({
    config,
    producer,
    sink,
    features,
    rules: new RuleEngine(defaultRules()),
    counters,
    featuresPartitioner: new SeriesPartitioner(3),
    stages: { features: true, rules: true, store: true },
    now,
  });
  const packer = new EnrichedBatchPacker(config.topics.enriched, 1);
  for (const event of events()) packer.addEnvelope(event);
  const batch = packer.take().map((message, i) => ({
    topic: config.topics.enriched,
    partition: 0,
    offset: BigInt(i),
    value: message.value,
  }));
  return { handler, batch, sent, stored, features, counters };
}

const alertsOn = (sent: OutgoingMessage[]) =>
  sent.filter((message) => message.topic === config.topics.alerts);

Deno.test("stateful: a batch retried after a failed store write stores its alerts, once, without re-running the stages", async () => {
  const { handler, batch, sent, stored, features, counters } = setup({ send: 0, write: 1 });
  await assert.rejects(handler(batch), /disk full/);
  assert.equal(alertsOn(sent).length, 2, "alerts produced before the store write");
  await handler(batch);
  assert.equal(stored.length, 1);
  assert.deepEqual(stored[0].alerts.map((alert) => alert.state), ["firing", "resolved"]);
  assert.equal(alertsOn(sent).length, 2, "not produced again");
  assert.equal(features.stats().updates, 2, "each event observed once");
  assert.equal(counters.get("rules", "alerts"), 2);
  assert.equal(counters.get("stateful", "in"), 2);
  assert.equal(counters.get("store", "in"), 2);
});

Deno.test("stateful: a batch retried after a failed produce produces and stores the same alerts", async () => {
  const { handler, batch, sent, stored, features } = setup({ send: 1, write: 0 });
  await assert.rejects(handler(batch), /broker unavailable/);
  assert.equal(sent.length, 0);
  await handler(batch);
  assert.equal(alertsOn(sent).length, 2);
  assert.deepEqual(stored[0].alerts.map((alert) => alert.state), ["firing", "resolved"]);
  assert.equal(features.stats().updates, 2);
});

Deno.test("stateful: a retry that fails before the stages keeps the first attempt's results", async () => {
  const { handler, batch, sent, stored, features } = setup({ send: 0, write: 1, lookup: 1 });
  await assert.rejects(handler(batch), /disk full/);
  await assert.rejects(handler(batch), /store lookup failed/);
  await handler(batch);
  assert.deepEqual(stored[0].alerts.map((alert) => alert.state), ["firing", "resolved"]);
  assert.equal(alertsOn(sent).length, 2);
  assert.equal(features.stats().updates, 2);
});

Deno.test("stateful: another batch after a failure is evaluated afresh", async () => {
  const { handler, batch, stored } = setup({ send: 0, write: 1 });
  await assert.rejects(handler(batch), /disk full/);
  // The same messages in a new array (e.g. after a rebalance): not a retry, so the stages run again;
  // the rules already changed state, so no alert repeats.
  await handler([...batch]);
  assert.equal(stored.length, 1);
  assert.deepEqual(stored[0].alerts, []);
});

Deno.test("stateful handler: idle series are evicted at most once a second (processing time)", async () => {
  let clockMs = Date.UTC(2026, 0, 1);
  const { handler, features } = setup({ send: 0, write: 0 }, () => clockMs);
  const idleMs = config.features.idle_eviction;
  const batchOf = (host: string, ts: number, offset: number) => {
    const packer = new EnrichedBatchPacker(config.topics.enriched, 1);
    const source = { ...VALID_ENVELOPE.source, offset: String(offset) };
    packer.addEnvelope({ ...VALID_ENVELOPE, v: 1, id: `${source.topic}:0:${offset}:0`, host, ts, source });
    return packer.take().map((message) => ({
      topic: config.topics.enriched,
      partition: 0,
      offset: BigInt(offset),
      value: message.value,
    }));
  };
  const t0 = VALID_ENVELOPE.ts;
  await handler(batchOf("old-host", t0, 1));
  clockMs += 999;
  await handler(batchOf("new-host", t0 + idleMs + 1, 2));
  assert.equal(features.seriesCount, 2, "the first batch's scan was less than a second ago");
  clockMs += 1;
  await handler(batchOf("new-host", t0 + idleMs + 2, 3));
  assert.equal(features.seriesCount, 1, "old-host was idle for longer than idle_eviction");
});
