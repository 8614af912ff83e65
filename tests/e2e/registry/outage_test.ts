/**
 * The schema registry down for 30 s mid-stream, through the real broker and the real registry:
 * framed messages whose schema the agent has not cached wait (the batch is retried with backoff,
 * counted, /readyz says why), nothing valid goes to the DLQ, nothing is lost, and the stream resumes
 * by itself when the registry is back.
 */
import assert from "node:assert/strict";
import avro from "avsc";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce, kcatProduceRaw } from "../../../testing/kcat.ts";
import { confluentProduce, startRegistry } from "../../../testing/schema_registry.ts";
import { frame } from "../../../registry/wire.ts";
import { briefEvent, RAW_AVRO_V1, RAW_AVRO_V2 } from "./fixtures.ts";

const OUTAGE_MS = 30_000;

async function stored(base: string, host: string): Promise<number> {
  const body = await (await fetch(`${base}/metrics/cpu?tenant=acme&host=${host}`)).json();
  return (body.points as unknown[] | undefined)?.length ?? 0;
}

/** The registry's schemas in id order, to put back after its in-memory store was lost. */
async function registered(url: string, subject: string): Promise<{ id: number; schema: string }[]> {
  const versions: number[] = await (await fetch(`${url}/subjects/${subject}/versions`)).json();
  const out = [];
  for (const version of versions) {
    out.push(await (await fetch(`${url}/subjects/${subject}/versions/${version}`)).json());
  }
  return out;
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`registry down 30 s mid-stream: nothing lost, nothing valid dead-lettered, resumes by itself (topology ${topology})`, async () => {
    const registry = await startRegistry();
    const name = uniqueName(`registry-outage-${topology}`);
    const { file, port, topics } = await writeTestConfig(name, {
      topology,
      schema_registry: { url: registry.url, timeout: "1s" },
      kafka: { progress_timeout: "3s" },
    });
    const agent = await startAgent(file, port);
    try {
      const v1 = await confluentProduce({
        registry: registry.url,
        topic: topics.raw,
        format: "avro",
        schema: JSON.stringify(RAW_AVRO_V1),
        events: [briefEvent("host-a", 50, 0), briefEvent("host-a", 51, 1)],
        key: "host-a",
      });
      await eventually(
        async () => (await stored(agent.baseUrl, "host-a")) === 2 || undefined,
        30_000,
        "v1 stored",
      );
      // v2 registered (by the producer's side) but never seen by the agent: not in its cache.
      const v2 = await fetch(`${registry.url}/subjects/${topics.raw}-value/versions`, {
        method: "POST",
        headers: { "Content-Type": "application/vnd.schemaregistry.v1+json" },
        body: JSON.stringify({ schema: JSON.stringify(RAW_AVRO_V2) }),
      }).then((response) => response.json()) as { id: number };
      assert.notEqual(v2.id, v1.schema_id);
      const subjects = await registered(registry.url, `${topics.raw}-value`);

      await registry.stop();
      const down = Date.now();
      // Mid-stream, the registry gone: v2 events (framed as the Confluent serializer does), v1 events
      // (cached: decoded at once), and unframed JSON behind them.
      const v2Type = avro.Type.forSchema(RAW_AVRO_V2 as avro.Schema);
      for (const [minute, value] of [[2, 52], [3, 53], [4, 54]]) {
        const event = { ...briefEvent("host-a", value, minute), site: minute === 2 ? "paris" : null };
        await kcatProduceRaw(topics.raw, frame(v2.id, v2Type.toBuffer(event)), "host-a");
      }
      await kcatProduce(topics.raw, [JSON.stringify(briefEvent("host-a", 55, 5))], "host-a");

      const notReady = await eventually(
        async () => {
          const response = await fetch(`${agent.baseUrl}/readyz`);
          const body = await response.json();
          return response.status === 503 ? body as { reasons: string[] } : undefined;
        },
        20_000,
        "/readyz 503 while the registry is down",
      );
      assert.match(notReady.reasons.join("; "), /schema registry .* unreachable/);
      const metrics = await (await fetch(`${agent.baseUrl}/prometheus`)).text();
      assert.match(
        metrics,
        /eventops_pipeline_events_total\{stage="schema_registry",kind="unavailable"\} [1-9]/,
      );
      assert.equal(
        await stored(agent.baseUrl, "host-a"),
        2,
        "nothing after the v2 event is stored out of order",
      );

      await new Promise((resolve) => setTimeout(resolve, Math.max(0, OUTAGE_MS - (Date.now() - down))));
      // Back on the same port; its in-memory store is empty, so its schemas are put back (same ids),
      // as a registry with durable storage (Redpanda's _schemas topic) would have them.
      await registry.restart();
      for (const subject of subjects) {
        const answer = await fetch(`${registry.url}/subjects/${topics.raw}-value/versions`, {
          method: "POST",
          headers: { "Content-Type": "application/vnd.schemaregistry.v1+json" },
          body: JSON.stringify({ schema: subject.schema }),
        }).then((response) => response.json()) as { id: number };
        assert.equal(answer.id, subject.id, "the restored registry gives the same ids");
      }

      await eventually(
        async () => (await stored(agent.baseUrl, "host-a")) === 6 || undefined,
        60_000,
        "all 6 stored",
      );
      const body = await (await fetch(`${agent.baseUrl}/metrics/cpu?tenant=acme&host=host-a`)).json();
      assert.deepEqual((body.points as { value: number }[]).map((point) => point.value), [
        50,
        51,
        52,
        53,
        54,
        55,
      ]);
      assert.deepEqual(await kcatConsumeAll(topics.dlq), [], "nothing valid on the DLQ");
      await eventually(
        async () => (await fetch(`${agent.baseUrl}/readyz`)).status === 200 || undefined,
        30_000,
        "ready again",
      );
    } finally {
      assert.equal(await agent.stop(), 0);
      await registry.stop();
    }
  });
}
