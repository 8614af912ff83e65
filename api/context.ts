/**
 * What every route module receives: the dependencies, the HTTP config, the metric families the
 * HTTP layer feeds (requests, SSE clients, connections, and the process and store gauges it
 * refreshes on each scrape), the SSE slots and the token check.
 *
 * @module
 */
import type { ApiDeps, HttpConfig, LogRecord } from "./deps.ts";
import type { TokenCheck } from "./auth.ts";
import { AuthThrottle, SseSlots } from "./limits.ts";
import { type FamilyKey, registerFamily } from "../telemetry/families.ts";
import { type Counter, type Gauge, type Histogram, Registry } from "../telemetry/registry.ts";

/**
 * The families the HTTP layer feeds: its own (requests, SSE, ingest, refusals, connections) and the
 * process and store gauges refreshed when `/prometheus` is scraped.
 */
export interface HttpMetrics {
  requests: Counter;
  duration: Histogram;
  sseClients: Gauge;
  eventsDropped: Counter;
  sseOverflow: Counter;
  ingestItems: Counter;
  /** Items of the protocol receivers (`api/routes/collect.ts`), by protocol and result. */
  collectItems: Counter;
  rss: Gauge;
  heapUsed: Gauge;
  heapTotal: Gauge;
  external: Gauge;
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
  /** Registry rendered at `/prometheus`: the deps' one when it is a `Registry` (the agent's), else the API's own. */
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

/** Registers the families the HTTP layer feeds in `registry` (idempotent; declared in `telemetry/families.ts`). */
export function httpMetrics(registry: Registry): HttpMetrics {
  const family = <K extends FamilyKey>(key: K) => registerFamily(registry, key);
  return {
    requests: family("httpRequests"),
    duration: family("httpDuration"),
    sseClients: family("sseClients"),
    eventsDropped: family("eventsDropped"),
    sseOverflow: family("sseOverflow"),
    ingestItems: family("ingestItems"),
    collectItems: family("collectItems"),
    rss: family("processRss"),
    heapUsed: family("heapUsed"),
    heapTotal: family("heapTotal"),
    external: family("external"),
    startTime: family("startTime"),
    storeBytes: family("storeBytes"),
    refused: family("httpRefused"),
    connections: family("connections"),
    connectionsRefused: family("connectionsRefused"),
    connectionsClosed: family("connectionsClosed"),
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
    metrics.heapTotal.set(mem.heapTotal);
    metrics.external.set(mem.external);
    alertsGauge.set(sse.alerts.count);
    eventsGauge.set(sse.events.count);
  });
  const auth: TokenCheck = {
    token: http.token,
    localCredential: deps.localCredential,
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
