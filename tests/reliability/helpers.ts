/**
 * Helpers of the reliability suite: hostile messages, DLQ reading and checks, single messages by
 * position, and counts from the store of a running agent.
 *
 * @module
 */
import assert from "node:assert/strict";
import { BROKERS } from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";
import { Producer } from "@platformatic/kafka";
import { httpNumber, httpQuery, TOKEN } from "../e2e/store_helpers.ts";
import { DeadLetterSchema } from "../../model/dlq.ts";
import { sha256Hex } from "../../lib/digest.ts";
import type { DeadLetter } from "../../model/dlq.ts";

const encoder = new TextEncoder();

export { sha256Hex };

/** The value of the message at `offset` of `topic`'s `partition`, read with `kcat`. */
export async function kcatMessageAt(topic: string, partition: number, offset: string): Promise<Uint8Array> {
  const output = await new Deno.Command("kcat", {
    args: [
      "-b",
      BROKERS,
      "-t",
      topic,
      "-p",
      String(partition),
      "-o",
      offset,
      "-c",
      "1",
      "-e",
      "-q",
      "-C",
      "-f",
      "%s",
    ],
    stderr: "piped",
  }).output();
  if (output.code !== 0) throw new Error(`kcat -C failed: ${new TextDecoder().decode(output.stderr)}`);
  return output.stdout;
}

/** Every record on the DLQ topic, checked against the dead-letter schema. */
export async function readDeadLetters(topic: string): Promise<DeadLetter[]> {
  return (await kcatConsumeAll(topic)).map((text) => DeadLetterSchema.parse(JSON.parse(text)));
}

/** `topic:partition:offset:index` of a dead letter's source element. */
export function deadLetterKey(record: DeadLetter): string {
  const { topic, partition, offset, index } = record.source;
  return `${topic}:${partition}:${offset}:${index ?? 0}`;
}

/** Counts rows of `metrics_all` matching `where` (SQL built from the test's own constants only). */
export function storedWhere(baseUrl: string, where: string): Promise<number> {
  return httpNumber(baseUrl, `SELECT count(*) FROM metrics_all WHERE ${where}`);
}

/** `POST /ingest` with the test token; returns the status and the parsed body. */
export async function ingest(
  baseUrl: string,
  body: string | Uint8Array<ArrayBuffer>,
  contentType = "application/json",
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${baseUrl}/ingest`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": contentType },
    body,
  });
  return { status: response.status, body: await response.json() };
}

/** A valid raw event line (event time `ts`, epoch ms). */
export function validEvent(
  host: string,
  value: number,
  ts: number,
  extra: Record<string, unknown> = {},
): string {
  return JSON.stringify({ tenant_id: "acme", host, metric: "cpu_load", value, ts_event: ts, ...extra });
}

/**
 * Asserts a truncated dead letter keeps what it promises: at most `maxRecordBytes`, the reason, and
 * the size, SHA-256 and position of the original message (a whole-message reject).
 */
export async function assertTruncatedDeadLetter(
  record: DeadLetter,
  recordBytes: number,
  maxRecordBytes: number,
): Promise<void> {
  const shown = JSON.stringify({ ...record, original: record.original.slice(0, 80) });
  assert.ok(
    recordBytes <= maxRecordBytes,
    `the record is ${recordBytes} bytes, over ${maxRecordBytes}: ${shown}`,
  );
  assert.equal(record.truncated, true, shown);
  assert.match(record.reason, /truncated/, shown);
  const original = await kcatMessageAt(record.source.topic, record.source.partition, record.source.offset);
  assert.equal(record.original_bytes, original.length, `the original's length: ${shown}`);
  assert.equal(record.original_sha256, sha256Hex(original), `the original's digest: ${shown}`);
}

/** Per raw message (`partition:offset`), its number of events: what the store must hold, exactly. */
export type ExpectedEvents = Map<string, number>;

/** A message to produce on an explicit partition; `value` null is a message without a value. */
export interface RawOut {
  partition: number;
  value: Uint8Array | null;
}

/**
 * Produces `messages` (in requests of ~512 KB, acks from all replicas) to `topic` on `brokers`;
 * returns each message's position (`partition:offset`, from the offsets the broker returned), in order.
 */
export async function produceRaw(
  brokers: string,
  topic: string,
  messages: readonly RawOut[],
): Promise<string[]> {
  const producer = new Producer({
    clientId: "reliability-producer",
    bootstrapBrokers: [brokers],
    acks: -1,
    autocreateTopics: false,
    retries: 5,
    strict: false,
  });
  const positions: string[] = [];
  try {
    let chunk: RawOut[] = [];
    let bytes = 0;
    const send = async () => {
      const result = await producer.send({
        messages: chunk.map((m) => ({
          topic,
          partition: m.partition,
          value: (m.value === null ? undefined : Buffer.from(m.value)) as Buffer,
        })),
      });
      const next = new Map<number, bigint>();
      for (const entry of result.offsets ?? []) next.set(entry.partition, entry.offset);
      for (const message of chunk) {
        const offset = next.get(message.partition);
        if (offset === undefined) throw new Error(`no offset for partition ${message.partition}`);
        positions.push(`${message.partition}:${offset}`);
        next.set(message.partition, offset + 1n);
      }
      chunk = [];
      bytes = 0;
    };
    for (const message of messages) {
      chunk.push(message);
      bytes += message.value?.length ?? 0;
      if (bytes > 512 * 1024) await send();
    }
    if (chunk.length > 0) await send();
  } finally {
    await producer.close();
  }
  return positions;
}

/** One raw message of valid events: NDJSON `lines` on an explicit `partition`. */
export interface TrackedMessage {
  partition: number;
  lines: string[];
}

/** Produces NDJSON `messages` and adds each one's position and number of events to `expected`. */
export async function produceTracked(
  brokers: string,
  topic: string,
  messages: readonly TrackedMessage[],
  expected: ExpectedEvents = new Map(),
): Promise<ExpectedEvents> {
  const positions = await produceRaw(
    brokers,
    topic,
    messages.map((m) => ({ partition: m.partition, value: encoder.encode(m.lines.join("\n")) })),
  );
  positions.forEach((position, index) => expected.set(position, messages[index].lines.length));
  return expected;
}

/** Valid NDJSON messages: `events` events of `hosts` hosts, `perMessage` per message, round robin on `partitions`. */
export function trackedWorkload(
  events: number,
  options: { perMessage: number; hosts: number; partitions: number; startMs: number; prefix?: string },
): TrackedMessage[] {
  const messages: TrackedMessage[] = [];
  const counts = new Array<number>(options.hosts).fill(0);
  for (let produced = 0, m = 0; produced < events; m++) {
    const h = m % options.hosts;
    const host = `${options.prefix ?? "r"}${String(h).padStart(3, "0")}`;
    const n = Math.min(options.perMessage, events - produced);
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = counts[h]++;
      lines.push(
        `{"tenant_id":"acme","host":"${host}","metric":"cpu_load","value":${k % 50},"ts_event":${
          options.startMs + k * 10
        }}`,
      );
    }
    // A host's messages always on one partition: its events stay in event-time order.
    messages.push({ partition: h % options.partitions, lines });
    produced += n;
  }
  return messages;
}

/** How the store's events of `topic` compare with the expected ones (by source position, i.e. event id). */
export interface IdCheck {
  stored: number;
  expected: number;
  missing: number;
  duplicates: number;
  unexpected: number;
}

/** Compares the store's events of `topic` with `expected` by source position (the event id). */
export async function checkStoredIds(
  baseUrl: string,
  topic: string,
  expected: ExpectedEvents,
): Promise<IdCheck> {
  const reply = await httpQuery(
    baseUrl,
    `SELECT src_partition, src_offset, count(*) AS n, count(DISTINCT src_index) AS d, max(src_index) AS top
     FROM metrics_all WHERE src_topic = '${topic.replaceAll("'", "''")}' GROUP BY ALL`,
  );
  const check: IdCheck = { stored: 0, expected: 0, missing: 0, duplicates: 0, unexpected: 0 };
  const seen = new Map<string, number>();
  for (const [partition, offset, n, distinct, top] of reply.rows) {
    const key = `${partition}:${offset}`;
    check.stored += Number(n);
    check.duplicates += Number(n) - Number(distinct);
    const lines = expected.get(key);
    if (lines === undefined || Number(top) >= lines) check.unexpected += Number(distinct);
    else seen.set(key, Number(distinct));
  }
  for (const [key, lines] of expected) {
    check.expected += lines;
    check.missing += lines - (seen.get(key) ?? 0);
  }
  return check;
}
