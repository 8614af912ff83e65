/**
 * Test helpers for the store: unique data directories under `./data/test/`, event and alert makers.
 *
 * @module
 */
import { DuckDBTimestampTZValue, type DuckDBValue } from "@duckdb/node-api";
import { type Envelope, eventId } from "../../model/envelope.ts";
import type { Alert } from "../../model/alert.ts";
import { openStore, type Store } from "../../store/open.ts";

/** Resources used by the tests (the config defaults). */
export const RESOURCES = { memoryLimit: "256MB", threads: 1 };

/** A fresh directory `./data/test/<name>-<uuid>`; remove it with the returned cleanup. */
export async function tempDataDir(name: string): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = `./data/test/${name}-${crypto.randomUUID().slice(0, 8)}`;
  await Deno.mkdir(dir, { recursive: true });
  return {
    dir,
    cleanup: async () => {
      await Deno.remove(dir, { recursive: true }).catch(() => undefined);
      await Deno.remove("./data/test").catch(() => undefined); // only when empty
    },
  };
}

/** Opens a store in `dir` with the test resources. */
export function open(dir: string, readOnly = false): Promise<Store> {
  return openStore(dir, RESOURCES, { readOnly });
}

/** Options of {@link makeEvents}. */
export interface EventOptions {
  topic?: string;
  partitions?: number;
  /** First global sequence number; partition = k % partitions, offset = floor(k / partitions). */
  start?: number;
  /** Event time of k = 0, epoch ms. */
  baseTs?: number;
  /** Milliseconds between consecutive events. */
  stepMs?: number;
  tenants?: readonly string[];
  hosts?: readonly string[];
  metrics?: readonly string[];
  value?: (k: number) => number;
}

/** `n` deterministic events with ids derived from their source. */
export function makeEvents(n: number, options: EventOptions = {}): Envelope[] {
  const topic = options.topic ?? "ingest.raw.agent";
  const partitions = options.partitions ?? 3;
  const start = options.start ?? 0;
  const baseTs = options.baseTs ?? Date.UTC(2025, 9, 21, 10);
  const stepMs = options.stepMs ?? 10;
  const tenants = options.tenants ?? ["acme", "globex"];
  const hosts = options.hosts ?? ["host-a", "host-b", "host-c"];
  const metrics = options.metrics ?? ["cpu_load", "mem_used"];
  const value = options.value ?? ((k: number) => (k % 1000) / 10);
  const ctxByHost = new Map(hosts.map((h) => [h, { site: "s1", role: h.endsWith("a") ? "db" : "web" }]));
  const out: Envelope[] = [];
  for (let i = 0; i < n; i++) {
    const k = start + i;
    const source = { topic, partition: k % partitions, offset: String(Math.floor(k / partitions)), index: 0 };
    const host = hosts[k % hosts.length];
    out.push({
      v: 1,
      id: eventId(source),
      tenant: tenants[k % tenants.length],
      host,
      metric: metrics[k % metrics.length],
      value: value(k),
      unit: "percent",
      ts: baseTs + k * stepMs,
      ts_ingest: baseTs + k * stepMs + 3,
      tags: { env: "prod", dc: `dc${k % 2}` },
      ctx: ctxByHost.get(host)!,
      source,
    });
  }
  return out;
}

/** One alert transition. */
export function makeAlert(n: number, overrides: Partial<Alert> = {}): Alert {
  const fingerprint = overrides.fingerprint ?? `cpu_high|acme|host-${n % 2}|cpu_load`;
  const startsAt = overrides.starts_at ?? Date.UTC(2025, 9, 21, 10, n);
  return {
    id: `${fingerprint}:${startsAt}:${n}`,
    fingerprint,
    rule: "cpu_high",
    tenant: "acme",
    host: `host-${n % 2}`,
    metric: "cpu_load",
    severity: n % 2 === 0 ? "warning" : "critical",
    state: "firing",
    value: 85 + n,
    threshold: 80,
    starts_at: startsAt,
    ends_at: null,
    ts: startsAt,
    labels: { team: "ops" },
    annotations: { summary: `cpu ${85 + n}` },
    ...overrides,
  };
}

/** Every column of `metrics`, in the order {@link storedRow} gives them, ordered by `orderBy`. */
export function storedRowsSql(orderBy: string): string {
  return `SELECT id, tenant, host, metric, "value", unit, unit_original, epoch_ms(ts)::DOUBLE,
    epoch_ms(ts_ingest)::DOUBLE, tags::VARCHAR, ctx::VARCHAR, src_topic, src_partition, src_offset::VARCHAR, src_index
  FROM metrics ORDER BY ${orderBy}`;
}

/** The row {@link storedRowsSql} reads for an event stored as it is. */
export function storedRow(e: Envelope): DuckDBValue[] {
  return [
    e.id,
    e.tenant,
    e.host,
    e.metric,
    e.value,
    e.unit,
    e.unit_original ?? null,
    e.ts,
    e.ts_ingest,
    JSON.stringify(e.tags),
    JSON.stringify(e.ctx),
    e.source.topic,
    e.source.partition,
    e.source.offset,
    e.source.index,
  ];
}

/** `SELECT count(*)` (and distinct ids) over a table or view, via a fresh connection. */
export async function counts(store: Store, from = "metrics"): Promise<{ rows: number; ids: number }> {
  const conn = await store.connect();
  try {
    if (from === "metrics_all") {
      const { createMetricsView } = await import("../../store/query.ts");
      await createMetricsView(store, conn);
    }
    const reader = await conn.runAndReadAll(
      `SELECT count(*)::DOUBLE, count(DISTINCT id)::DOUBLE FROM ${from}`,
    );
    const [rows, ids] = reader.getRows()[0];
    return { rows: Number(rows), ids: Number(ids) };
  } finally {
    store.release(conn);
  }
}

/** Every file below `dir`, relative, sorted. */
export async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  async function walk(path: string, rel: string): Promise<void> {
    for await (const entry of Deno.readDir(path)) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory) await walk(`${path}/${entry.name}`, childRel);
      else out.push(childRel);
    }
  }
  try {
    await walk(dir, "");
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
  return out.sort();
}

/** Runs `use` with a fresh store in a temporary data dir; closes the store and removes the dir after. */
export async function withStore(
  name: string,
  use: (store: Store, dir: string) => Promise<void>,
): Promise<void> {
  const { dir, cleanup } = await tempDataDir(name);
  const store = await open(dir);
  try {
    await use(store, dir);
  } finally {
    store.close();
    await cleanup();
  }
}

/** The tags text {@link storeAsOlderAgent} stores. */
export const BROKEN_JSON = '{"s":"\\udfff"}';

/**
 * Rewrites series 0's tags and context, and appends an alert, as an agent before issue 22 stored a
 * lone surrogate: the JSON text `JSON.stringify` makes (`{"s":"\udfff"}`), which DuckDB cannot read.
 */
export async function storeAsOlderAgent(store: Store, atMs: number): Promise<void> {
  const conn = await store.connect();
  try {
    const [row] = (await conn.runAndReadAll(
      "SELECT id, tenant, host, metric, unit, unit_original, ctx::VARCHAR, src_topic FROM series WHERE id = 0",
    )).getRows();
    await conn.run("DELETE FROM series WHERE id = 0");
    const series = await conn.createAppender("series");
    series.appendInteger(Number(row[0]));
    for (const value of row.slice(1, 5)) series.appendVarchar(String(value));
    series.appendNull();
    series.appendVarchar(BROKEN_JSON); // tags
    series.appendVarchar('{"site":"a\\ud800b"}'); // ctx
    series.appendVarchar(String(row[7]));
    series.endRow();
    series.closeSync();
    const alerts = await conn.createAppender("alerts");
    const at = new DuckDBTimestampTZValue(BigInt(atMs) * 1000n);
    alerts.appendBigInt(100n);
    for (const text of ["old", "fp-old", "r", "acme", "h1", "cpu_load", "warning", "firing"]) {
      alerts.appendVarchar(text);
    }
    alerts.appendDouble(90);
    alerts.appendDouble(80);
    alerts.appendTimestampTZ(at);
    alerts.appendNull();
    alerts.appendTimestampTZ(at);
    alerts.appendVarchar(BROKEN_JSON);
    alerts.appendVarchar('{"summary":"x\\udc00"}');
    alerts.appendTimestampTZ(at);
    alerts.endRow();
    alerts.closeSync();
  } finally {
    store.release(conn);
  }
}

/** `ln -s target path` (Deno.symlink needs unscoped write permission, which the tests do not have). */
export async function symlink(target: string, path: string): Promise<void> {
  const output = await new Deno.Command("ln", { args: ["-s", target, path] }).output();
  if (output.code !== 0) throw new Error(`ln -s failed: ${new TextDecoder().decode(output.stderr)}`);
}
