/**
 * Producing so that no record stops a group: a request the broker refuses because of a record is
 * split down to the single message, which goes to the DLQ with the reason; other errors reject (the
 * batch is retried). The broker's refusals are the client's own error classes.
 *
 * @module
 */
import assert from "node:assert/strict";
import { MultipleErrors, NetworkError, ProtocolError } from "@platformatic/kafka";
import type { OutgoingMessage } from "../../../kafka/clients.ts";
import { produceAll, recordRefusal } from "../../../kafka/produce.ts";
import { DeadLetterSchema } from "../../../model/dlq.ts";

const options = { dlqTopic: "dlq", dlqMaxBytes: 100_000, maxRequestBytes: 1_000_000, stage: "produce" };

/** A broker that refuses any request holding a value over `limit` bytes (per topic), as Kafka does. */
function broker(limits: Record<string, number>) {
  const accepted: OutgoingMessage[] = [];
  let requests = 0;
  return {
    accepted,
    requests: () => requests,
    send({ messages }: { messages: OutgoingMessage[] }): Promise<unknown> {
      requests++;
      if (messages.some((message) => message.value.length > (limits[message.topic] ?? Infinity))) {
        return Promise.reject(
          new MultipleErrors("Producing messages failed.", [new ProtocolError("MESSAGE_TOO_LARGE")]),
        );
      }
      accepted.push(...messages);
      return Promise.resolve({});
    },
  };
}

function message(topic: string, text: string): OutgoingMessage {
  return { topic, partition: 1, value: Buffer.from(text) };
}

Deno.test("produce: a refused message is split out and dead-lettered; the others go through in order", async () => {
  const sender = broker({ enriched: 1_000 });
  const messages = ["a", "b", "x".repeat(5_000), "c", "d"].map((text) => message("enriched", text));
  assert.equal(await produceAll(sender, messages, options), 1);
  const enriched = sender.accepted.filter((m) => m.topic === "enriched").map((m) => m.value.toString());
  assert.deepEqual(enriched, ["a", "b", "c", "d"]);
  const [dead] = sender.accepted.filter((m) => m.topic === "dlq").map((m) =>
    DeadLetterSchema.parse(JSON.parse(m.value.toString()))
  );
  assert.equal(dead.stage, "produce");
  assert.match(dead.reason, /the broker refused a 5000-byte message for enriched\[1\] \(MESSAGE_TOO_LARGE: /);
  assert.deepEqual(dead.source, { topic: "enriched", partition: 1, offset: "-1" });
  assert.equal(dead.original, "x".repeat(5_000));
});

Deno.test("produce: a refused dead letter keeps its source and is sent again, smaller", async () => {
  const sender = broker({ dlq: 10_000 });
  const record = {
    stage: "normalize",
    reason: "bad",
    source: { topic: "raw", partition: 0, offset: "7" },
    original: "y".repeat(50_000),
    encoding: "utf8",
    ts: 1,
  };
  assert.equal(await produceAll(sender, [message("dlq", JSON.stringify(record))], options), 1);
  assert.equal(sender.accepted.length, 1);
  const dead = DeadLetterSchema.parse(JSON.parse(sender.accepted[0].value.toString()));
  assert.deepEqual(dead.source, record.source);
  assert.equal(dead.truncated, true);
  assert.equal(dead.original_bytes, 50_000);
  assert.match(dead.reason, /^bad; the broker refused a \d+-byte message for dlq\[1\] \(MESSAGE_TOO_LARGE/);
});

Deno.test("produce: other errors reject (the batch is retried), and are not refusals", async () => {
  const failing = { send: () => Promise.reject(new NetworkError("connect ECONNREFUSED 127.0.0.1:9092")) };
  await assert.rejects(produceAll(failing, [message("enriched", "a")], options), /ECONNREFUSED/);
  assert.equal(recordRefusal(new NetworkError("down")), undefined);
  assert.equal(recordRefusal(new Error("MESSAGE_TOO_LARGE")), undefined);
  assert.match(
    recordRefusal(new MultipleErrors("x", [new ProtocolError("INVALID_RECORD")])) ?? "",
    /^INVALID_RECORD: /,
  );
});
