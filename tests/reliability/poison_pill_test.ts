/**
 * Poison pills through the real broker: messages whose dead-letter record is larger than the broker
 * accepts (escaping and base64 grow them past `max.message.bytes`), sent with `kcat` and with
 * `POST /ingest`. Each one lands on the DLQ truncated, with the reason, the original's size, SHA-256
 * and position; nothing is retried forever, and the events after them are stored.
 *
 * The second test lowers `max.message.bytes` of the agent's output topics to 64 KiB: the agent reads
 * the limit from the broker at start and splits its enriched batches (and truncates dead letters)
 * to fit.
 */
import assert from "node:assert/strict";
import { Admin, ConfigResourceTypes } from "@platformatic/kafka";
import {
  BROKERS,
  eventually,
  runEventops,
  startAgent,
  uniqueName,
  writeTestConfig,
} from "../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce, kcatProduceRaw as kcatProduceOne } from "../../testing/kcat.ts";
import { logLines, removeTestDir } from "../e2e/store_helpers.ts";
import { prng } from "../../lib/prng.ts";
import { assertTruncatedDeadLetter, ingest, readDeadLetters, storedWhere, validEvent } from "./helpers.ts";

const encoder = new TextEncoder();

/** `max.message.bytes` of `topic` as the broker reports it. */
async function topicMaxMessageBytes(topic: string): Promise<number> {
  const admin = new Admin({ clientId: "pills-admin", bootstrapBrokers: [BROKERS], strict: false });
  try {
    const [described] = await admin.describeConfigs({
      resources: [{
        resourceType: ConfigResourceTypes.TOPIC,
        resourceName: topic,
        configurationKeys: ["max.message.bytes"],
      }],
    });
    return Number(described.configs.find((config) => config.name === "max.message.bytes")?.value);
  } finally {
    await admin.close();
  }
}

/** A JSON object that is not an event, with 960 KB of escaped quotes in a string (escaping doubles them). */
function escapedQuotes(): string {
  return `{"tenant_id":"acme","host":"pill","note":"${'\\"'.repeat(480_000)}"}`;
}

/** The pills, each one whole message, with what it is. */
function pills(nowMs: number): { kind: string; bytes: Uint8Array }[] {
  const random = prng(22);
  const noise = new Uint8Array(800_000);
  for (let i = 0; i < noise.length; i++) noise[i] = Math.floor(random() * 256);
  const tags: Record<string, string> = {};
  for (let i = 0; i < 3_030; i++) tags[`t${String(i).padStart(5, "0")}`] = "v".repeat(300);
  const tagBomb = validEvent("pill", 1, nowMs, { tags });
  return [
    { kind: "escaped quotes", bytes: encoder.encode(escapedQuotes()) },
    { kind: "random bytes", bytes: noise },
    { kind: "control bytes", bytes: new Uint8Array(200_000).fill(1) },
    { kind: "tag bomb", bytes: encoder.encode(tagBomb) },
  ];
}

Deno.test("poison pills: oversized dead letters are truncated with digest and position, what follows is stored", async (t) => {
  const name = uniqueName("pills");
  const { file, port, topics } = await writeTestConfig(name);
  try {
    const init = await runEventops(["init", "--config", file]);
    assert.equal(init.code, 0, init.stderr);
    const agent = await startAgent(file, port);
    try {
      const now = Date.now();
      const produced = pills(now);
      assert.ok(produced[0].bytes.length >= 960_000 && produced[3].bytes.length >= 940_000);
      await t.step("the pills go in with kcat and POST /ingest, followed by valid events", async () => {
        await kcatProduce(topics.raw, [validEvent("before", 1, now - 1_000)], "pill");
        for (const pill of produced) await kcatProduceOne(topics.raw, pill.bytes, "pill");
        // Not an event: POST /ingest answers it rejected with the reason, and still sends it on to the DLQ.
        const http = await ingest(agent.baseUrl, escapedQuotes());
        assert.equal(http.status, 400, JSON.stringify(http.body).slice(0, 300));
        const [result] = http.body.results as { status: string; dlq?: boolean; error?: string }[];
        assert.equal(result.status, "rejected");
        assert.equal(result.dlq, true);
        assert.match(result.error ?? "", /message is \d+ bytes, over the|missing field/);
        const after = Array.from({ length: 50 }, (_, i) => validEvent("after", i, now + i));
        await kcatProduce(topics.raw, after, "pill");
        const afterHttp = Array.from({ length: 5 }, (_, i) => validEvent("after-http", i, now + i)).join(
          "\n",
        );
        const accepted = await ingest(agent.baseUrl, afterHttp, "application/x-ndjson");
        assert.equal(accepted.status, 202, JSON.stringify(accepted.body));
      });

      await t.step("the events after the pills are stored (ingestion did not stop)", async () => {
        await eventually(
          async () =>
            (await storedWhere(agent.baseUrl, "host = 'after'")) === 50 &&
              (await storedWhere(agent.baseUrl, "host = 'after-http'")) === 5
              ? true
              : undefined,
          60_000,
          "the 55 events produced after the pills",
        );
        assert.equal(await storedWhere(agent.baseUrl, "host = 'before'"), 1);
        assert.equal(await storedWhere(agent.baseUrl, "host = 'pill'"), 0);
      });

      await t.step(
        "each pill is on the DLQ once, truncated to fit, with reason, size, digest, position",
        async () => {
          const limit = await topicMaxMessageBytes(topics.dlq);
          const texts = await kcatConsumeAll(topics.dlq);
          const records = await readDeadLetters(topics.dlq);
          assert.equal(records.length, 5, records.map((r) => r.reason.slice(0, 120)).join("\n"));
          for (let i = 0; i < records.length; i++) {
            await assertTruncatedDeadLetter(records[i], encoder.encode(texts[i]).length, limit);
            assert.equal(records[i].source.topic, topics.raw);
          }
          const sizes = records.map((record) => record.original_bytes).sort((a, b) => Number(a) - Number(b));
          const expected = [
            ...produced.map((pill) => pill.bytes.length),
            encoder.encode(escapedQuotes()).length,
          ]
            .sort((a, b) => a - b);
          assert.deepEqual(sizes, expected);
          assert.ok(records.some((record) => record.encoding === "base64"), "the random bytes are base64");
        },
      );

      await t.step("no batch was retried, and the agent is ready", async () => {
        const retries = logLines(agent.logs()).filter((line) =>
          /retrying the same batch/.test(String(line.msg))
        );
        assert.deepEqual(retries.map((line) => String(line.msg)), []);
        const ready = await fetch(`${agent.baseUrl}/readyz`);
        assert.equal(ready.status, 200, await ready.text());
      });
    } finally {
      await agent.stop();
    }
  } finally {
    await removeTestDir(name);
  }
});

Deno.test("a 64 KiB max.message.bytes on the output topics: enriched batches are split, dead letters truncated to fit", async () => {
  const name = uniqueName("small-limit");
  // Enriched batches exist in the partitioned topology (the default, auto, runs local on a lone agent).
  const { file, port, topics } = await writeTestConfig(name, { topology: "partitioned" });
  const limit = 65_536;
  const admin = new Admin({ clientId: "small-limit-admin", bootstrapBrokers: [BROKERS], strict: false });
  try {
    await admin.createTopics({ topics: [topics.raw], partitions: 3, replicas: 1 });
    await admin.createTopics({
      topics: [topics.enriched, topics.features, topics.alerts, topics.dlq],
      partitions: 3,
      replicas: 1,
      configs: [{ name: "max.message.bytes", value: String(limit) }],
    });
  } finally {
    await admin.close();
  }
  try {
    const agent = await startAgent(file, port);
    try {
      const now = Date.now();
      // 32 tags of ~200 characters: ~13 KB per enriched event, 60 of them in one NDJSON message.
      const tags: Record<string, string> = {};
      for (let i = 0; i < 31; i++) tags[`k${i}`] = `${i}`.padEnd(200, "x");
      const lines = Array.from(
        { length: 60 },
        (_, i) => validEvent("wide", i, now + i, { tags: { ...tags, i: `${i}` } }),
      );
      await kcatProduceOne(topics.raw, encoder.encode(lines.join("\n")), "wide");
      await kcatProduceOne(topics.raw, encoder.encode(escapedQuotes().slice(0, 100_000) + '"}'), "wide");
      await kcatProduce(topics.raw, [validEvent("after", 1, now)], "wide");
      await eventually(
        async () => (await storedWhere(agent.baseUrl, "host = 'after'")) === 1 ? true : undefined,
        60_000,
        "the event after the wide ones",
      );
      assert.equal(await storedWhere(agent.baseUrl, "host = 'wide'"), 60);
      const texts = await kcatConsumeAll(topics.dlq);
      const records = await readDeadLetters(topics.dlq);
      assert.equal(records.length, 1);
      await assertTruncatedDeadLetter(records[0], encoder.encode(texts[0]).length, limit);
      const enriched = await kcatConsumeAll(topics.enriched);
      assert.ok(enriched.length >= 6, `${enriched.length} enriched messages for ~400 KB of events`);
      for (const message of enriched) assert.ok(encoder.encode(message).length <= limit);
    } finally {
      await agent.stop();
    }
  } finally {
    await removeTestDir(name);
  }
});

Deno.test("POST /ingest: a full body of small items is written in requests that fit; an item too large for the raw topic is refused with the reason", async (t) => {
  const name = uniqueName("ingest-fit");
  const { file, port, topics } = await writeTestConfig(name);
  const limit = 65_536;
  const admin = new Admin({ clientId: "ingest-fit-admin", bootstrapBrokers: [BROKERS], strict: false });
  try {
    await admin.createTopics({
      topics: [topics.raw],
      partitions: 3,
      replicas: 1,
      configs: [{ name: "max.message.bytes", value: String(limit) }],
    });
  } finally {
    await admin.close();
  }
  try {
    const agent = await startAgent(file, port);
    try {
      const now = Date.now();
      const lines: string[] = [];
      let bytes = 0;
      for (let i = 0;; i++) {
        const line = validEvent(`many-${i % 40}`, i, now + i);
        if (bytes + line.length + 1 > 1_040_000) break;
        lines.push(line);
        bytes += line.length + 1;
      }
      await t.step(
        `a ~1 MB NDJSON body of ${lines.length} items (16 times the topic's limit): all accepted`,
        async () => {
          const answer = await ingest(agent.baseUrl, lines.join("\n"), "application/x-ndjson");
          assert.equal(answer.status, 202, JSON.stringify(answer.body).slice(0, 300));
          const results = answer.body.results as { status: string; partition: number; offset: string }[];
          assert.equal(answer.body.accepted, lines.length);
          assert.equal(new Set(results.map((r) => r.partition)).size, 1, "one request, one partition");
          const offsets = results.map((r) => Number(r.offset));
          assert.deepEqual(offsets, offsets.map((_, i) => offsets[0] + i), "consecutive offsets in order");
          await eventually(
            async () =>
              (await storedWhere(agent.baseUrl, "host LIKE 'many-%'")) === lines.length ? true : undefined,
            60_000,
            `the ${lines.length} items stored`,
          );
        },
      );
      await t.step(
        "an item larger than the raw topic takes: rejected with the reason, the others accepted",
        async () => {
          const big = validEvent("mixed", 2, now, { tags: { pad: "x".repeat(100_000) } });
          const mixed = [validEvent("mixed", 1, now), big, validEvent("mixed", 3, now + 1)].join("\n");
          const answer = await ingest(agent.baseUrl, mixed, "application/x-ndjson");
          assert.equal(answer.status, 207, JSON.stringify(answer.body).slice(0, 300));
          const results = answer.body.results as { status: string; error?: string }[];
          assert.deepEqual(results.map((r) => r.status), ["accepted", "rejected", "accepted"]);
          assert.match(results[1].error ?? "", /more than the .* topic takes/);
          const alone = await ingest(agent.baseUrl, big);
          assert.equal(alone.status, 400, JSON.stringify(alone.body).slice(0, 300));
          assert.match(JSON.stringify(alone.body), /max\.message\.bytes/);
          await eventually(
            async () => (await storedWhere(agent.baseUrl, "host = 'mixed'")) === 2 ? true : undefined,
            60_000,
            "the two small mixed items",
          );
        },
      );
    } finally {
      await agent.stop();
    }
  } finally {
    await removeTestDir(name);
  }
});
