/**
 * Counts the calls into `@duckdb/node-bindings` per store batch: with rows only, and with rows and
 * alerts. Each call that returns a native handle (a result, a chunk, a vector, a logical type, a
 * statement) is a Node-API external, and Deno 2.9 never frees its 32-byte wrapper
 * (`bench/napi_external_leak.ts`), so what a batch makes here is what the agent keeps for good per
 * batch. Run: `deno run -P=bench bench/native_handles.ts [batches]`.
 *
 * The bindings' exports are read-only, so the module's entry in the require cache is replaced by a
 * counting copy before `@duckdb/node-api` (which reads the functions off the module at every call)
 * is first imported.
 *
 * @module
 */
import { createRequire } from "node:module";
import type { Alert } from "../model/alert.ts";
import { type Envelope, eventId } from "../model/envelope.ts";

/** The bindings' functions that return a native handle (each one a leaked wrapper under Deno 2.9). */
const HANDLE_MAKERS = new Set([
  "query",
  "prepare",
  "execute_prepared",
  "fetch_chunk",
  "data_chunk_get_vector",
  "vector_get_column_type",
  "create_data_chunk",
  "appender_create",
  "appender_create_ext",
  "result_get_chunk",
  "list_vector_get_child",
  "struct_vector_get_child",
  "create_logical_type",
]);

const calls = new Map<string, number>();
const require = createRequire(import.meta.resolve("@duckdb/node-api"));
const bindingsPath = require.resolve("@duckdb/node-bindings");
const bindings: Record<string, unknown> = require(bindingsPath);
const counting: Record<string, unknown> = {};
for (const name of Object.getOwnPropertyNames(bindings)) {
  const value = bindings[name];
  if (typeof value !== "function") {
    counting[name] = value;
    continue;
  }
  counting[name] = (...args: unknown[]) => {
    calls.set(name, (calls.get(name) ?? 0) + 1);
    return Reflect.apply(value, bindings, args);
  };
}
(require.cache as Record<string, { exports: unknown }>)[bindingsPath].exports = counting;

const { openStore } = await import("../store/open.ts");
const { StoreWriter } = await import("../store/writer.ts");

const batches = Number(Deno.args[0] ?? 200);
const base = Date.UTC(2026, 0, 1);
let offset = 0;
let alertNumber = 0;

function events(count: number): Envelope[] {
  return Array.from({ length: count }, () => {
    const source = { topic: "bench.raw", partition: 0, offset: String(offset++), index: 0 };
    const host = `host-${offset % 10}`;
    return {
      v: 1 as const,
      id: eventId(source),
      tenant: "acme",
      host,
      metric: "cpu_load",
      value: offset % 100,
      unit: "percent",
      ts: base + offset * 10,
      ts_ingest: base + offset * 10 + 3,
      tags: { env: "prod" },
      ctx: {},
      source,
    };
  });
}

function alert(): Alert {
  const n = alertNumber++;
  const fingerprint = `cpu_high|acme|host-${n % 10}|cpu_load`;
  return {
    id: `${fingerprint}:${base + n * 100}:${n}`,
    fingerprint,
    rule: "cpu_high",
    tenant: "acme",
    host: `host-${n % 10}`,
    metric: "cpu_load",
    severity: "warning",
    state: n % 2 === 0 ? "firing" : "resolved",
    value: 91,
    threshold: 90,
    starts_at: base + n * 100,
    ends_at: n % 2 === 0 ? null : base + n * 100 + 50,
    ts: base + n * 100,
    labels: { team: "ops" },
    annotations: { summary: "cpu above 90" },
  };
}

function report(label: string): void {
  const perBatch = (count: number) => (count / batches).toFixed(1);
  const rows = [...calls.entries()].sort((a, b) => b[1] - a[1]);
  const handles = rows.filter(([name]) => HANDLE_MAKERS.has(name)).reduce((sum, [, count]) => sum + count, 0);
  console.log(`${label}: ${perBatch(handles)} native handles a batch`);
  console.log(`  calls a batch: ${rows.map(([name, count]) => `${name} ${perBatch(count)}`).join(", ")}`);
  calls.clear();
}

const dir = await Deno.makeTempDir({ dir: "data", prefix: "native-handles-" });
try {
  const store = await openStore(dir, { memoryLimit: "64MB", threads: 1 });
  const writer = await StoreWriter.open(store);
  // Warm up: the appenders, chunks and statements a writer keeps are made once.
  for (let index = 0; index < 5; index++) await writer.writeBatch(events(50), [alert(), alert()]);
  calls.clear();
  for (let index = 0; index < batches; index++) await writer.writeBatch(events(50), []);
  report("a batch of 50 rows");
  for (let index = 0; index < batches; index++) await writer.writeBatch(events(50), [alert(), alert()]);
  report("a batch of 50 rows and 2 alerts");
  await writer.close();
  await store.close();
} finally {
  await Deno.remove(dir, { recursive: true });
}
