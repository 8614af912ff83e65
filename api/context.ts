/**
 * What every route module receives: the dependencies, the HTTP config and the API's own metrics.
 *
 * @module
 */
import type { ApiDeps, HttpConfig, LogRecord } from "./deps.ts";
import type { TokenCheck } from "./auth.ts";
import { AuthThrottle, SseSlots } from "./limits.ts";
import { type Counter, type Gauge, type Histogram, Registry } from "../telemetry/registry.ts";

/** The API's own Prometheus families. */
export interface HttpMetrics {
  requests: Counter;
  duration: Histogram;
  sseClients: Gauge;
  eventsDropped: Counter;
  sseOverflow: Counter;
  ingestItems: Counter;
  rss: Gauge;
  heapUsed: Gauge;
  startTime: Gauge;
  storeBytes: Gauge;
  /** Requests refused by a limit, by reason (`api/limits.ts`, wrong tokens). */
  refused: Counter;
  /** Open client connections (the TCP front). */
  connections: Gauge;
  /** Connections refused by the TCP front, by limit. */
  connectionsRefused: Counter;
  /** Connections the TCP front closed, by reason (header or idle timeout, evicted at the cap). */
  connectionsClosed: Counter;
}

/** Shared state of one app instance. */
export interface RouteContext {
  deps: ApiDeps;
  http: HttpConfig;
  /** Registry holding the API's families (the deps' one when it is a `Registry`). */
  registry: Registry;
  metrics: HttpMetrics;
  /** SSE stream slots (global and per-client caps). */
  sse: { alerts: SseSlots; events: SseSlots };
  /** Token check of protected routes, with the wrong-token throttle. */
  auth: TokenCheck;
  now(): number;
  log(record: LogRecord): void;
  /** Process start, epoch ms. */
  startedAt: number;
  /** Aborted by `closeApp()`: ends every open stream. */
  closing: AbortController;
}

/** Registers the API's metric families in `registry` (idempotent). */
export function httpMetrics(registry: Registry): HttpMetrics {
  return {
    requests: registry.counter({
      name: "eventops_http_requests_total",
      help: "HTTP requests by method, route pattern and status.",
      labelNames: ["method", "route", "status"],
    }),
    duration: registry.histogram({
      name: "eventops_http_request_duration_seconds",
      help: "Time to the response headers, by route pattern.",
      labelNames: ["route"],
    }),
    sseClients: registry.gauge({
      name: "eventops_http_sse_clients",
      help: "Connected server-sent-event clients by stream.",
      labelNames: ["stream"],
    }),
    eventsDropped: registry.counter({
      name: "eventops_http_events_stream_dropped_total",
      help: "Events not sent to /events/stream clients because of the per-client rate limit.",
    }),
    sseOverflow: registry.counter({
      name: "eventops_http_sse_overflow_total",
      help: "SSE clients disconnected because they did not keep up (queue full).",
      labelNames: ["stream"],
    }),
    ingestItems: registry.counter({
      name: "eventops_http_ingest_items_total",
      help: "Items received by POST /ingest, by result.",
      labelNames: ["result"],
    }),
    rss: registry.gauge({ name: "process_resident_memory_bytes", help: "Resident memory size in bytes." }),
    heapUsed: registry.gauge({ name: "eventops_process_heap_used_bytes", help: "V8 heap in use, bytes." }),
    startTime: registry.gauge({
      name: "process_start_time_seconds",
      help: "Start time of the process since the Unix epoch, seconds.",
    }),
    storeBytes: registry.gauge({ name: "eventops_store_disk_bytes", help: "Disk used by the store, bytes." }),
    refused: registry.counter({
      name: "eventops_http_refused_total",
      help: "Requests refused by a per-client limit or a wrong token, by reason.",
      labelNames: ["reason"],
    }),
    connections: registry.gauge({
      name: "eventops_http_connections",
      help: "Open client connections.",
    }),
    connectionsRefused: registry.counter({
      name: "eventops_http_connections_refused_total",
      help: "Client connections refused at accept, by limit (max_connections, max_connections_per_ip).",
      labelNames: ["limit"],
    }),
    connectionsClosed: registry.counter({
      name: "eventops_http_connections_closed_total",
      help: "Client connections closed by the server, by reason (header_timeout, idle_timeout, evicted).",
      labelNames: ["reason"],
    }),
  };
}

/** Default logger: one JSON line per record on stderr. */
export function stderrLogger(record: LogRecord): void {
  console.error(JSON.stringify(record));
}

/** Builds the route context. */
export function routeContext(deps: ApiDeps, http: HttpConfig): RouteContext {
  const registry = deps.metrics instanceof Registry ? deps.metrics : new Registry();
  const metrics = httpMetrics(registry);
  const startedAt = Date.now() - Math.round(performance.now());
  const sse = {
    alerts: new SseSlots(http.sse_max_clients, http.sse_max_clients_per_ip),
    events: new SseSlots(http.sse_max_clients, http.sse_max_clients_per_ip),
  };
  metrics.startTime.set(Math.round(startedAt / 1000));
  const alertsGauge = metrics.sseClients.labels("alerts");
  const eventsGauge = metrics.sseClients.labels("events");
  registry.onCollect(() => {
    const mem = Deno.memoryUsage();
    metrics.rss.set(mem.rss);
    metrics.heapUsed.set(mem.heapUsed);
    alertsGauge.set(sse.alerts.count);
    eventsGauge.set(sse.events.count);
  });
  const auth: TokenCheck = {
    token: http.token,
    throttle: new AuthThrottle(http.auth_failure_burst, http.auth_failure_interval),
    onRefused: (reason) => metrics.refused.labels(reason).inc(),
  };
  return {
    deps,
    http,
    registry,
    metrics,
    sse,
    auth,
    now: deps.now ?? Date.now,
    log: deps.log ?? stderrLogger,
    startedAt,
    closing: new AbortController(),
  };
}
