/**
 * Helpers of the store end-to-end tests: fast production of many NDJSON events, `POST /query`,
 * `eventops query`, and the exactly-once checks.
 *
 * @module
 */
import type { QueryResult, QueryValue } from "../../model/query.ts";
import assert from "node:assert/strict";
import { Admin, Producer } from "@platformatic/kafka";
import { BROKERS, runEventops } from "../../testing/agent.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The token `writeTestConfig` configures. */
export const TOKEN = "test-token";

/** One Kafka message: a key (the host, so a series stays on one partition) and an NDJSON value. */
export interface RawMessage {
  key: string;
  value: string;
}

/** How {@link ndjsonMessages} generates events. */
export interface GenerateOptions {
  /** Valid events in total. */
  events: number;
  /** Events per message (NDJSON lines). */
  perMessage: number;
  /** Hosts the events are spread over (`h000`, `h001`, …); every message holds one host's events. */
  hosts: number;
  /** Event time of the first event of every host, epoch ms. */
  startMs: number;
  /** Event-time step between consecutive events of a host, ms. */
  stepMs: number;
  /** Value of the n-th event of a host (default: always 50, never alerting). */
  value?: (n: number) => number;
  /** Also add one invalid line (to the DLQ) after every `invalidEvery`-th message. */
  invalidEvery?: number;
  tenant?: string;
  metric?: string;
  /** Host names are `<hostPrefix><000>` (default `h`). */
  hostPrefix?: string;
}

/** Result of {@link ndjsonMessages}. */
export interface Generated {
  messages: RawMessage[];
  valid: number;
  invalid: number;
}

/**
 * NDJSON messages of `perMessage` events each. Consecutive messages cycle through the hosts, so each
 * host's events are in event-time order on its partition.
 */
export function ndjsonMessages(options: GenerateOptions): Generated {
  const tenant = options.tenant ?? "acme";
  const metric = options.metric ?? "cpu_load";
  const value = options.value ?? (() => 50);
  const counts = new Array<number>(options.hosts).fill(0);
  const messages: RawMessage[] = [];
  let produced = 0;
  let invalid = 0;
  for (let m = 0; produced < options.events; m++) {
    const h = m % options.hosts;
    const host = `${options.hostPrefix ?? "h"}${String(h).padStart(3, "0")}`;
    const n = Math.min(options.perMessage, options.events - produced);
    const lines: string[] = [];
    for (let i = 0; i < n; i++) {
      const k = counts[h]++;
      lines.push(
        `{"tenant_id":"${tenant}","host":"${host}","metric":"${metric}","value":${value(k)},"ts_event":${
          options.startMs + k * options.stepMs
        },"unit":"percent"}`,
      );
    }
    if (options.invalidEvery !== undefined && m % options.invalidEvery === 0) {
      lines.push(`{"tenant_id":"${tenant}","host":"${host}","metric":"${metric}","value":"not a number"}`);
      invalid++;
    }
    produced += n;
    messages.push({ key: host, value: lines.join("\n") });
  }
  return { messages, valid: produced, invalid };
}

/** Produces messages with the `@platformatic/kafka` producer, in requests of at most ~768 KB (the broker takes 1 MB). */
export async function produceMessages(topic: string, messages: readonly RawMessage[]): Promise<void> {
  const producer = new Producer({
    clientId: "store-e2e-producer",
    bootstrapBrokers: [BROKERS],
    acks: 1,
    autocreateTopics: false,
    retries: 5,
    strict: false,
  });
  const send = (batch: RawMessage[]) =>
    producer.send({
      messages: batch.map((m) => ({ topic, key: Buffer.from(m.key), value: Buffer.from(m.value) })),
    });
  try {
    let batch: RawMessage[] = [];
    let bytes = 0;
    for (const message of messages) {
      if (batch.length > 0 && bytes + message.value.length > 768 * 1024) {
        await send(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(message);
      bytes += message.value.length;
    }
    if (batch.length > 0) await send(batch);
  } finally {
    await producer.close();
  }
}

/** The `POST /query` reply. */
export type QueryReply = QueryResult;

/** `POST /query` on a running agent; throws with the error body unless 200. */
export async function httpQuery(baseUrl: string, sql: string, token = TOKEN): Promise<QueryReply> {
  const response = await fetch(`${baseUrl}/query`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: JSON.stringify({ sql }),
  });
  const body = await response.json();
  if (response.status !== 200) throw new Error(`POST /query ${response.status}: ${JSON.stringify(body)}`);
  return body as QueryReply;
}

/** One number from `POST /query`. */
export async function httpNumber(baseUrl: string, sql: string): Promise<number> {
  return Number((await httpQuery(baseUrl, sql)).rows[0][0]);
}

/** `eventops query --format json` (through the agent when it runs, else the files); the rows as objects. */
export async function cliQuery(
  configFile: string,
  sql: string,
): Promise<Record<string, string | number | boolean | null>[]> {
  const result = await runEventops(["query", "--config", configFile, "--format", "json", sql]);
  assert.equal(result.code, 0, `eventops query failed: ${result.stderr}`);
  return JSON.parse(result.stdout);
}

/** Waits until `count(*)` of `table` reaches `expected`, polling every second (fails when it goes beyond). */
export async function waitForRows(
  baseUrl: string,
  expected: number,
  timeoutMs: number,
  table = "metrics_all",
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  let last = -1;
  for (;;) {
    try {
      last = await httpNumber(baseUrl, `SELECT count(*) FROM ${table}`);
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    assert.ok(last <= expected, `${last} rows stored, more than the ${expected} produced`);
    if (last === expected) return last;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${expected} rows (last seen ${last})`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** SQL of the exactly-once checks of events and alerts; every column must be 0 / true. */
export const EXACTLY_ONCE_SQL = `SELECT
  (SELECT count(*) FROM metrics_all) AS rows,
  (SELECT count(DISTINCT id) FROM metrics_all) AS ids,
  (SELECT count(*) FROM alerts) AS alerts,
  (SELECT count(DISTINCT id) FROM alerts) AS alert_ids,
  (SELECT count(*) FROM (SELECT fingerprint, state, severity, ts FROM alerts GROUP BY ALL HAVING count(*) > 1))
    AS repeated_transitions,
  (SELECT count(*) FROM (
     SELECT state = lag(state) OVER w AND severity = lag(severity) OVER w AS same FROM alerts
     WINDOW w AS (PARTITION BY fingerprint ORDER BY seq)) WHERE same) AS repeated_in_a_row`;

/**
 * Rows of the hot table stored before an earlier event of the same series (insertion order = rowid):
 * 0 when every series reached the store in event-time order, as the producer sent it.
 */
export const OUT_OF_ORDER_SQL = `SELECT count(*) AS late FROM (
  SELECT r.ts < max(r.ts) OVER (PARTITION BY s.tenant, s.host, s.metric ORDER BY r.rowid
    ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS late
  FROM metric_rows r JOIN series s ON s.id = r.series_id) WHERE late`;

/** Asserts rows == ids == expected and no alert was stored twice. */
export function assertExactlyOnce(
  row: Record<string, QueryValue>,
  expected: number,
  minAlerts = 0,
): void {
  assert.equal(row.rows, expected, `rows: ${JSON.stringify(row)}`);
  assert.equal(row.ids, expected, `distinct ids: ${JSON.stringify(row)}`);
  assert.equal(row.alerts, row.alert_ids, `alert ids: ${JSON.stringify(row)}`);
  assert.ok(Number(row.alerts) >= minAlerts, `at least ${minAlerts} alerts: ${JSON.stringify(row)}`);
  assert.equal(row.repeated_transitions, 0, `repeated transitions: ${JSON.stringify(row)}`);
  assert.equal(row.repeated_in_a_row, 0, `same state twice in a row: ${JSON.stringify(row)}`);
}

/** Sum of the offsets `group` committed on `topic` (partitions without a commit count 0). */
export async function committedOffsets(group: string, topic: string): Promise<bigint> {
  const admin = new Admin({ clientId: "store-e2e-admin", bootstrapBrokers: [BROKERS], strict: false });
  try {
    const groups = await admin.listConsumerGroupOffsets({ groups: [group] });
    let sum = 0n;
    for (const g of groups) {
      for (const t of g.topics) {
        if (t.name !== topic) continue;
        for (const p of t.partitions) if (p.committedOffset > 0n) sum += p.committedOffset;
      }
    }
    return sum;
  } finally {
    await admin.close();
  }
}

/** Sum of the end offsets (next offset to be written) of `topic`'s partitions. */
export async function endOffsets(topic: string): Promise<bigint> {
  const admin = new Admin({ clientId: "store-e2e-admin", bootstrapBrokers: [BROKERS], strict: false });
  try {
    const metadata = await admin.metadata({ topics: [topic] });
    const count = metadata.topics.get(topic)?.partitionsCount ?? 0;
    const partitions = Array.from(
      { length: count },
      (_, partitionIndex) => ({ partitionIndex, timestamp: -1n }),
    );
    const listed = await admin.listOffsets({ topics: [{ name: topic, partitions }] });
    let sum = 0n;
    for (const t of listed) for (const p of t.partitions) sum += p.offset;
    return sum;
  } finally {
    await admin.close();
  }
}

/** Parses the agent's JSON log lines. */
export function logLines(text: string): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      out.push(JSON.parse(line));
    } catch { /* not a log line */ }
  }
  return out;
}

/** Removes a test's data directory (best effort); kept when `EVENTOPS_KEEP_TEST_DATA` is set. */
export async function removeTestDir(name: string): Promise<void> {
  if (Deno.env.get("EVENTOPS_KEEP_TEST_DATA")) return;
  await Deno.remove(`${ROOT}data/test/${name}`, { recursive: true }).catch(() => undefined);
}
