/**
 * The agent's configuration: one zod schema, every key with a default so `eventops run` works with
 * no config file. `eventops.yaml` at the repository root documents every key.
 *
 * @module
 */
import { z } from "zod";
import { DurationSchema } from "../lib/duration.ts";
import { formatBytes, parseSize, SizeSchema } from "../lib/size.ts";
import { MIN_MEMORY_BUDGET } from "./memory.ts";

/** The stages one process can run (`--stages`); all by default. */
export const StageNameSchema = z.enum(["normalize", "enrich", "features", "rules", "store", "api"]);
/** A stage name. */
export type StageName = z.infer<typeof StageNameSchema>;

/** How events flow from the raw topic to the store (`topology`). */
export const TopologySchema = z.enum(["auto", "local", "partitioned"]);
/** A topology setting. */
export type Topology = z.infer<typeof TopologySchema>;

const BrokerSchema = z.string().regex(/^[^\s:]+:\d{1,5}$/, "expected HOST:PORT");

const TopicsSchema = z.strictObject({
  raw: z.string().min(1).default("ingest.raw.agent"),
  enriched: z.string().min(1).default("events.enriched"),
  features: z.string().min(1).default("features.agent"),
  alerts: z.string().min(1).default("alerts.agent"),
  dlq: z.string().min(1).default("dlq.agent"),
  /** Partitions used by `eventops init` when it creates the topics. */
  partitions: z.int().min(1).max(1024).default(3),
  replication_factor: z.int().min(1).max(16).default(1),
});

const KafkaSchema = z.strictObject({
  brokers: z.array(BrokerSchema).min(1).default(["127.0.0.1:9092"]),
  client_id: z.string().min(1).default("eventops"),
  /** Consumer group of the stateless stages (normalize + enrich). */
  group_stateless: z.string().min(1).default("eventops-stateless"),
  /** Consumer group of the stateful stages (features + rules + store). */
  group_stateful: z.string().min(1).default("eventops-stateful"),
  /** Most messages handled per batch (one store transaction, one offset commit). */
  batch_max_messages: z.int().min(1).max(1_000_000).default(5_000),
  /** Most bytes (message values) per batch, so NDJSON messages of many events stay bounded too. */
  batch_max_bytes: z.int().min(1_024).max(256 * 1024 * 1024).default(4 * 1024 * 1024),
  /**
   * Most bytes of one fetch response the consumer asks for (all its partitions); the client's
   * buffers and per-record objects of a fetch grow with it.
   */
  fetch_max_bytes: z.int().min(64 * 1024).max(256 * 1024 * 1024).default(2 * 1024 * 1024),
  /** Longest a partial batch waits before it is processed. */
  batch_max_wait: DurationSchema.prefault("50ms"),
  session_timeout: DurationSchema.prefault("30s"),
  /**
   * How the stateless group writes `events.enriched`: `columns`, compact batches (see
   * `enriched/schema.ts`; about a fifth of the bytes and several times cheaper), or
   * `envelopes`, JSON arrays of envelopes for other consumers of the topic. The stateful group
   * reads both.
   */
  enriched_encoding: z.enum(["columns", "envelopes"]).default("columns"),
  /** Where to start with no committed offset. */
  from_beginning: z.boolean().default(true),
  /**
   * How long `run` waits for the broker at start (serving HTTP, not ready) before it gives up and
   * exits 1; `0s` waits forever. Once running, the agent reconnects on its own however long an
   * outage lasts.
   */
  connect_timeout: DurationSchema.prefault("5m"),
  /** A group with messages pending on its partitions and no batch handled for this long is not ready. */
  progress_timeout: DurationSchema.prefault("30s"),
  /**
   * Most bytes of one produced message (record batch): the agent also reads each topic's
   * `max.message.bytes` from the broker at start and uses the smaller. Larger dead letters are
   * truncated, larger enriched and feature batches split.
   */
  max_message_bytes: z.int().min(16_384).max(256 * 1024 * 1024).default(1_048_576),
});

const HttpSchema = z.strictObject({
  host: z.string().min(1).default("0.0.0.0"),
  port: z.int().min(0).max(65_535).default(8088),
  /**
   * The base URL other agents reach this one's API at (scale-out reads: advertised in the consumer
   * groups, reads of a series owned by another agent are forwarded there). Empty: `http://<host>:<port>`
   * of the bound address, or with `host` 0.0.0.0 the first LAN IPv4 address (loopback when none).
   */
  advertise: z.string().default("").refine((url) => url === "" || /^https?:\/\/[^/?#]+$/.test(url), {
    message: "expected http://host:port or https://host:port (no path), or empty",
  }),
  /** How long a read forwarded to (or fanned out over) other agents waits for each of them. */
  forward_timeout: DurationSchema.prefault("5s"),
  /** Bearer token required for writes (POST /ingest). Empty: writes are refused. */
  token: z.string().default(""),
  /** Also require the token for reads. */
  token_for_reads: z.boolean().default(false),
  /**
   * Level of the one log line per HTTP request (method, path, status, ms, client): `debug` (shown with
   * `log_level: debug`), `info`, or `off`. Server errors (5xx) are logged at error whatever this says.
   */
  access_log: z.enum(["debug", "info", "off"]).default("debug"),
  /** Allowed CORS origins; empty disables CORS headers. */
  cors_origins: z.array(z.string()).default([]),
  max_body_bytes: z.int().min(1_024).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Heartbeat interval of SSE streams. */
  sse_heartbeat: DurationSchema.prefault("15s"),
  /** Most events per second sent to one `/events/stream` client. */
  events_stream_max_rate: z.int().min(1).max(100_000).default(200),
  // Connection limits, enforced by the TCP front (api/front.ts) before a byte reaches the HTTP server.
  // Each open connection costs three file descriptors (client, proxy and server side).
  /** Most open client connections; further ones get a 503 and are closed. */
  max_connections: z.int().min(1).max(100_000).default(256),
  /** Most open connections from one IP address (IPv6: one /64 network); further ones get a 429. */
  max_connections_per_ip: z.int().min(1).max(100_000).default(32),
  /** A request's head (request line and headers) must arrive within this, or the connection is closed. */
  header_timeout: DurationSchema.prefault("10s"),
  /** A request body must arrive within this, or the request is answered 408 and the connection closed. */
  body_timeout: DurationSchema.prefault("30s"),
  /** A connection with no byte in either direction for this long is closed (keep it above sse_heartbeat). */
  idle_timeout: DurationSchema.prefault("60s"),
  /** Most requests in progress from one IP address (IPv6: one /64); further ones get a 429. */
  max_requests_per_ip: z.int().min(1).max(100_000).default(16),
  /** Most clients of each SSE stream (/alerts/stream, /events/stream). */
  sse_max_clients: z.int().min(1).max(100_000).default(64),
  /** Most clients of each SSE stream from one IP address (IPv6: one /64). */
  sse_max_clients_per_ip: z.int().min(1).max(100_000).default(8),
  /** Wrong API tokens one IP address (IPv6: one /64) may send in a burst before it gets 429s. */
  auth_failure_burst: z.int().min(1).max(1_000_000).default(10),
  /** After the burst, one more wrong token is allowed per this long. */
  auth_failure_interval: DurationSchema.prefault("6s"),
}).superRefine((http, ctx) => {
  if (http.idle_timeout <= http.sse_heartbeat) {
    ctx.addIssue({
      code: "custom",
      path: ["idle_timeout"],
      message: "must be longer than sse_heartbeat, or idle SSE streams are cut between heartbeats",
    });
  }
  type Count = "max_connections" | "max_connections_per_ip" | "sse_max_clients" | "sse_max_clients_per_ip";
  const atMost = (key: Count, limit: Count) => {
    if (http[key] > http[limit]) {
      ctx.addIssue({ code: "custom", path: [key], message: `must be at most ${limit} (${http[limit]})` });
    }
  };
  atMost("max_connections_per_ip", "max_connections");
  atMost("sse_max_clients_per_ip", "sse_max_clients");
  atMost("sse_max_clients", "max_connections");
});

const NormalizeSchema = z.strictObject({
  /** Metric name aliases, applied after snake-casing: `cpu: cpu_load`. */
  aliases: z.record(z.string(), z.string()).default({ cpu: "cpu_load", load: "cpu_load", mem: "mem_used" }),
  max_tags: z.int().min(0).max(1_000).default(32),
  max_tag_length: z.int().min(1).max(10_000).default(256),
  max_message_bytes: z.int().min(64).max(64 * 1024 * 1024).default(1024 * 1024),
  /** Events further in the future than this (vs. ingest time) are rejected. */
  max_future_skew: DurationSchema.prefault("10m"),
  /**
   * Events older than this are rejected (to the DLQ, with the reason). Never more than the store's
   * retention (`store.parquet.retention`, unless 0s): an event the retention would delete at once is
   * refused instead of stored and silently deleted (see {@link ConfigSchema}).
   */
  max_age: DurationSchema.prefault("3650d"),
});

/** Longest feature window (7d): the feature engine stores sample times as int32 ms (stages/features.ts). */
export const MAX_FEATURE_WINDOW_MS = 7 * 86_400_000;

const FeaturesSchema = z.strictObject({
  windows: z.array(
    DurationSchema.refine((ms) => ms <= MAX_FEATURE_WINDOW_MS, "a feature window must be at most 7d"),
  ).min(1).max(8).prefault(["1m", "5m"]),
  ewma_alpha: z.number().gt(0).lte(1).default(0.3),
  /** How far behind the newest event of a series an event may arrive and still count. */
  allowed_lateness: DurationSchema.prefault("30s"),
  max_series: z.int().min(1).max(10_000_000).default(100_000),
  /** Series with no event for this long (event time) are evicted. */
  idle_eviction: DurationSchema.prefault("1h"),
  /**
   * A changed series' latest records go to the features topic at most once per this much processing
   * time (its final state with the first batch after that); `0s` publishes every series a batch
   * changed, per batch.
   */
  publish_every: DurationSchema.prefault("1s"),
});

const ParquetSchema = z.strictObject({
  /** Hot rows older than this (event time) are exported to Parquet. */
  export_after: DurationSchema.prefault("1h"),
  /** How often export, compaction and retention run. */
  interval: DurationSchema.prefault("1m"),
  /** A partition with at least this many parts is compacted into one. */
  compact_min_parts: z.int().min(2).max(10_000).default(8),
  /** Partitions older than this are deleted; 0 keeps everything. */
  retention: DurationSchema.prefault("30d"),
});

/**
 * Budgets of one read-only SQL statement (`POST /query`, `eventops query`): the agent runs one at a
 * time, refuses statements that would build huge values, and stops one that goes over a budget.
 */
const QuerySchema = z.strictObject({
  /** A statement still running after this long is interrupted. */
  timeout: DurationSchema.prefault("30s"),
  /** A statement is interrupted when the agent's resident memory grows by more than this while it runs. */
  max_memory: SizeSchema.prefault("128MiB"),
  /** Most bytes of result values returned; the rows up to it are returned, marked truncated. */
  max_result_bytes: SizeSchema.prefault("16MiB"),
  /**
   * Largest value a generating function (repeat, lpad/rpad, printf/format widths, range and
   * generate_series as lists, list_resize, bitstring, growing replace/regexp_replace, list lambdas)
   * may build from literals; a value computed per row may take 1/32 of it (a 2,048-row chunk then
   * stays within 64 times this).
   */
  max_value_bytes: SizeSchema.prefault("1MiB"),
});

const StoreSchema = z.strictObject({
  // One store transaction per consumer batch: its size and latency are kafka.batch_max_messages,
  // kafka.batch_max_bytes and kafka.batch_max_wait.
  /** DuckDB memory limit, e.g. `256MB`. */
  memory_limit: z.string().regex(/^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i, "expected a size like 256MB")
    .default(
      "128MB",
    ),
  threads: z.int().min(1).max(64).default(1),
  /**
   * WAL size that makes DuckDB write the appended rows into the database file (a checkpoint); until
   * then they are held in memory too, so a smaller value lowers the peak (more, shorter checkpoints).
   */
  checkpoint_threshold: z.string().regex(
    /^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i,
    "expected a size like 16MB",
  ).default("16MB"),
  /**
   * Freed memory DuckDB's allocator (jemalloc) may keep after a task before it returns it to the
   * system (DuckDB `allocator_flush_threshold`; its default is 128 MiB, most of a small device).
   */
  allocator_flush_threshold: z.string().regex(
    /^\d+(\.\d+)?\s*(KB|MB|GB|KiB|MiB|GiB)$/i,
    "expected a size like 16MB",
  ).default("128MiB"),
  parquet: ParquetSchema.prefault({}),
  query: QuerySchema.prefault({}),
});

/** The schema registry (Confluent-compatible: Redpanda's built-in one at :8081, Confluent, Karapace, AxonOps). */
const SchemaRegistrySchema = z.strictObject({
  /** Base URL, e.g. `http://redpanda:8081`; empty: no registry (framed messages are dead-lettered). */
  url: z.string().default("").refine((url) => url === "" || /^https?:\/\/[^\s/]+/.test(url), {
    message: "expected an http:// or https:// URL, or empty",
  }),
  /** Basic auth user name (empty: none). */
  username: z.string().default(""),
  password: z.string().default(""),
  /** PEM file of a CA to trust for https (empty: the system's). */
  ca_file: z.string().default(""),
  /** Timeout of one request to the registry. */
  timeout: DurationSchema.prefault("5s"),
  /** Schemas kept in memory by id (decoders compiled once). */
  cache_size: z.int().min(1).max(100_000).default(1_000),
  /** Compatibility level `eventops init` and `schemas push` set on the agent's subjects. */
  compatibility: z.enum([
    "BACKWARD",
    "BACKWARD_TRANSITIVE",
    "FORWARD",
    "FORWARD_TRANSITIVE",
    "FULL",
    "FULL_TRANSITIVE",
    "NONE",
  ]).default("BACKWARD"),
  /** Whether `eventops init` registers the agent's schemas (when `url` is set). */
  register: z.boolean().default(true),
  /**
   * Frame the alerts and dead letters the agent writes with their registered schema id (Confluent wire
   * format): `off` (plain JSON), `json` (JSON Schema), `avro` (Avro binary). Needs `url`.
   */
  produce: z.enum(["off", "json", "avro"]).default("off"),
}).refine((registry) => registry.produce === "off" || registry.url !== "", {
  message: "schema_registry.produce needs schema_registry.url",
  path: ["produce"],
});

/** `collect`: what the agent collects itself, besides what is sent to it. */
const CollectSchema = z.strictObject({
  /**
   * The device's own metrics (`sources/device.ts`: CPU, load, memory, disk, pressure, the agent's
   * process), produced to the raw topic every `interval` as events of `tenant` and `host`.
   */
  host: z.strictObject({
    enabled: z.boolean().default(false),
    interval: DurationSchema.prefault("10s").refine((ms) => ms >= 1_000, "expected at least 1s"),
    tenant: z.string().min(1, "expected a non-empty tenant").default("local"),
    /** Empty: the machine's hostname. */
    host: z.string().default(""),
    /**
     * Where the kernel's `diskstats`, `net_dev` and `thermal` are bound read-only (the systemd unit's
     * `BindReadOnlyPaths=`): Deno refuses reads under `/proc` and `/sys` themselves. Missing files
     * leave their metrics out. The agent's permission set allows reads of the default only.
     */
    files: z.string().min(1, "expected a directory").default("/run/eventops/host"),
  }).prefault({}),
});

/**
 * One Kafka topic the stateless group reads besides the raw topic, in a format other than raw events
 * (`inputs`): each message is converted by the receiver's parser (`sources/`) into raw events, then
 * goes the raw topic's way (normalize, DLQ, ids of this topic's positions).
 */
const InputSchema = z.strictObject({
  topic: z.string().min(1, "expected a topic name"),
  /**
   * `influx`: each message is Influx line protocol (one or more lines), as `POST /write` takes;
   * `prometheus-remote-write`: a Snappy-compressed `WriteRequest` protobuf, as `POST /api/v1/write`
   * takes; `otlp-proto` / `otlp-json`: an OTLP `ExportMetricsServiceRequest` in protobuf / JSON, as
   * `POST /v1/metrics` takes; `json`: a JSON object (or an array of them) read by `mapping`;
   * `envelope`: raw events as the raw topic carries them.
   */
  format: z.enum(["influx", "prometheus-remote-write", "otlp-proto", "otlp-json", "json", "envelope"]),
  /** Where the parts of an event are in a `json` message (dotted paths; `sources/json_mapping.ts`). */
  mapping: z.strictObject({
    tenant: z.string().default(""),
    host: z.string().default(""),
    metric: z.string().default(""),
    value: z.string().default(""),
    /** An object whose numeric fields each become a metric named by the key (instead of metric/value). */
    fields: z.string().default(""),
    time: z.string().default(""),
    unit: z.string().default(""),
    tags: z.record(z.string(), z.string().min(1)).default({}),
  }).optional(),
  /**
   * Tenant of items without a `tenant_id` tag, label or attribute (as the receivers' `?tenant=`);
   * empty: such items are dead-lettered.
   */
  tenant: z.string().default(""),
  /**
   * Host of items without a `host` tag, label or attribute (nor `instance`, `host.name`, ...: as the
   * receivers' `?host=`); empty: such items are dead-lettered.
   */
  host: z.string().default(""),
  /** Timestamp precision of `influx` lines (`ns`, `us`, `ms`, `s`, ...). */
  precision: z.enum(["ns", "n", "us", "u", "µ", "ms", "s", "m", "h"]).default("ns"),
}).refine(
  (input) =>
    input.format !== "json" ||
    (input.mapping !== undefined &&
      ((input.mapping.metric !== "" && input.mapping.value !== "") || input.mapping.fields !== "")),
  { message: "a json input needs mapping.metric and mapping.value, or mapping.fields", path: ["mapping"] },
).refine(
  (input) => input.format !== "envelope" || (input.tenant === "" && input.host === ""),
  { message: "an envelope input's events name their tenant and host: remove tenant and host" },
);

/** The whole configuration. */
const ConfigObjectSchema = z.strictObject({
  /** Directory for metrics.duckdb and parquet/. */
  data_dir: z.string().min(1).default("./data"),
  /** Inventory file (tenant/host -> context); empty: no inventory. */
  inventory: z.string().default(""),
  /** Rules file; empty: the built-in default rules (the brief's cpu_load thresholds). */
  rules: z.string().default(""),
  /**
   * Notification file (receivers, routes, inhibition: `config/notify.ts`), reloaded on change;
   * empty: alerts go to the alerts topic and the API only.
   */
  notify: z.string().default(""),
  /** Stages this process runs. */
  stages: z.array(StageNameSchema).min(1).default([
    "normalize",
    "enrich",
    "features",
    "rules",
    "store",
    "api",
  ]),
  /**
   * Run the stateless group (normalize + enrich) on its own thread, so the two consumer groups use
   * two cores; false keeps everything on one thread (single-core devices).
   */
  stateless_thread: z.boolean().default(true),
  /**
   * How events flow from the raw topic to the store (docs/architecture.md, Topology): `auto` (the
   * default) local while this agent owns every raw partition, switching to partitioned for good when
   * a rebalance takes partitions away; `partitioned` two consumer groups with the `events.enriched`
   * hop (scale-out); `local` one pass in one consumer (one agent owns the raw topic; batches are
   * refused while another agent shares it).
   */
  topology: TopologySchema.default("auto"),
  log_level: z.enum(["debug", "info", "warn", "error"]).default("info"),
  /**
   * One number the memory settings are derived from (`config/memory.ts`), e.g. `256MB`; empty: the
   * defaults of each key. A key set explicitly wins over its derived value.
   */
  memory_budget: z.string().default("").transform((text, ctx) => {
    if (text === "") return 0;
    const bytes = parseSize(text);
    if (bytes === undefined || bytes < MIN_MEMORY_BUDGET) {
      ctx.addIssue({
        code: "custom",
        message: `expected a size of at least ${
          formatBytes(MIN_MEMORY_BUDGET)
        } like 256MB or 1GiB, got "${text}"`,
      });
      return z.NEVER;
    }
    return bytes;
  }),
  kafka: KafkaSchema.prefault({}),
  topics: TopicsSchema.prefault({}),
  http: HttpSchema.prefault({}),
  normalize: NormalizeSchema.prefault({}),
  features: FeaturesSchema.prefault({}),
  store: StoreSchema.prefault({}),
  schema_registry: SchemaRegistrySchema.prefault({}),
  collect: CollectSchema.prefault({}),
  /** Kafka topics in other formats the stateless group reads besides the raw topic. */
  inputs: z.array(InputSchema).default([]),
}).refine((config) => config.inputs.every((input) => input.topic !== config.topics.raw), {
  message: "an input topic cannot be the raw topic",
  path: ["inputs"],
});

/**
 * The configuration schema. The age limit of events is the shorter of `normalize.max_age` and a
 * non-zero `store.parquet.retention`: the store keeps every event it accepts at least until the event is
 * as old as the retention (then maintenance deletes it), and refuses older ones to the DLQ with a
 * reason, rather than storing them and deleting them within a minute. `normalize.age_limit` says which
 * of the two set `max_age` (for the reason).
 */
export const ConfigSchema = ConfigObjectSchema.transform((config) => {
  const retention = config.store.parquet.retention;
  const maxAge = config.normalize.max_age;
  if (!(retention > 0) || (maxAge > 0 && maxAge <= retention)) return config;
  return {
    ...config,
    normalize: { ...config.normalize, max_age: retention, age_limit: "retention" as const },
  };
});

/** The validated configuration (durations in milliseconds). */
export type Config = z.output<typeof ConfigObjectSchema> & {
  normalize: { age_limit?: "retention" };
};
/** The configuration as written in YAML. */
export type ConfigInput = z.input<typeof ConfigSchema>;
