/**
 * The local topology without a broker: the builder keeps enriched envelopes whose ids are their raw
 * positions, the handler runs the stateful stages over them (DLQ, alerts, store) and refuses a
 * batch while this agent does not own every raw partition; which topology a config starts with.
 *
 * @module
 */
import assert from "node:assert/strict";
import { startingTopology } from "../../../agent/topology.ts";
import { ConfigSchema } from "../../../config/schema.ts";
import type { ConsumedMessage } from "../../../kafka/batch_consumer.ts";
import type { OutgoingMessage } from "../../../kafka/clients.ts";
import { SeriesPartitioner } from "../../../kafka/partition.ts";
import type { Alert } from "../../../model/alert.ts";
import type { Envelope } from "../../../model/envelope.ts";
import {
  createLocalHandler,
  forwardToEnriched,
  LocalBatchBuilder,
  ownsEveryPartition,
  RawOwnership,
  SharedTopicError,
} from "../../../pipeline/local.ts";
import { decodeEnriched } from "../../../enriched/mod.ts";
import { FeatureEngine } from "../../../stages/features.ts";
import { emptyInventory } from "../../../stages/inventory.ts";
import { defaultRules, RuleEngine } from "../../../stages/rules.ts";
import { MemoryCounters } from "../../../telemetry/counters.ts";

const config = ConfigSchema.parse({});
const raw = config.topics.raw;

function message(partition: number, offset: number, value: string): ConsumedMessage {
  return {
    topic: raw,
    partition,
    offset: BigInt(offset),
    timestamp: BigInt(Date.now()),
    value: Buffer.from(value),
  } as unknown as ConsumedMessage;
}

function event(host: string, value: number, secondsAgo: number): Record<string, unknown> {
  return {
    tenant_id: "acme",
    host,
    metric: "cpu_load",
    value,
    unit: "percent",
    ts_event: Date.now() - secondsAgo * 1_000,
  };
}

Deno.test("ownsEveryPartition: every partition of the topic, not another topic's, not an empty topic", () => {
  assert.equal(ownsEveryPartition([{ topic: raw, partitions: [2, 0, 1] }], raw, 3), true);
  assert.equal(ownsEveryPartition([{ topic: raw, partitions: [0, 2] }], raw, 3), false);
  assert.equal(ownsEveryPartition([{ topic: "other", partitions: [0, 1, 2] }], raw, 3), false);
  assert.equal(
    ownsEveryPartition([{ topic: raw, partitions: [0] }, { topic: raw, partitions: [1] }], raw, 2),
    true,
  );
  assert.equal(ownsEveryPartition([], raw, 0), false);
});

Deno.test("raw ownership: refuses before any assignment and on a partial one, with the partitions it owns", () => {
  const ownership = new RawOwnership(raw, 3);
  assert.match(ownership.refusal() ?? "", /owns \[\]/);
  assert.equal(ownership.assigned([{ topic: raw, partitions: [2, 0] }]), false);
  assert.match(
    ownership.refusal() ?? "",
    /needs every partition of ingest\.raw\.agent \(3\); this agent owns \[0,2\]/,
  );
  assert.equal(ownership.assigned([{ topic: raw, partitions: [0, 1, 2] }]), true);
  assert.equal(ownership.refusal(), undefined);
});

Deno.test("raw ownership with inputs topics: every partition of the raw topic and of each input, or a refusal naming the topic", () => {
  const ownership = new RawOwnership(raw, 2, [{ topic: "telegraf.influx", partitions: 3 }]);
  assert.equal(ownership.assigned([{ topic: raw, partitions: [0, 1] }]), false);
  assert.match(
    ownership.refusal() ?? "",
    /needs every partition of telegraf\.influx \(3\); this agent owns \[\]/,
  );
  assert.equal(
    ownership.assigned([{ topic: raw, partitions: [0, 1] }, {
      topic: "telegraf.influx",
      partitions: [0, 2],
    }]),
    false,
  );
  assert.match(ownership.refusal() ?? "", /telegraf\.influx \(3\); this agent owns \[0,2\]/);
  assert.equal(
    ownership.assigned([{ topic: raw, partitions: [1, 0] }, {
      topic: "telegraf.influx",
      partitions: [2, 1, 0],
    }]),
    true,
  );
  assert.equal(ownership.refusal(), undefined);
});

/** A local handler over a recording producer and store. */
function setup() {
  const sent: OutgoingMessage[] = [];
  const stored: { events: Envelope[]; alerts: Alert[] }[] = [];
  const seen = new Set<string>();
  const ownership = new RawOwnership(raw, 2);
  const counters = new MemoryCounters();
  const handler = createLocalHandler<Alert>({
    config,
    producer: {
      send({ messages }: { messages: OutgoingMessage[] }) {
        sent.push(...messages);
        return Promise.resolve();
      },
    },
    sink: {
      filterUnseen: (events) => Promise.resolve(events.filter((e) => !seen.has(e.id))),
      write(events, alerts) {
        for (const e of events) seen.add(e.id);
        stored.push({ events: [...events], alerts: [...alerts] });
        return Promise.resolve({ inserted: events.length, alerts: [...alerts] });
      },
    },
    features: new FeatureEngine(config.features),
    rules: new RuleEngine(defaultRules()),
    counters,
    featuresPartitioner: new SeriesPartitioner(3),
    stages: { features: true, rules: true, store: true },
  }, ownership);
  const builder = new LocalBatchBuilder({ config, inventory: emptyInventory });
  return { handler, builder, ownership, sent, stored, counters };
}

Deno.test("local: raw -> envelopes with raw-position ids -> alerts, DLQ and store in one pass; a replay stores nothing", async () => {
  const { handler, builder, ownership, sent, stored, counters } = setup();
  ownership.assigned([{ topic: raw, partitions: [0, 1] }]);
  builder.add(message(1, 40, JSON.stringify([event("web-1", 20, 3), event("web-1", 99, 2)])));
  builder.add(message(0, 7, "{not json"));
  builder.add(message(0, 8, JSON.stringify(event("web-2", 10, 1))));
  const batch = builder.take();
  assert.deepEqual(batch.events.map((e) => e.id), [`${raw}:1:40:0`, `${raw}:1:40:1`, `${raw}:0:8:0`]);
  assert.deepEqual(batch.events.map((e) => e.source.index), [0, 1, 0], "each envelope keeps its own source");
  await handler(batch);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].events.length, 3);
  assert.deepEqual(stored[0].alerts.map((alert) => [alert.host, alert.severity, alert.state]), [
    ["web-1", "critical", "firing"],
  ]);
  const dlq = sent.filter((m) => m.topic === config.topics.dlq).map((m) => JSON.parse(String(m.value)));
  assert.equal(dlq.length, 1);
  assert.equal(dlq[0].stage, "normalize");
  assert.deepEqual(dlq[0].source, { topic: raw, partition: 0, offset: "7", index: 0 });
  assert.equal(sent.filter((m) => m.topic === config.topics.alerts).length, 1);
  assert.equal(sent.filter((m) => m.topic === config.topics.enriched).length, 0, "no enriched hop");
  assert.equal(counters.get("normalize", "in"), 3);
  assert.equal(counters.get("normalize", "dlq"), 1);
  assert.equal(counters.get("store", "in"), 3);

  // The same raw messages again (a replay after a crash): nothing stored twice, no alert again.
  builder.add(message(1, 40, JSON.stringify([event("web-1", 20, 3), event("web-1", 99, 2)])));
  await handler(builder.take());
  assert.equal(stored[1].events.length, 0);
  assert.equal(sent.filter((m) => m.topic === config.topics.alerts).length, 1);
});

Deno.test("local: a batch is refused (nothing produced or stored) while another agent owns a raw partition", async () => {
  const { handler, builder, ownership, sent, stored } = setup();
  ownership.assigned([{ topic: raw, partitions: [1] }]);
  builder.add(message(1, 1, JSON.stringify(event("web-1", 99, 1))));
  const batch = builder.take();
  await assert.rejects(handler(batch), SharedTopicError);
  assert.deepEqual([sent.length, stored.length], [0, 0]);
  // The agent owns the topic again: the retried batch goes through, once.
  ownership.assigned([{ topic: raw, partitions: [0, 1] }]);
  await handler(batch);
  assert.equal(stored.length, 1);
  assert.equal(stored[0].alerts.length, 1);
});

Deno.test("auto: from the first batch this agent does not own, batches go to events.enriched, for good; ids kept", async () => {
  const { builder, ownership, sent, stored } = setup();
  const forwarded: OutgoingMessage[] = [];
  const counters = new MemoryCounters();
  const send = forwardToEnriched({
    config,
    producer: {
      send({ messages }: { messages: OutgoingMessage[] }) {
        forwarded.push(...messages);
        return Promise.resolve();
      },
    },
    counters,
    enrichedPartitions: 3,
  });
  const handler = createLocalHandler<Alert>(
    {
      config,
      producer: { send: () => Promise.reject(new Error("the local path must not run")) },
      sink: {
        filterUnseen: () => Promise.reject(new Error("the local path must not run")),
        write: () => Promise.reject(new Error("the local path must not run")),
      },
      features: new FeatureEngine(config.features),
      rules: new RuleEngine(defaultRules()),
      counters,
      featuresPartitioner: new SeriesPartitioner(3),
      stages: { features: true, rules: true, store: true },
    },
    ownership,
    send,
  );
  ownership.assigned([{ topic: raw, partitions: [0] }]);
  builder.add(message(0, 5, JSON.stringify([event("web-1", 20, 2), event("web-2", 30, 1)])));
  builder.add(message(0, 6, "{not json"));
  await handler(builder.take());
  // Owning the whole topic again does not go back to local (the stateful group runs now).
  ownership.assigned([{ topic: raw, partitions: [0, 1] }]);
  builder.add(message(1, 9, JSON.stringify(event("web-1", 40, 0))));
  await handler(builder.take());
  assert.deepEqual([sent.length, stored.length], [0, 0]);
  const enriched = forwarded.filter((m) => m.topic === config.topics.enriched);
  const decoded = decodeEnriched(
    enriched.map((m, offset) => ({
      topic: config.topics.enriched,
      partition: m.partition ?? 0,
      offset: BigInt(offset),
      value: m.value as Buffer,
    })),
    Date.now(),
  );
  assert.deepEqual(decoded.events.map((e) => e.id).sort(), [`${raw}:0:5:0`, `${raw}:0:5:1`, `${raw}:1:9:0`]);
  assert.equal(forwarded.filter((m) => m.topic === config.topics.dlq).length, 1);
  assert.equal(counters.get("normalize", "in"), 3);
});

Deno.test("starting topology: auto and local run local with every stage here, auto splits otherwise, local refuses", () => {
  const parse = (input: Record<string, unknown>) => startingTopology(ConfigSchema.parse(input));
  assert.equal(parse({}), "local", "auto by default: local with every stage here");
  assert.equal(parse({ topology: "partitioned" }), "partitioned");
  assert.equal(parse({ topology: "local" }), "local");
  assert.equal(parse({ topology: "auto" }), "local");
  assert.equal(parse({ topology: "auto", stages: ["normalize", "enrich"] }), "partitioned");
  assert.equal(parse({ topology: "auto", stages: ["store", "api"] }), "partitioned");
  assert.throws(() => parse({ topology: "local", stages: ["normalize", "enrich"] }), /stages must include/);
});

Deno.test("local: a batch completed anew on each attempt (deferred framed messages) is retried with its first attempt's alerts", async () => {
  const sent: OutgoingMessage[] = [];
  const stored: Alert[][] = [];
  let failNextWrite = true;
  const ownership = new RawOwnership(raw, 1);
  ownership.assigned([{ topic: raw, partitions: [0] }]);
  const handler = createLocalHandler<Alert>(
    {
      config,
      producer: {
        send({ messages }: { messages: OutgoingMessage[] }) {
          sent.push(...messages);
          return Promise.resolve();
        },
      },
      sink: {
        filterUnseen: (events) => Promise.resolve([...events]),
        write(events, alerts) {
          if (failNextWrite) {
            failNextWrite = false;
            return Promise.reject(new Error("disk full"));
          }
          stored.push([...alerts]);
          return Promise.resolve({ inserted: events.length, alerts: [...alerts] });
        },
      },
      features: new FeatureEngine(config.features),
      rules: new RuleEngine(defaultRules()),
      counters: new MemoryCounters(),
      featuresPartitioner: new SeriesPartitioner(1),
      stages: { features: true, rules: true, store: true },
    },
    ownership,
    undefined,
    // As deferredBuilder does for a batch with deferred messages: a new batch object on each attempt.
    (batch) => Promise.resolve({ ...batch }),
  );
  const builder = new LocalBatchBuilder({ config, inventory: emptyInventory });
  builder.add(message(0, 1, JSON.stringify(event("web-1", 99, 1))));
  const batch = builder.take();
  await assert.rejects(handler(batch), /disk full/);
  await handler(batch); // the BatchConsumer retries the same batch
  assert.deepEqual(stored.map((alerts) => alerts.map((alert) => alert.severity)), [["critical"]]);
  assert.equal(sent.filter((m) => m.topic === config.topics.alerts).length, 1, "produced once");
});
