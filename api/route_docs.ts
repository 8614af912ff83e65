/**
 * The route table of the OpenAPI document (`openapi.ts`): every operation the API serves, with its
 * summary, parameters, request and response schemas (the same zod schemas the routes validate
 * with), security and the events of its streams. `tests/api/openapi_test.ts` checks that every
 * registered route is described here.
 *
 * @module
 */
import type { z } from "zod";
import { JS_NAME } from "../ui/assets.gen.ts";
import {
  AlertsQuerySchema,
  AlertsResponseSchema,
  AlertStreamQuerySchema,
  CatalogQuerySchema,
  CatalogResponseSchema,
  ClusterResponseSchema,
  CollectErrorResponseSchema,
  CollectQuerySchema,
  DroppedNoticeSchema,
  EmptyQuerySchema,
  ErrorResponseSchema,
  EventSchema,
  EventStreamQuerySchema,
  HealthResponseSchema,
  InfluxWriteQuerySchema,
  IngestErrorResponseSchema,
  IngestRequestSchema,
  IngestResponseSchema,
  LABEL_PARAM_PATTERN,
  LAST_EVENT_ID_PATTERN,
  MAX_LABEL_FILTERS,
  MAX_LABEL_VALUE,
  MAX_METRIC_NAME,
  OtlpResponseSchema,
  PointsQuerySchema,
  PointsResponseSchema,
  QueryRequestSchema,
  QueryResponseSchema,
  ReadyResponseSchema,
  RulesQuerySchema,
  RulesResponseSchema,
  StatusResponseSchema,
  StoredAlertSchema,
  StreamScopeSchema,
} from "./schemas.ts";
import { PeerAlertSchema } from "../model/alert.ts";
import { NOTIFY_ROUTE_DOCS } from "./notify_openapi.ts";

/** Security requirement of a route. */
export type Auth = "none" | "read" | "write";

/** One documented response. */
export interface ResponseDoc {
  description: string;
  schema?: z.ZodType;
  /** Content type when not JSON. */
  contentType?: string;
  /** Extra content types with free-form bodies. */
  alternatives?: string[];
  /** The response has no body (304). */
  noContent?: boolean;
  /** A `text/event-stream` response: its events. */
  sseEvents?: SseEventDoc[];
}

/** One kind of server-sent event. */
export interface SseEventDoc {
  event: string;
  /** Description of the `id` field, when the event has one (digits). */
  id?: string;
  /** Schema of the JSON in `data`. */
  data: z.ZodType;
  description: string;
}

/** One documented operation. */
export interface RouteDoc {
  method: "get" | "post" | "delete";
  /** OpenAPI path, e.g. `/metrics/{metric}`. */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  auth: Auth;
  query?: z.ZodObject;
  /**
   * Query parameters named by a pattern (`tag.<key>`, `ctx.<key>`): one exploded object parameter
   * `name` whose property names match `pattern`.
   */
  patternParams?: {
    name: string;
    description: string;
    pattern: string;
    maxValueLength: number;
    maxCount: number;
  };
  pathParams?: {
    name: string;
    description: string;
    example?: string;
    maxLength?: number;
    pattern?: string;
  }[];
  headers?: { name: string; description: string; pattern?: string }[];
  /** `schema` describes the `application/json` body (default: an object or an array of objects). */
  /** `optional`: the body may be left out. */
  requestBody?: { description: string; contentTypes: string[]; schema?: z.ZodType; optional?: boolean };
  responses: Record<string, ResponseDoc>;
}

const errorResponse = (description: string): ResponseDoc => ({ description, schema: ErrorResponseSchema });
const badRequest = errorResponse(
  "Invalid input; `error.message` says what to change, `error.details` lists each problem.",
);
const unauthorized = errorResponse(
  "Token missing or wrong (reads need it only when `http.token_for_reads` is set).",
);
export const tooManyRequests = errorResponse(
  "Too many requests in progress from this address (`http.max_requests_per_ip`), or too many wrong " +
    "tokens (`http.auth_failure_burst`), or (TCP front) too many open connections from this address " +
    "(`http.max_connections_per_ip`); `Retry-After` says when to retry.",
);
export const serverBusy = errorResponse(
  "The server is at its connection limit (`http.max_connections`); `Retry-After` says when to retry.",
);
const requestTimeout = errorResponse(
  "The body did not arrive within `http.body_timeout`; the connection is closed.",
);
const tooLarge = errorResponse("Body larger than `http.max_body_bytes`.");

/** The responses of the two Prometheus paths. */
const prometheusResponses = {
  "200": { description: "Prometheus text exposition 0.0.4.", contentType: "text/plain; version=0.0.4" },
  "400": badRequest,
  "401": unauthorized,
};

const SSE = "text/event-stream";

/** The SSE events of a stream: `schema` of `text/event-stream` is the schema of each event. */
const ALERT_EVENTS: SseEventDoc[] = [{
  event: "alert",
  id: "The alert's seq (send it back as Last-Event-ID).",
  data: StoredAlertSchema,
  description: "An alert transition; `data` is the Alert as JSON.",
}, {
  event: "alert",
  data: PeerAlertSchema,
  description:
    "Scale-out: an alert transition another agent fired (live only, no `id`); `data` names that agent.",
}];
const EVENT_STREAM_EVENTS: SseEventDoc[] = [
  { event: "event", data: EventSchema, description: "An enriched event; `data` is the Envelope as JSON." },
  {
    event: "dropped",
    data: DroppedNoticeSchema,
    description: "Events the per-client rate limit dropped since the last notice.",
  },
  {
    event: "scope",
    data: StreamScopeSchema,
    description:
      "Scale-out, first event of a stream not limited to one series: it carries this agent's events only.",
  },
];

const COLLECT_COMMON =
  "Events go to the raw topic like `POST /ingest` (then normalize, enrich, store: exactly once). Needs the " +
  "write token (`Authorization: Bearer <token>`).";

/** The responses every protocol receiver shares, plus `own`. */
function collectResponses(own: Record<string, ResponseDoc>): Record<string, ResponseDoc> {
  return {
    ...own,
    "400": {
      description:
        "The body is unreadable (corrupt compression, not the protocol), or some items were not taken " +
        "(`accepted`, `rejected`, `errors`; those items are in the DLQ with their reasons).",
      schema: CollectErrorResponseSchema,
    },
    "401": errorResponse("Token missing or wrong."),
    "403": errorResponse("Writes are disabled because no token is configured (set EVENTOPS_HTTP_TOKEN)."),
    "408": requestTimeout,
    "413": errorResponse("Body larger than `http.max_body_bytes` (also once decompressed)."),
    "415": errorResponse("A `Content-Encoding` other than gzip (or snappy for remote write)."),
    "503": errorResponse("The broker did not accept the events (nothing was taken; retry later)."),
  };
}

/** The docs of an Influx line-protocol write route. */
function influxDocs(path: string, client: string): RouteDoc[] {
  return [{
    method: "post",
    path,
    summary: `Influx line protocol, as ${client}: fields to raw events`,
    description:
      "Body: line protocol (optionally `Content-Encoding: gzip`), up to `http.max_body_bytes`. One raw event per " +
      "numeric or boolean field: metric `<measurement>_<field>` (the measurement alone for a field named " +
      "`value`), tags as tags; the `tenant_id` tag (else `?tenant=`, `db`, `org` or `bucket`) names the tenant, " +
      "the `host` tag (else `?host=`) the host; timestamps in `precision` (default ns), now when absent. String " +
      "fields and malformed lines go to the DLQ with a reason. 204 when everything was taken. The token may " +
      "also come as `Authorization: Token <token>` or as the password (Basic auth or `?p=`). " +
      COLLECT_COMMON,
    tag: "collect",
    auth: "write",
    query: InfluxWriteQuerySchema,
    requestBody: { description: "Line protocol.", contentTypes: ["text/plain"] },
    responses: collectResponses({ "204": { description: "Every line was taken.", noContent: true } }),
  }];
}

/** Every operation the API serves. */
export const ROUTE_DOCS: RouteDoc[] = [
  {
    method: "get",
    path: "/metrics",
    summary: "Catalog: tenants, hosts, metrics and stored series",
    tag: "metrics",
    auth: "read",
    query: CatalogQuerySchema,
    responses: {
      "200": { description: "The catalog.", schema: CatalogResponseSchema },
      "400": badRequest,
      "401": unauthorized,
    },
  },
  {
    method: "get",
    path: "/metrics/{metric}",
    summary: "Points of one metric, or aggregated buckets with `step`",
    description:
      "Raw points ascending by time, or one aggregated value per `step` bucket (and tenant/host, or tenant and the " +
      "`group_by` tag or context value). `tag.<key>=value` and `ctx.<key>=value` filter on tags and inventory " +
      "context. The metric may be an " +
      "alias (`cpu` -> `cpu_load`). `format=csv|ndjson` streams the same rows as text. When more rows match than " +
      "`limit`, the first `limit` are returned with `truncated: true` (and the `X-Truncated: true` header).",
    tag: "metrics",
    auth: "read",
    query: PointsQuerySchema,
    patternParams: {
      name: "filters",
      description: "Exact matches on tags and inventory context, all required: `tag.<key>=<value>` " +
        "(e.g. `tag.env=prod`) and `ctx.<key>=<value>` (e.g. `ctx.site=plant-1`), each parameter written as its own " +
        "`name=value` pair (the key: letters, digits, `_ . : / -`, at most 64).",
      pattern: LABEL_PARAM_PATTERN,
      maxValueLength: MAX_LABEL_VALUE,
      maxCount: MAX_LABEL_FILTERS,
    },
    pathParams: [{
      name: "metric",
      description: "Metric name or alias.",
      example: "cpu",
      maxLength: MAX_METRIC_NAME,
    }],
    responses: {
      "200": {
        description: "Points (JSON), or CSV / NDJSON with `format`.",
        schema: PointsResponseSchema,
        alternatives: ["text/csv", "application/x-ndjson"],
      },
      "400": badRequest,
      "401": unauthorized,
      "404": errorResponse("Unknown metric; `error.details.known` lists the stored metrics."),
    },
  },
  {
    method: "get",
    path: "/alerts",
    summary: "Alert transitions, newest first",
    tag: "alerts",
    auth: "read",
    query: AlertsQuerySchema,
    responses: {
      "200": { description: "Alerts.", schema: AlertsResponseSchema },
      "400": badRequest,
      "401": unauthorized,
    },
  },
  {
    method: "get",
    path: "/alerts/stream",
    summary: "Live alerts (server-sent events) with replay",
    description:
      "Events `event: alert`, `id: <seq>`, `data: <Alert JSON>`. Sends `retry: 3000` first. With a `Last-Event-ID` header " +
      "(sent automatically by browsers on reconnect) or `since`, stored alerts after that seq are replayed before live " +
      "ones. A `: ping` comment is sent every `http.sse_heartbeat`. Clients that stop reading are disconnected and " +
      "resume with `Last-Event-ID`. Scale-out: the stream also carries the alerts the other agents fire, live, as " +
      "`event: alert` without `id` whose data has `agent` (the agent that fired it) instead of `seq`; each alert " +
      "arrives once. Those missed while disconnected are in `GET /alerts` (fanned out), not replayed.",
    tag: "alerts",
    auth: "read",
    query: AlertStreamQuerySchema,
    headers: [{
      name: "Last-Event-ID",
      description: "Seq of the last alert received; replay starts after it (empty: none).",
      pattern: LAST_EVENT_ID_PATTERN,
    }],
    responses: {
      "200": {
        description:
          "An endless event stream; the schema is that of each event (`data` is an Alert as JSON). " +
          "Comments (`: ping`) and the `retry:` field carry no data.",
        contentType: SSE,
        sseEvents: ALERT_EVENTS,
      },
      "400": badRequest,
      "401": unauthorized,
      "429": errorResponse(
        "This address holds `http.sse_max_clients_per_ip` alert streams already (or another limit, see " +
          "the other routes); `Retry-After` says when to retry.",
      ),
      "503": errorResponse(
        "Every alert stream slot (`http.sse_max_clients`) is taken by distinct addresses, or the server is at " +
          "its connection limit.",
      ),
    },
  },
  {
    method: "get",
    path: "/events/stream",
    summary: "Live enriched events (server-sent events), rate-limited per client",
    description:
      "Events `event: event`, `data: <Envelope JSON>`, at most `http.events_stream_max_rate` per second per client. " +
      'Events over the rate are dropped and announced with `event: dropped`, `data: {"dropped", "total", "max_rate"}`.',
    tag: "events",
    auth: "read",
    query: EventStreamQuerySchema,
    responses: {
      "200": {
        description: "An endless event stream; the schema is that of each event (`data` is JSON).",
        contentType: SSE,
        sseEvents: EVENT_STREAM_EVENTS,
      },
      "400": badRequest,
      "401": unauthorized,
      "429": errorResponse(
        "This address holds `http.sse_max_clients_per_ip` event streams already (or another limit, see the " +
          "other routes); `Retry-After` says when to retry.",
      ),
      "503": errorResponse(
        "Every event stream slot (`http.sse_max_clients`) is taken by distinct addresses, or the server is at " +
          "its connection limit.",
      ),
    },
  },
  {
    method: "post",
    path: "/ingest",
    summary: "Send raw events to the raw Kafka topic",
    description:
      "Body: a JSON object, a JSON array of objects, or NDJSON (one object per line), up to `http.max_body_bytes`, " +
      "within `http.body_timeout`. Each object becomes one Kafka message; the normalize stage validates fields " +
      "(bad events go to the DLQ). An array item or NDJSON line that is not a JSON object is rejected on its own " +
      "and reported in `results`, as is an item larger than the raw topic's `max.message.bytes` (the broker would " +
      "refuse it). A request's items go to one partition, in order, in produce requests that fit the topic. 202 " +
      "when all items were accepted, 207 when some were, 400 when none. Needs " +
      "`Authorization: Bearer <token>`.",
    tag: "ingest",
    auth: "write",
    requestBody: {
      description: "Raw events.",
      contentTypes: ["application/json", "application/x-ndjson", "text/plain"],
      schema: IngestRequestSchema,
    },
    responses: {
      "202": { description: "All items accepted.", schema: IngestResponseSchema },
      "207": { description: "Some items accepted; see `results`.", schema: IngestResponseSchema },
      "400": {
        description:
          "No item accepted (then also `accepted`, `rejected`, `results`), or the body is unreadable.",
        schema: IngestErrorResponseSchema,
      },
      "401": errorResponse("Token missing or wrong."),
      "403": errorResponse("Writes are disabled because no token is configured (set EVENTOPS_HTTP_TOKEN)."),
      "408": requestTimeout,
      "413": tooLarge,
      "503": errorResponse(
        "The broker did not accept the messages (retry later), or the server is at its connection limit.",
      ),
    },
  },
  ...influxDocs("/write", "InfluxDB 1.x (Telegraf `outputs.influxdb`)"),
  ...influxDocs("/api/v2/write", "InfluxDB 2.x (Telegraf `outputs.influxdb_v2`)"),
  {
    method: "post",
    path: "/api/v1/write",
    summary: "Prometheus remote write 1.0: samples to raw events",
    description:
      "Body: a Snappy block-compressed `WriteRequest` protobuf (`Content-Encoding: snappy`), up to " +
      "`http.max_body_bytes`. One raw event per sample: `__name__` is the metric, the `tenant_id` label (else " +
      "`?tenant=`) the tenant, `host` (else `instance`, else `?host=`) the host, other labels are tags. " +
      "Non-finite samples and series without a name, tenant or host go to the DLQ with a reason. 204 when " +
      `everything was taken. ${COLLECT_COMMON}`,
    tag: "collect",
    auth: "write",
    query: CollectQuerySchema,
    requestBody: { description: "Snappy-compressed WriteRequest.", contentTypes: ["application/x-protobuf"] },
    responses: collectResponses({ "204": { description: "Every sample was taken.", noContent: true } }),
  },
  {
    method: "post",
    path: "/v1/metrics",
    summary: "OTLP/HTTP metrics (protobuf or JSON): data points to raw events",
    description:
      "Body: an `ExportMetricsServiceRequest`, `application/x-protobuf` or `application/json` (optionally " +
      "gzip), up to `http.max_body_bytes`. Gauge and sum points become one event each (tag `otel_type`: " +
      "`counter` for monotonic sums, else `gauge`); a histogram or exponential histogram point becomes " +
      "`<name>_count`, `<name>_sum` and cumulative `<name>_bucket` events with the upper bound in tag `le` " +
      "(in the unit the sum is stored in; exponential buckets' bounds computed from scale and offset, the zero " +
      "bucket between the negative and positive ones); a summary point becomes `<name>_count`, `<name>_sum` " +
      "and `<name>` per quantile (tag `quantile`). Resource, scope and point " +
      "attributes are tags; `tenant_id` (else `?tenant=`) names the tenant, `host`/`host.name`/" +
      "`service.instance.id` (else `?host=`) the host. Always 200 once the body is read, with " +
      "`partialSuccess` (rejected count and reasons) when some points were not taken. " + COLLECT_COMMON,
    tag: "collect",
    auth: "write",
    query: CollectQuerySchema,
    requestBody: {
      description: "ExportMetricsServiceRequest.",
      contentTypes: ["application/x-protobuf", "application/json"],
    },
    responses: collectResponses({
      "200": {
        description: "Taken; `partialSuccess` when some points were not.",
        schema: OtlpResponseSchema,
        alternatives: ["application/x-protobuf"],
      },
      "415": errorResponse("Content-Type is neither `application/x-protobuf` nor `application/json`."),
    }),
  },
  {
    method: "post",
    path: "/query",
    summary: "Run one read-only SQL statement against the store (used by `eventops query`)",
    description:
      "DuckDB SQL over `metrics` (hot rows: a view of `metric_rows` joined with `series`), `alerts`, `parquet_parts` and `metrics_all` (hot rows and Parquet files " +
      "as one view). Exactly one SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE or EXPLAIN statement, run in a read-only " +
      "transaction under the budgets of `store.query` (one statement at a time; a timeout; the agent's memory " +
      "growth; result bytes; the largest value repeat, lpad, range and the like may build); files outside the " +
      "data directory are not readable. " +
      "A read, but it needs a credential (results include every stored row): `Authorization: Bearer <token>` " +
      "with the API token, or, from a loopback address only, with the agent's local credential " +
      "(`<data_dir>/local.credential`), which `eventops query` on the agent's machine sends.",
    tag: "query",
    auth: "write", // the bearer token's security scheme (or the local credential, see the description)
    requestBody: {
      description: "The statement and an optional row cap.",
      contentTypes: ["application/json"],
      schema: QueryRequestSchema,
    },
    responses: {
      "200": { description: "Columns and rows.", schema: QueryResponseSchema },
      "400": errorResponse(
        "Not exactly one read-only statement, or SQL DuckDB refuses; `error.message` is DuckDB's message.",
      ),
      "401": errorResponse("Token missing or wrong."),
      "403": errorResponse(
        "Queries from other machines are disabled because no token is configured (set EVENTOPS_HTTP_TOKEN).",
      ),
      "408": requestTimeout,
      "413": errorResponse(
        "Body larger than `http.max_body_bytes`, or one result row larger than `store.query.max_result_bytes` " +
          "(`error.details`: `{budget, setting, limit}`).",
      ),
      "422": errorResponse(
        "The statement went over a budget: `error.details.budget` is `value_bytes` (refused before it ran; " +
          "`function` and `position` say where), `memory` or `timeout` (interrupted); `setting` names the " +
          "setting and `limit` its value (bytes or ms); `error.message` says what to change.",
      ),
      "429": errorResponse(
        "Another statement is running and 4 are waiting, or a per-client limit (`http.max_requests_per_ip`, " +
          "wrong tokens, connections); retry after `Retry-After` seconds.",
      ),
      "503": errorResponse("This agent does not run the store, or the server is at its connection limit."),
    },
  },
  {
    method: "get",
    path: "/rules",
    summary: "Active rules' thresholds (for threshold lines)",
    tag: "meta",
    auth: "read",
    query: RulesQuerySchema,
    responses: {
      "200": { description: "Rules.", schema: RulesResponseSchema },
      "400": badRequest,
      "401": unauthorized,
    },
  },
  {
    method: "get",
    path: "/cluster",
    summary: "Scale-out: the agents of the group and the partitions each owns",
    description:
      "Each agent advertises its API address (`http.advertise`) in its consumer group membership; any agent " +
      "reads every member's address and partitions from the group coordinator (after each rebalance and every " +
      "5 s). A read of one series (`/metrics/{metric}` with `tenant` and `host`) is forwarded to the agent that " +
      "owns its partition; the catalog and `/alerts` fan out to every agent and merge.",
    tag: "meta",
    auth: "read",
    query: EmptyQuerySchema,
    responses: {
      "200": {
        description: "The cluster map (`view` null before it was read).",
        schema: ClusterResponseSchema,
      },
      "400": badRequest,
      "401": unauthorized,
    },
  },
  {
    method: "get",
    path: "/status",
    summary: "Agent status: rates, consumer lag, DLQ counts, stream clients",
    tag: "meta",
    auth: "read",
    query: EmptyQuerySchema,
    responses: {
      "200": { description: "Status.", schema: StatusResponseSchema },
      "400": badRequest,
      "401": unauthorized,
    },
  },
  {
    method: "get",
    path: "/healthz",
    summary: "Liveness: the process answers",
    tag: "health",
    auth: "none",
    query: EmptyQuerySchema,
    responses: { "200": { description: "Alive.", schema: HealthResponseSchema }, "400": badRequest },
  },
  {
    method: "get",
    path: "/readyz",
    summary: "Readiness: broker reachable, store writable, consumer lag within bounds",
    tag: "health",
    auth: "none",
    query: EmptyQuerySchema,
    responses: {
      "200": { description: "Ready.", schema: ReadyResponseSchema },
      "400": badRequest,
      "503": { description: "Not ready; `reasons` says why.", schema: ReadyResponseSchema },
    },
  },
  {
    method: "get",
    path: "/prometheus",
    summary: "The agent's own metrics, Prometheus text format (canonical path)",
    description:
      "`/metrics` is the data catalog (as in the original API), so the agent's Prometheus metrics live here; " +
      "`/-/metrics` is an alias. Includes pipeline counters, HTTP metrics, SSE client counts and process RSS.",
    tag: "meta",
    auth: "read",
    query: EmptyQuerySchema,
    responses: prometheusResponses,
  },
  {
    method: "get",
    path: "/-/metrics",
    summary: "Alias of /prometheus",
    tag: "meta",
    auth: "read",
    query: EmptyQuerySchema,
    responses: prometheusResponses,
  },
  {
    method: "get",
    path: "/openapi.json",
    summary: "This document",
    tag: "meta",
    auth: "none",
    query: EmptyQuerySchema,
    responses: { "200": { description: "OpenAPI 3.1 document." }, "400": badRequest },
  },
  {
    method: "get",
    path: "/",
    summary: "The dashboard (HTML)",
    tag: "ui",
    auth: "none",
    responses: {
      "200": { description: "HTML page.", contentType: "text/html" },
      "304": { description: "Not modified (`If-None-Match` matched the ETag).", noContent: true },
    },
  },
  {
    method: "get",
    path: "/assets/{name}",
    summary: "Dashboard assets (content-hashed names, cached for a year)",
    tag: "ui",
    auth: "none",
    pathParams: [{
      name: "name",
      description: "Asset file name, as referenced by the HTML.",
      example: JS_NAME,
    }],
    responses: {
      "200": {
        description: "JavaScript or CSS.",
        contentType: "text/javascript",
        alternatives: ["text/css"],
      },
      "304": { description: "Not modified (`If-None-Match` matched the ETag).", noContent: true },
      "404": errorResponse("No such asset."),
    },
  },
  ...NOTIFY_ROUTE_DOCS,
];
