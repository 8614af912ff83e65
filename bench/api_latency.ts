/**
 * Latency of `GET /metrics/{metric}` over 1,000,000 stored rows, through the REAL agent (its
 * sandbox flags, a broker, DuckDB).
 *
 * 1. Writes 1M rows straight into a fresh data dir with `StoreWriter` (500 series: 2 tenants x 50
 *    hosts x 5 metrics, 2,000 points each, spread over the 24 h before now).
 * 2. Starts the agent on it and times sequential requests of typical queries (warm-up first):
 *    raw last hour of one series, one-day 1-minute buckets (avg, p95) of one series, one-day
 *    5-minute buckets of a whole tenant, and the catalog.
 * 3. Moves everything older than one hour to Parquet (the agent's `export_after` default), restarts
 *    the agent, and times the same queries again (cold rows read from Parquet).
 *
 * ```sh
 * EVENTOPS_TEST_BROKERS=127.0.0.1:9092 deno run -P=bench bench/api_latency.ts [--requests 200] [--keep] [--out f.json]
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type Envelope, eventId } from "../model/envelope.ts";
import { openStore } from "../store/open.ts";
import { ParquetArchiver } from "../store/parquet.ts";
import { StoreWriter } from "../store/writer.ts";
import { BROKERS, type RunningAgent, startAgent, uniqueName } from "../testing/agent.ts";
import { writeBenchConfig } from "./agent.ts";
import { benchTopics } from "./kafka.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const ROWS = 1_000_000;
const BATCH = 10_000;
const TENANTS = ["acme", "globex"];
const HOSTS = Array.from({ length: 50 }, (_, i) => `host-${i}`);
const METRICS = ["cpu_load", "mem_used", "disk_used", "net_in", "temp_c"];
const SERIES = TENANTS.length * HOSTS.length * METRICS.length;
const DAY_MS = 86_400_000;

/** One timed query. */
export interface QueryTiming {
  name: string;
  path: string;
  /** Rows (points or buckets) in the answer. */
  rows: number;
  p50_ms: number;
  p95_ms: number;
  max_ms: number;
}

/** Event k of the data set: series k % SERIES, point floor(k / SERIES), the newest at `endMs`. */
function makeEvent(k: number, endMs: number): Envelope {
  const series = k % SERIES;
  const point = Math.floor(k / SERIES);
  const perSeries = ROWS / SERIES;
  const metric = METRICS[series % METRICS.length];
  const host = HOSTS[Math.floor(series / METRICS.length) % HOSTS.length];
  const tenant = TENANTS[Math.floor(series / (METRICS.length * HOSTS.length))];
  const ts = endMs - DAY_MS + Math.floor(((point + 1) * DAY_MS) / perSeries) - (series % 1000);
  const source = { topic: "bench.api.raw", partition: k % 3, offset: String(Math.floor(k / 3)), index: 0 };
  return {
    v: 1,
    id: eventId(source),
    tenant,
    host,
    metric,
    value: 50 + 40 * Math.sin(point / 50 + series) + (k % 7),
    unit: "percent",
    ts,
    ts_ingest: ts + 5,
    tags: { env: "prod" },
    ctx: { site: "bench" },
    source,
  };
}

async function fill(dataDir: string, endMs: number): Promise<number> {
  const store = await openStore(dataDir, { memoryLimit: "1GB", threads: 2 });
  const started = performance.now();
  try {
    const writer = await StoreWriter.open(store);
    for (let start = 0; start < ROWS; start += BATCH) {
      const batch = Array.from(
        { length: Math.min(BATCH, ROWS - start) },
        (_, i) => makeEvent(start + i, endMs),
      );
      await writer.writeBatch(batch, []);
    }
    await writer.checkpoint();
    await writer.close();
  } finally {
    await store.close();
  }
  return performance.now() - started;
}

async function exportCold(dataDir: string, nowMs: number): Promise<number> {
  const store = await openStore(dataDir, { memoryLimit: "1GB", threads: 2 });
  try {
    const archiver = await ParquetArchiver.open(store);
    const stats = await archiver.exportCold(3_600_000, nowMs);
    await archiver.close();
    return stats.rows;
  } finally {
    await store.close();
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)];
}

async function time(base: string, name: string, path: string, requests: number): Promise<QueryTiming> {
  let rows = 0;
  const once = async () => {
    const started = performance.now();
    const response = await fetch(`${base}${path}`);
    const body = await response.json();
    const ms = performance.now() - started;
    if (response.status !== 200) throw new Error(`${path}: HTTP ${response.status} ${JSON.stringify(body)}`);
    rows = Array.isArray(body.points) ? body.points.length : (body.series?.length ?? 0);
    return ms;
  };
  for (let i = 0; i < 10; i++) await once();
  const samples: number[] = [];
  for (let i = 0; i < requests; i++) samples.push(await once());
  samples.sort((a, b) => a - b);
  const round = (ms: number) => Math.round(ms * 10) / 10;
  return {
    name,
    path,
    rows,
    p50_ms: round(percentile(samples, 0.5)),
    p95_ms: round(percentile(samples, 0.95)),
    max_ms: round(samples[samples.length - 1]),
  };
}

const QUERIES: [string, string][] = [
  ["raw, last 1h, one series, limit 1000", "/metrics/cpu_load?tenant=acme&host=host-7&from=-1h&limit=1000"],
  [
    "1 day, step=1m, agg=avg, one series",
    "/metrics/cpu_load?tenant=acme&host=host-7&from=-24h&to=now&step=1m&agg=avg&limit=1500",
  ],
  [
    "1 day, step=1m, agg=p95, one series",
    "/metrics/cpu_load?tenant=acme&host=host-7&from=-24h&to=now&step=1m&agg=p95&limit=1500",
  ],
  [
    "1 day, step=5m, agg=max, all 50 hosts of a tenant",
    "/metrics/cpu_load?tenant=acme&from=-24h&to=now&step=5m&agg=max&limit=20000",
  ],
  ["catalog GET /metrics", "/metrics"],
];

async function measure(agent: RunningAgent, requests: number): Promise<QueryTiming[]> {
  const out: QueryTiming[] = [];
  for (const [name, path] of QUERIES) out.push(await time(agent.baseUrl, name, path, requests));
  return out;
}

function print(label: string, timings: QueryTiming[]): void {
  console.log(`\n${label}`);
  console.log("  p50 ms   p95 ms   max ms   rows  query");
  for (const t of timings) {
    console.log(
      `${t.p50_ms.toFixed(1).padStart(8)} ${t.p95_ms.toFixed(1).padStart(8)} ${
        t.max_ms.toFixed(1).padStart(8)
      } ${String(t.rows).padStart(6)}  ${t.name}`,
    );
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      requests: { type: "string", default: "200" },
      keep: { type: "boolean", default: false },
      out: { type: "string" },
    },
  });
  const requests = Number(values.requests);
  const name = uniqueName("api-latency");
  const { dir, file, port } = await writeBenchConfig(name, BROKERS, benchTopics(name), {
    // Parquet maintenance would move rows while we measure: the run exports explicitly instead.
    store: { parquet: { interval: "1h" } },
  });
  const dataDir = `${dir}/store`;
  await Deno.mkdir(`${ROOT}${dataDir}`, { recursive: true });
  const nowMs = Date.now();
  const fillMs = await fill(`${ROOT}${dataDir}`, nowMs);
  console.log(`wrote ${ROWS} rows (${SERIES} series) in ${(fillMs / 1000).toFixed(1)} s into ${dataDir}`);

  const results: Record<string, QueryTiming[]> = {};
  let agent = await startAgent(file, port);
  try {
    results.hot = await measure(agent, requests);
    print(
      `all ${ROWS} rows in the DuckDB hot table, ${requests} sequential requests per query:`,
      results.hot,
    );
  } finally {
    await agent.stop();
  }
  const exported = await exportCold(`${ROOT}${dataDir}`, nowMs);
  agent = await startAgent(file, port);
  try {
    results.parquet = await measure(agent, requests);
    print(`${exported} rows older than 1 h in Parquet, the rest hot:`, results.parquet);
  } finally {
    await agent.stop();
  }
  const summary = { rows: ROWS, series: SERIES, requests, fill_ms: Math.round(fillMs), results };
  if (values.out) {
    await Deno.writeTextFile(values.out, JSON.stringify(summary, null, 2) + "\n");
    console.log(`\nwrote ${values.out}`);
  }
  if (!values.keep) await Deno.remove(`${ROOT}${dir}`, { recursive: true });
}
