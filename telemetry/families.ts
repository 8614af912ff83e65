/**
 * Every metric family the agent exports at `/prometheus`, declared once: name, type, help, labels
 * (and buckets). The parts of the agent register the families they feed by key; the README's list of
 * metric families is generated from this table (`deno task docs:metrics`, checked by a test).
 *
 * @module
 */
import type { Counter, Gauge, Histogram, Registry } from "./registry.ts";

/** One metric family as declared. */
export interface FamilyDeclaration {
  readonly type: "counter" | "gauge" | "histogram";
  /** The Prometheus name, `[a-zA-Z_:][a-zA-Z0-9_:]*`. */
  readonly name: string;
  readonly help: string;
  /** Label names, in the order `labels(...)` takes values. */
  readonly labels?: readonly string[];
  /** Histogram bucket bounds (default: `DEFAULT_BUCKETS` of `registry.ts`). */
  readonly buckets?: readonly number[];
  /** Which part of the agent feeds it (the README groups the table by it). */
  readonly part: "pipeline" | "consumer groups" | "store" | "alert delivery" | "http" | "process";
}

/** The agent's metric families, by key. */
export const FAMILIES = {
  pipelineEvents: {
    type: "counter",
    name: "eventops_pipeline_events_total",
    help: "Events and messages per pipeline stage and kind (in, out, dlq, late, replayed, ...).",
    labels: ["stage", "kind"],
    part: "pipeline",
  },
  alerts: {
    type: "counter",
    name: "eventops_alerts_emitted_total",
    help: "Alert transitions emitted.",
    labels: ["severity", "state"],
    part: "pipeline",
  },
  batchSeconds: {
    type: "histogram",
    name: "eventops_stage_batch_seconds",
    help: "Time to process one batch.",
    labels: ["stage"],
    part: "pipeline",
  },
  batchAge: {
    type: "histogram",
    name: "eventops_stage_batch_age_seconds",
    help:
      "Age of a batch's first message (now - its Kafka timestamp) when the stage starts the batch: how far behind it runs.",
    labels: ["stage"],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60, 600],
    part: "pipeline",
  },
  batchSize: {
    type: "histogram",
    name: "eventops_batch_size",
    help: "Messages per batch.",
    labels: ["stage"],
    buckets: [1, 10, 100, 1_000, 10_000, 100_000],
    part: "pipeline",
  },
  featureSeries: {
    type: "gauge",
    name: "eventops_features_series",
    help: "Series tracked by the features stage.",
    part: "pipeline",
  },
  consumerLag: {
    type: "gauge",
    name: "eventops_consumer_lag",
    help: "Consumer lag in messages, per topic the group reads (its own and the `inputs` topics).",
    labels: ["group", "topic"],
    part: "consumer groups",
  },
  consuming: {
    type: "gauge",
    name: "eventops_consumer_consuming",
    help: "1 when the group's stream is live (joined, fetching), 0 while starting or reconnecting.",
    labels: ["group"],
    part: "consumer groups",
  },
  lastProgress: {
    type: "gauge",
    name: "eventops_consumer_last_progress_timestamp_seconds",
    help: "When the group last made progress (handled a batch, or its stream opened), Unix seconds.",
    labels: ["group"],
    part: "consumer groups",
  },
  reconnects: {
    type: "counter",
    name: "eventops_consumer_reconnects_total",
    help: "Times the group's stream was lost and opened again.",
    labels: ["group"],
    part: "consumer groups",
  },
  storeRows: {
    type: "counter",
    name: "eventops_store_rows_written_total",
    help: "Rows written to the store.",
    labels: ["table"],
    part: "store",
  },
  storeDuplicates: {
    type: "counter",
    name: "eventops_store_duplicates_total",
    help: "Events ignored because their id was already stored.",
    part: "store",
  },
  storeFlush: {
    type: "histogram",
    name: "eventops_store_flush_seconds",
    help: "Duration of one store transaction.",
    part: "store",
  },
  parquetFiles: {
    type: "counter",
    name: "eventops_parquet_files_written_total",
    help: "Parquet parts written.",
    part: "store",
  },
  damagedParts: {
    type: "gauge",
    name: "eventops_store_parquet_damaged_parts",
    help: "Parquet parts missing or damaged, left out of the queries (see /readyz).",
    part: "store",
  },
  unreadableRows: {
    type: "gauge",
    name: "eventops_store_parquet_unreadable_rows",
    help: "Rows of the Parquet parts missing or damaged.",
    part: "store",
  },
  storeBytes: {
    type: "gauge",
    name: "eventops_store_disk_bytes",
    help: "Disk used by the store, bytes.",
    part: "store",
  },
  alertsFiring: {
    type: "gauge",
    name: "eventops_alerts_firing",
    help: "Alerts firing now, per rule and severity.",
    labels: ["rule", "severity"],
    part: "alert delivery",
  },
  notificationsSent: {
    type: "counter",
    name: "eventops_notifications_sent_total",
    help: "Notifications delivered, per receiver and integration kind (resend: Alertmanager keep-alives).",
    labels: ["receiver", "integration", "resend"],
    part: "alert delivery",
  },
  notificationsFailed: {
    type: "counter",
    name: "eventops_notifications_failed_total",
    help: "Notifications given up (refused by the receiver, or older than delivery.max_age).",
    labels: ["receiver", "integration"],
    part: "alert delivery",
  },
  notificationRetries: {
    type: "counter",
    name: "eventops_notifications_retries_total",
    help: "Delivery attempts that failed and will be retried.",
    labels: ["receiver", "integration"],
    part: "alert delivery",
  },
  notificationQueueDepth: {
    type: "gauge",
    name: "eventops_notifications_queue_depth",
    help: "Notifications stored and not yet delivered or given up.",
    part: "alert delivery",
  },
  notificationOldestPending: {
    type: "gauge",
    name: "eventops_notifications_oldest_pending_seconds",
    help: "Age of the oldest notification not yet delivered (0 when none).",
    part: "alert delivery",
  },
  httpRequests: {
    type: "counter",
    name: "eventops_http_requests_total",
    help: "HTTP requests by method, route pattern and status.",
    labels: ["method", "route", "status"],
    part: "http",
  },
  httpDuration: {
    type: "histogram",
    name: "eventops_http_request_duration_seconds",
    help: "Time to the response headers, by route pattern.",
    labels: ["route"],
    part: "http",
  },
  sseClients: {
    type: "gauge",
    name: "eventops_http_sse_clients",
    help: "Connected server-sent-event clients by stream.",
    labels: ["stream"],
    part: "http",
  },
  eventsDropped: {
    type: "counter",
    name: "eventops_http_events_stream_dropped_total",
    help: "Events not sent to /events/stream clients because of the per-client rate limit.",
    part: "http",
  },
  sseOverflow: {
    type: "counter",
    name: "eventops_http_sse_overflow_total",
    help: "SSE clients disconnected because they did not keep up (queue full).",
    labels: ["stream"],
    part: "http",
  },
  ingestItems: {
    type: "counter",
    name: "eventops_http_ingest_items_total",
    help: "Items received by POST /ingest, by result.",
    labels: ["result"],
    part: "http",
  },
  collectItems: {
    type: "counter",
    name: "eventops_http_collect_items_total",
    help:
      "Items received by the protocol receivers (POST /write, /api/v2/write, /api/v1/write, /v1/metrics), by protocol and result.",
    labels: ["protocol", "result"],
    part: "http",
  },
  httpRefused: {
    type: "counter",
    name: "eventops_http_refused_total",
    help: "Requests refused by a per-client limit or a wrong token, by reason.",
    labels: ["reason"],
    part: "http",
  },
  connections: {
    type: "gauge",
    name: "eventops_http_connections",
    help: "Open client connections.",
    part: "http",
  },
  connectionsRefused: {
    type: "counter",
    name: "eventops_http_connections_refused_total",
    help: "Client connections refused at accept, by limit (max_connections, max_connections_per_ip).",
    labels: ["limit"],
    part: "http",
  },
  connectionsClosed: {
    type: "counter",
    name: "eventops_http_connections_closed_total",
    help: "Client connections closed by the server, by reason (header_timeout, idle_timeout, evicted).",
    labels: ["reason"],
    part: "http",
  },
  processRss: {
    type: "gauge",
    name: "process_resident_memory_bytes",
    help: "Resident memory size in bytes.",
    part: "process",
  },
  heapUsed: {
    type: "gauge",
    name: "eventops_process_heap_used_bytes",
    help: "V8 heap in use, bytes.",
    part: "process",
  },
  heapTotal: {
    type: "gauge",
    name: "eventops_process_heap_total_bytes",
    help: "V8 heap the isolate holds (in use and free), bytes.",
    part: "process",
  },
  external: {
    type: "gauge",
    name: "eventops_process_external_bytes",
    help: "Memory outside the V8 heap that JavaScript objects hold (ArrayBuffers, buffers), bytes.",
    part: "process",
  },
  startTime: {
    type: "gauge",
    name: "process_start_time_seconds",
    help: "Start time of the process since the Unix epoch, seconds.",
    part: "process",
  },
} as const satisfies Record<string, FamilyDeclaration>;

/** The key of a declared family. */
export type FamilyKey = keyof typeof FAMILIES;

interface FamilyTypes {
  counter: Counter;
  gauge: Gauge;
  histogram: Histogram;
}

/** The registry family of a declared one. */
export type FamilyOf<K extends FamilyKey> = FamilyTypes[(typeof FAMILIES)[K]["type"]];

/** Registers (or finds, when already registered) the declared family `key`. */
export function registerFamily<K extends FamilyKey>(registry: Registry, key: K): FamilyOf<K> {
  const declared: FamilyDeclaration = FAMILIES[key];
  const options = { name: declared.name, help: declared.help, labelNames: declared.labels ?? [] };
  switch (declared.type) {
    case "counter":
      return registry.counter(options) as FamilyOf<K>;
    case "gauge":
      return registry.gauge(options) as FamilyOf<K>;
    case "histogram":
      return registry.histogram({ ...options, buckets: declared.buckets }) as FamilyOf<K>;
  }
}

/** Registers the declared families `keys`; returns them by key. */
export function registerFamilies<const K extends FamilyKey>(
  registry: Registry,
  keys: readonly K[],
): { [P in K]: FamilyOf<P> } {
  const families = {} as { [P in K]: FamilyOf<P> };
  for (const key of keys) families[key] = registerFamily(registry, key);
  return families;
}

/** The families the agent's pipeline feeds: batches, alerts, store writes, Parquet parts, lag. */
const PIPELINE_FAMILIES = [
  "alerts",
  "storeRows",
  "storeDuplicates",
  "storeFlush",
  "batchSeconds",
  "batchAge",
  "batchSize",
  "consumerLag",
  "featureSeries",
  "parquetFiles",
] as const;

/** The pipeline's families, by key. */
export type PipelineMetrics = { [P in (typeof PIPELINE_FAMILIES)[number]]: FamilyOf<P> };

/** Registers the pipeline's families in `registry` (idempotent). */
export function pipelineMetrics(registry: Registry): PipelineMetrics {
  return registerFamilies(registry, PIPELINE_FAMILIES);
}
