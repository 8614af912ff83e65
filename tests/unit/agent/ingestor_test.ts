import assert from "node:assert/strict";
import type { Admin } from "@platformatic/kafka";
import { createIngestor } from "../../../agent/api.ts";
import type { ByteProducer } from "../../../kafka/clients.ts";
import { ConfigSchema } from "../../../config/schema.ts";

/** An admin whose Metadata answers only when the test says so. */
function slowLimitsAdmin(): { admin: Admin; answerLimits: () => void } {
  let answer = () => {};
  const metadata = new Promise<void>((resolve) => answer = resolve);
  const admin = {
    metadata: async () => {
      await metadata;
      return { topics: new Map([["raw", { partitionsCount: 1 }]]) };
    },
  };
  return { admin: admin as unknown as Admin, answerLimits: () => answer() };
}

function recordingProducer(): ByteProducer {
  let offset = 0n;
  const producer = {
    send: (request: { messages: unknown[] }) => {
      const base = offset;
      offset += BigInt(request.messages.length);
      return Promise.resolve({ offsets: [{ topic: "raw", partition: 0, offset: base }] });
    },
  };
  return producer as unknown as ByteProducer;
}

Deno.test("ingestor: a request that arrives while the first one reads the topic's layout is not refused as oversized", async () => {
  const { admin, answerLimits } = slowLimitsAdmin();
  const ingestor = createIngestor(
    admin,
    recordingProducer(),
    { raw: "raw", dlq: "dlq" },
    () => ({ raw: 1_048_588, dlq: 1_048_588 }),
    ConfigSchema.parse({}).normalize,
  );
  const message = new TextEncoder().encode('{"metric":"m"}');
  const first = ingestor.produce([message]);
  // Let the first request wait on the metadata, then send the second.
  for (let i = 0; i < 10; i++) await Promise.resolve();
  const second = ingestor.produce([message]);
  answerLimits();
  assert.deepEqual(await first, [{ partition: 0, offset: "0" }]);
  assert.deepEqual(await second, [{ partition: 0, offset: "1" }]);
});

Deno.test("ingestor: before the agent has the topics' limits (broker not reached), nothing is written", async () => {
  const { admin } = slowLimitsAdmin();
  const ingestor = createIngestor(
    admin,
    recordingProducer(),
    { raw: "raw", dlq: "dlq" },
    () => undefined,
    ConfigSchema.parse({}).normalize,
  );
  await assert.rejects(ingestor.produce([new TextEncoder().encode("{}")]), /not reached the broker/);
});
