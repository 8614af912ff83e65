/**
 * Zod schemas of every query string the API accepts and of its JSON responses. Routes validate
 * with the query schemas; `api/openapi.ts` generates the OpenAPI document from all of them.
 *
 * @module
 */
import { ClusterViewSchema, PeerAlertsStateSchema, RestoreReportSchema } from "../model/cluster.ts";
import { DEFAULT_QUERY_ROWS } from "../model/query.ts";
import { z } from "zod";
import { AlertSchema, AlertStateSchema, SeveritySchema } from "../model/alert.ts";
import { EnvelopeSchema, StringMapSchema } from "../model/envelope.ts";
import { ConsumerHealthSchema as ModelConsumerHealthSchema } from "../model/health.ts";
import { boundedText, codePoints, intParam, limitParam, textParam, timeParam } from "./params.ts";
import { STEP_PATTERN } from "./times.ts";

/** Most raw points one request may return. */
export const MAX_POINTS_LIMIT = 100_000;
/** Default number of raw points or buckets returned. */
export const DEFAULT_POINTS_LIMIT = 1_000;
/** Most alerts one request may return. */
export const MAX_ALERTS_LIMIT = 10_000;
/** Default number of alerts returned. */
export const DEFAULT_ALERTS_LIMIT = 100;
/** Most alerts replayed on a fresh SSE connection with `replay`. */
export const MAX_REPLAY = 1_000;

/** Output formats of the points endpoint. */
export const FormatSchema = z.enum(["json", "csv", "ndjson"]);
/** Aggregations of bucketed queries. */
export const AggSchema = z.enum(["avg", "min", "max", "last", "count", "sum", "p50", "p90", "p95", "p99"]);

/** A tag or inventory context key as `tag.<key>` / `ctx.<key>` takes it. */
export const LABEL_KEY_PATTERN = "[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,63}";
/** The name of a label filter parameter: `tag.<key>` or `ctx.<key>`. */
export const LABEL_PARAM_PATTERN = `^(tag|ctx)\\.${LABEL_KEY_PATTERN}$`;
/** Most label filters in one request. */
export const MAX_LABEL_FILTERS = 8;
/** Longest label filter value (code points). */
export const MAX_LABEL_VALUE = 256;
/** `group_by`: the host, or one tag or context key. */
export const GROUP_BY_PATTERN = `^(host|(tag|ctx)\\.${LABEL_KEY_PATTERN})$`;

/** Longest metric name (code points). */
export const MAX_METRIC_NAME = 128;

const metricName = boundedText(
  1,
  MAX_METRIC_NAME,
  "metric must not be empty",
  `metric is longer than ${MAX_METRIC_NAME} characters`,
).meta({ description: "Metric name or alias (e.g. `cpu` -> `cpu_load`)." });

/** `GET /metrics` */
export const CatalogQuerySchema = z.strictObject({
  tenant: textParam("tenant", "Only series of this tenant."),
});

/** `GET /metrics/{metric}` */
export const PointsQuerySchema = z.strictObject({
  tenant: textParam("tenant", "Only this tenant (exact match)."),
  host: textParam("host", "Only this host (exact match)."),
  from: timeParam("from", "Start of the range (inclusive); default: the beginning of the data."),
  to: timeParam("to", "End of the range (exclusive); default: the end of the data."),
  step: z.string()
    .regex(new RegExp(STEP_PATTERN), {
      error: (issue) =>
        `step must be a positive duration like 30s, 5m, 1h (or a number of seconds, at most 10 digits), got "${
          String(issue.input)
        }"`,
    })
    .optional()
    .meta({
      description:
        "Bucket width: returns one aggregated value per bucket (and tenant/host) instead of raw points.",
      examples: ["1m"],
    }),
  agg: AggSchema.optional().meta({
    description:
      "Aggregation per bucket; default `avg`. Without `step`, one value per tenant/host over the " +
      "whole range. Percentiles (`p50`, `p90`, `p95`, `p99`) are nearest-rank.",
  }),
  group_by: z.string()
    .regex(new RegExp(GROUP_BY_PATTERN), {
      error: (issue) =>
        `group_by must be host, tag.<key> or ctx.<key> (key: letters, digits, _ . : / -, at most 64), got "${
          String(issue.input)
        }"`,
    })
    .optional()
    .meta({
      description:
        "Buckets per tenant and this: `host` (default), a tag (`tag.env`) or an inventory context key " +
        "(`ctx.site`); series without the key form the group `null`. Implies aggregation (`agg` default `avg`).",
      examples: ["ctx.site"],
    }),
  limit: limitParam(DEFAULT_POINTS_LIMIT, MAX_POINTS_LIMIT, "points or buckets"),
  format: FormatSchema.default("json").meta({ description: "Response format." }),
});

/** `GET /alerts` */
export const AlertsQuerySchema = z.strictObject({
  state: AlertStateSchema.optional().meta({
    description:
      "The alerts in this state now: the latest transition of each alert, when it is in this state.",
  }),
  severity: SeveritySchema.optional().meta({ description: "Only alerts of this severity." }),
  tenant: textParam("tenant", "Only this tenant."),
  host: textParam("host", "Only this host."),
  rule: textParam("rule", "Only this rule."),
  from: timeParam("from", "Transitions at or after this time."),
  to: timeParam("to", "Transitions before this time."),
  limit: limitParam(DEFAULT_ALERTS_LIMIT, MAX_ALERTS_LIMIT, "alerts (newest first)"),
});

/** The grammar of the `Last-Event-ID` header (also its `pattern` in the OpenAPI document); empty means none. */
export const LAST_EVENT_ID_PATTERN = "^[0-9]{0,15}$";

/** Largest alert seq accepted in `since` and `Last-Event-ID` (15 digits). */
const MAX_SEQ = 999_999_999_999_999;

/** `GET /alerts/stream` */
export const AlertStreamQuerySchema = z.strictObject({
  tenant: textParam("tenant", "Only this tenant."),
  host: textParam("host", "Only this host."),
  severity: SeveritySchema.optional().meta({ description: "Only this severity." }),
  rule: textParam("rule", "Only this rule."),
  since: intParam(0, MAX_SEQ, {
    invalid: (text) => `since must be an alert seq number, got "${text}"`,
    tooSmall: "since must be 0 or more",
    tooBig: `since must be at most ${MAX_SEQ}`,
  }).optional().meta({
    description:
      "Replay stored alerts with seq > since first (the `Last-Event-ID` header wins when both are given).",
  }),
  replay: intParam(0, MAX_REPLAY, {
    invalid: (text) => `replay must be an integer 0..${MAX_REPLAY}, got "${text}"`,
    tooSmall: "replay must be 0 or more",
    tooBig: `replay must be at most ${MAX_REPLAY}`,
  }).default(10).meta({
    description:
      "On a fresh connection (no Last-Event-ID, no since), first send the last N alerts (like `tail -f`; " +
      "default 10, 0 for live only).",
    default: 10,
  }),
});

/** `GET /events/stream` */
export const EventStreamQuerySchema = z.strictObject({
  tenant: textParam("tenant", "Only this tenant."),
  host: textParam("host", "Only this host."),
  metric: metricName.optional().meta({ description: "Only this metric (name or alias)." }),
});

/** `GET /rules` */
export const RulesQuerySchema = z.strictObject({
  metric: metricName.optional().meta({ description: "Only rules of this metric (name or alias)." }),
});

/** Queries that take no parameters. */
export const EmptyQuerySchema = z.strictObject({});

// ---------------------------------------------------------------- responses (documentation + tests)

/** Every error response. */
export const ErrorResponseSchema = z.object({
  error: z.object({
    status: z.int(),
    message: z.string().meta({ description: "What went wrong and what to change." }),
    details: z.unknown().optional(),
  }),
}).meta({ id: "Error" });

/** One series in the catalog. */
export const SeriesSchema = z.object({
  tenant: z.string(),
  host: z.string(),
  metric: z.string(),
  unit: z.string().optional(),
  rows: z.int(),
  first_ts: z.string().meta({ description: "ISO 8601, UTC." }),
  last_ts: z.string().meta({ description: "ISO 8601, UTC." }),
});

/** `GET /metrics` response. */
/**
 * What a fan-out answer (scale-out: several agents in the groups) says of the agents it was built
 * from; absent when this agent is alone.
 */
export const CoverageShape = {
  agents: z.array(z.string()).optional().meta({
    description: "The agents whose stores the answer was built from (this one first).",
  }),
  partial: z.boolean().optional().meta({
    description: "Some agent did not answer: its series are missing (header `X-EventOps-Partial: true`).",
  }),
  unreachable: z.array(z.object({ url: z.string(), error: z.string() })).optional().meta({
    description: "The agents that did not answer, and why.",
  }),
  restoring: z.array(z.object({ url: z.string(), partitions: z.array(z.int()) })).optional().meta({
    description:
      "The agents restoring the rows of a departed agent from `events.enriched`, and the partitions " +
      "whose series they do not hold whole yet (the answer is partial meanwhile).",
  }),
};

export const CatalogResponseSchema = z.object({
  tenants: z.array(z.string()),
  hosts: z.array(z.string()),
  metrics: z.array(z.string()),
  series: z.array(SeriesSchema),
  ...CoverageShape,
}).meta({ id: "Catalog" });

/** `GET /cluster`. */
export const ClusterResponseSchema = z.object({
  self: z.string().nullable().meta({ description: "This agent's advertised base URL (`http.advertise`)." }),
  view: ClusterViewSchema.nullable().meta({
    description: "The consumer group that stores the series: each member's advertised URL and partitions.",
  }),
  unowned_partitions: z.array(z.int()).meta({
    description: "Partitions no member owns now (a rebalance in progress): reads of their series answer 503.",
  }),
  peer_alerts: PeerAlertsStateSchema.meta({
    description:
      "The feed of the other agents' alerts into this agent's `/alerts/stream` (read from the alerts " +
      "topic once the group has another agent): `off` while alone, `consuming` once it reads.",
  }),
  restoring: z.array(z.int()).optional().meta({
    description:
      "Partitions whose departed owner's rows this agent is restoring now (its answers are partial).",
  }),
  last_restore: RestoreReportSchema.nullable().optional().meta({
    description: "The last restore of a departed agent's rows by this agent; null before any.",
  }),
}).meta({ id: "Cluster" });

/** One point or bucket. */
export const PointSchema = z.object({
  ts: z.string().meta({ description: "ISO 8601, UTC (bucket start for bucketed queries)." }),
  value: z.number(),
  tenant: z.string(),
  host: z.string().optional().meta({ description: "The host (points, and buckets grouped by host)." }),
  group: z.string().nullable().optional().meta({
    description: "The `group_by` tag or context value of the bucket (null: series without the key).",
  }),
  unit: z.string().optional(),
  tags: StringMapSchema.optional(),
  ctx: StringMapSchema.optional(),
});

/** `GET /metrics/{metric}` response (JSON). */
export const PointsResponseSchema = z.object({
  metric: z.string().meta({ description: "Canonical metric name." }),
  requested: z.string().meta({ description: "The name as requested (may be an alias)." }),
  tenant: z.string().nullable(),
  host: z.string().nullable(),
  from: z.string().nullable(),
  to: z.string().nullable(),
  step: z.string().optional().meta({ description: "Bucket width as given, when bucketed." }),
  step_ms: z.int().optional(),
  agg: AggSchema.optional(),
  group_by: z.string().optional().meta({ description: "What buckets are grouped by besides the tenant." }),
  filters: z.record(z.string(), z.string()).optional().meta({
    description: "The `tag.<key>` and `ctx.<key>` filters applied, when any.",
  }),
  count: z.int(),
  truncated: z.boolean().meta({ description: "True when more rows matched than `limit`." }),
  points: z.array(PointSchema),
}).meta({ id: "Points" });

/** A stored alert. */
export const StoredAlertSchema = AlertSchema.extend({ seq: z.int() }).meta({ id: "Alert" });

/** `GET /alerts` response. */
export const AlertsResponseSchema = z.object({
  count: z.int(),
  alerts: z.array(StoredAlertSchema),
  ...CoverageShape,
}).meta({ id: "Alerts" });

/** One item's outcome in `POST /ingest`. */
export const IngestResultSchema = z.object({
  index: z.int(),
  status: z.enum(["accepted", "rejected"]),
  partition: z.int().optional(),
  offset: z.string().optional(),
  error: z.string().optional().meta({
    description: "Why the item was rejected: for a JSON object, the reason its dead letter carries.",
  }),
  dlq: z.boolean().optional().meta({
    description: "The rejected item was kept: it goes to the dead-letter topic with `error` as its reason.",
  }),
});

/**
 * `POST /ingest` JSON body: one object, or a non-empty array whose items are judged one by one (an
 * item that is not an object is rejected in `results`, the others go on).
 */
export const IngestRequestSchema = z.union([
  z.looseObject({}).meta({ description: "One raw event." }),
  z.array(z.unknown()).min(1).meta({
    description: "Raw events; an item that is not a JSON object is rejected on its own.",
  }),
]).meta({ id: "IngestRequest" });

/** `POST /ingest` response. */
export const IngestResponseSchema = z.object({
  accepted: z.int(),
  rejected: z.int(),
  results: z.array(IngestResultSchema),
}).meta({ id: "IngestResult" });

/** `POST /ingest` 400 response: an error, with the items' results when the body could be read. */
export const IngestErrorResponseSchema = ErrorResponseSchema.extend({
  accepted: z.int().optional(),
  rejected: z.int().optional(),
  results: z.array(IngestResultSchema).optional(),
}).meta({ id: "IngestError" });

/** The `dropped` notice of `/events/stream`. */
export const DroppedNoticeSchema = z.object({
  dropped: z.int().meta({ description: "Events dropped since the last notice." }),
  total: z.int().meta({ description: "Events dropped since the client connected." }),
  max_rate: z.int().meta({ description: "The per-client rate limit (`http.events_stream_max_rate`)." }),
}).meta({ id: "DroppedNotice" });

/** The `scope` event of `/events/stream` in a cluster: the stream carries this agent's events only. */
export const StreamScopeSchema = z.object({
  scope: z.literal("agent"),
  agent: z.string().meta({ description: "This agent's advertised base URL." }),
  other_agents: z.array(z.string()).meta({
    description: "The other agents, whose events this stream lacks.",
  }),
  note: z.string(),
}).meta({ id: "StreamScope" });
/** See {@link StreamScopeSchema}. */
export type StreamScope = z.infer<typeof StreamScopeSchema>;

/** `GET /healthz` response. */
export const HealthResponseSchema = z.object({
  status: z.literal("ok"),
  version: z.string(),
  uptime_s: z.number(),
});

/** One consumer group in `/readyz` and `/status` (`model/health.ts`, under its OpenAPI name). */
export const ConsumerHealthSchema = ModelConsumerHealthSchema.meta({ id: "ConsumerGroupHealth" });

/** `GET /readyz` response. */
export const ReadyResponseSchema = z.object({
  ready: z.boolean(),
  checks: z.object({
    broker: z.object({ ok: z.boolean(), error: z.string().optional() }),
    store: z.object({ ok: z.boolean(), error: z.string().optional() }),
    consumer_lag: z.object({ ok: z.boolean(), value: z.number().nullable(), max: z.number().nullable() }),
    consumers: z.object({ ok: z.boolean(), groups: z.array(ConsumerHealthSchema) }),
    store_readable: z.object({
      ok: z.boolean(),
      error: z.string().optional(),
      ms: z.number(),
      damaged_parts: z.int().meta({
        description: "Parquet parts missing or damaged (taken out of the queries).",
      }),
      unreadable_rows: z.int().meta({ description: "Rows those parts hold." }),
      damaged: z.array(z.object({
        path: z.string().meta({ description: "Relative to `data_dir/parquet`." }),
        problem: z.string(),
        rows: z.int(),
        quarantine: z.string().nullable().meta({ description: "Where the file was moved (in `data_dir`)." }),
      })).meta({ description: "Up to 10 of them." }),
    }).optional(),
  }),
  reasons: z.array(z.string()),
  degraded: z.boolean().meta({
    description: "Ready, but some stored data cannot be read (`warnings` says which).",
  }),
  warnings: z.array(z.string()),
}).meta({ id: "Readiness" });

/** `GET /rules` response. */
export const RulesResponseSchema = z.object({
  rules: z.array(z.object({
    name: z.string(),
    metric: z.string(),
    warning: z.number().nullable(),
    critical: z.number().nullable(),
    direction: z.enum(["above", "below"]).optional(),
    source: z.string().optional(),
    op: z.enum([">", ">=", "<", "<="]).optional(),
    for: z.string().optional().meta({ description: "How long the condition must hold before firing." }),
    clear: z.number().optional().meta({ description: "The level that resolves the alert (hysteresis)." }),
    match: z.object({
      tenant: z.string().optional(),
      host: z.string().optional(),
      tags: z.record(z.string(), z.string()).optional(),
      ctx: z.record(z.string(), z.string()).optional(),
    }).optional().meta({ description: "Patterns an event must match (exact or glob)." }),
    unit: z.string().nullable().optional().meta({
      description:
        "The unit the rule's levels are written in (`warning`, `critical` and `clear` here are in the metric's " +
        "canonical unit, as stored); null: written in the canonical unit.",
    }),
    labels: z.record(z.string(), z.string()).optional(),
    annotations: z.record(z.string(), z.string()).optional().meta({ description: "Annotation templates." }),
  })),
}).meta({ id: "Rules" });

/** `GET /status` response. */
export const StatusResponseSchema = z.object({
  version: z.string(),
  started_at: z.string(),
  uptime_s: z.number(),
  stages: z.array(z.string()),
  topology: z.object({
    configured: z.enum(["auto", "local", "partitioned"]),
    running: z.enum(["local", "partitioned"]).nullable(),
  }).optional().meta({
    description: "The configured topology and the one running now (`auto`: local until another agent joins).",
  }),
  rates: z.record(z.string(), z.number()),
  consumer_lag: z.number().nullable(),
  consumers: z.array(ConsumerHealthSchema).optional(),
  dlq: z.object({ total: z.number(), by_stage: z.record(z.string(), z.number()) }),
  totals: z.record(z.string(), z.number()).optional(),
  memory: z.object({
    budget_bytes: z.number(),
    store_memory_limit: z.string(),
    store_threads: z.int(),
    store_allocator_flush_threshold: z.string(),
    query_max_memory_bytes: z.number(),
    fetch_max_bytes: z.number(),
    batch_max_bytes: z.number(),
    batch_max_messages: z.int(),
    features_max_series: z.int(),
    v8_old_space_derived_mib: z.number().nullable(),
    v8_heap_limit_mib: z.number(),
  }).optional().meta({
    description:
      "The memory settings in effect: memory_budget (0: unset) and what it derived (config/memory.ts).",
  }),
  api: z.object({
    sse_clients: z.object({ alerts: z.int(), events: z.int() }),
    rss_bytes: z.number(),
  }),
}).meta({ id: "Status" });

/** The enriched event sent by `/events/stream`. */
export const EventSchema = EnvelopeSchema.meta({ id: "Envelope" });

/** Most rows `POST /query` may return. */
export const MAX_QUERY_ROWS = 100_000;
/** Longest SQL text `POST /query` accepts (characters). */
export const MAX_QUERY_SQL = 100_000;

/** `POST /query` request body. */
export const QueryRequestSchema = z.strictObject({
  sql: z.string({
    error: (issue) => issue.input === undefined ? "sql is required" : "sql must be a string",
  }).refine((sql) => codePoints(sql) <= MAX_QUERY_SQL, {
    error: `sql is longer than ${MAX_QUERY_SQL} characters`,
    abort: true,
  }).trim().min(1, "sql is empty").meta({
    description: "One read-only statement (SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN) over " +
      "`metrics` (hot rows: a view of `metric_rows` joined with `series`), `alerts`, `parquet_parts` or `metrics_all` (hot + Parquet).",
    examples: ["SELECT host, count(*) FROM metrics_all GROUP BY host"],
    pattern: "\\S",
    maxLength: MAX_QUERY_SQL,
  }),
  max_rows: z.int({ error: `max_rows must be an integer 1..${MAX_QUERY_ROWS}` })
    .min(1, "max_rows must be 1 or more")
    .max(MAX_QUERY_ROWS, `max_rows must be at most ${MAX_QUERY_ROWS}`)
    .default(DEFAULT_QUERY_ROWS)
    .meta({ description: "Most rows returned; `truncated` tells whether there were more." }),
  agents: z.enum(["self", "all"]).default("self").meta({
    description:
      "Scale-out: `self` runs the statement on this agent's store only (in a cluster the answer names " +
      "the other agents, `scope`); `all` runs it on every agent and concatenates the results with an `agent` " +
      "column first (each agent's own result: aggregates are per agent, this is not distributed SQL; " +
      "`max_rows` applies per agent).",
  }),
}).meta({ id: "QueryRequest" });

/** `POST /query` response. */
export const QueryResponseSchema = z.object({
  columns: z.array(z.object({
    name: z.string(),
    type: z.string().meta({ description: "DuckDB type, e.g. BIGINT, VARCHAR, TIMESTAMP WITH TIME ZONE." }),
  })),
  rows: z.array(z.array(z.unknown())).meta({
    description: "Rows in column order. 64-bit integers are numbers when exact (else strings), " +
      "timestamps ISO 8601 UTC, nested values JSON.",
  }),
  truncated: z.boolean().meta({
    description: "True when more rows existed than `max_rows` or `store.query.max_result_bytes` allows.",
  }),
  truncated_by: z.enum(["max_rows", "max_result_bytes"]).optional().meta({
    description: "Which limit cut the rows, when `truncated`.",
  }),
  scope: z.object({ agent: z.string(), other_agents: z.array(z.string()) }).optional().meta({
    description:
      "In a cluster, with `agents: self`: the answer covers this agent's store only; the other agents " +
      "store other series (ask with `agents: all`).",
  }),
  ...CoverageShape,
}).meta({ id: "QueryResult" });

// ---------------------------------------------------------------- collect (protocol receivers)

/** Query parameters every protocol receiver takes (unknown ones are ignored, as the protocols' servers do). */
export const CollectQuerySchema = z.object({
  tenant: textParam("tenant", "Tenant of items that carry no `tenant_id` tag, label or attribute."),
  host: textParam("host", "Host of items that carry no `host` tag, label or attribute."),
});

/** `POST /write` and `POST /api/v2/write` query parameters. */
export const InfluxWriteQuerySchema = CollectQuerySchema.extend({
  precision: z.enum(["ns", "n", "us", "u", "µ", "ms", "s", "m", "h"]).optional().meta({
    description: "Unit of the lines' timestamps; default `ns`.",
  }),
  db: textParam("db", "InfluxDB 1.x database: the tenant when `tenant` is not given."),
  org: textParam("org", "InfluxDB 2.x organization: the tenant when `tenant` is not given."),
  bucket: textParam("bucket", "InfluxDB 2.x bucket: the tenant when neither `tenant` nor `org` is given."),
  u: textParam("u", "InfluxDB 1.x user name (ignored)."),
  p: textParam("p", "InfluxDB 1.x password: the API token, when not sent in a header."),
});

/** A protocol receiver's answer when some items were not taken. */
export const CollectErrorResponseSchema = ErrorResponseSchema.extend({
  accepted: z.int().optional().meta({ description: "Events written to the raw topic." }),
  rejected: z.int().optional().meta({
    description: "Items not converted (each sent to the DLQ with its reason).",
  }),
  errors: z.array(z.string()).optional().meta({ description: "The first 20 reasons." }),
}).meta({ id: "CollectError" });

/** OTLP `ExportMetricsServiceResponse` (JSON encoding). */
export const OtlpResponseSchema = z.object({
  partialSuccess: z.object({
    rejectedDataPoints: z.string().meta({ description: "Data points not taken (int64 as a string)." }),
    errorMessage: z.string(),
  }).optional(),
}).meta({ id: "OtlpExportMetricsResponse" });
