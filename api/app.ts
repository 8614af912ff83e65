/**
 * The HTTP application: a Hono app over the interfaces in `api/deps.ts`.
 *
 * ```ts
 * const app = createApp(deps, config.http);
 * const server = serveApi(app, config.http);   // TCP front + Deno.serve
 * ```
 *
 * @module
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { matchedRoutes } from "hono/route";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import type { ApiDeps, HttpConfig, LogRecord } from "./deps.ts";
import { ConfigSchema } from "../config/schema.ts";
import { TcpFront } from "./front.ts";
import { type RouteContext, routeContext } from "./context.ts";
import { ApiError, sendError } from "./errors.ts";
import { RESTORING_HEADER } from "./forward.ts";
import { requireReadToken } from "./auth.ts";
import { limitRequestsPerClient } from "./limits.ts";
import { requestClient } from "./client.ts";
import { registerMetricRoutes } from "./routes/metrics.ts";
import { registerAlertRoutes } from "./routes/alerts.ts";
import { registerEventRoutes } from "./routes/events.ts";
import { registerIngestRoutes } from "./routes/ingest.ts";
import { registerCollectRoutes } from "./routes/collect.ts";
import { registerQueryRoutes } from "./routes/query.ts";
import { registerHealthRoutes } from "./routes/health.ts";
import { registerMetaRoutes } from "./routes/meta.ts";
import { registerUiRoutes } from "./routes/ui.ts";
import { registerNotifyRoutes } from "./routes/notify.ts";

/** Route pattern of the handler that answered (for metrics labels), or `unmatched`. */
function routeLabel(c: Context): string {
  const routes = matchedRoutes(c);
  for (let i = routes.length - 1; i >= 0; i--) {
    if (routes[i].method !== "ALL") return routes[i].path;
  }
  return "unmatched";
}

function patternToRegExp(path: string): RegExp {
  const source = path.split("/").map((seg) => {
    if (seg.startsWith(":")) return "[^/]+";
    if (seg === "*") return ".*";
    return seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }).join("/");
  return new RegExp(`^${source}$`);
}

const contexts = new WeakMap<Hono, RouteContext>();

/** Ends every open SSE stream of an app made by `createApp` (call before shutting the server down). */
export function closeStreams(app: Hono): void {
  contexts.get(app)?.closing.abort();
}

/** Builds the app. `http` is the validated `http` config section (durations in ms). */
export function createApp(deps: ApiDeps, http: HttpConfig): Hono {
  const ctx = routeContext(deps, http);
  const app = new Hono();
  contexts.set(app, ctx);

  // One metrics observation per request, and one structured log line at `http.access_log` (5xx: error).
  app.use("*", async (c, next) => {
    const start = performance.now();
    try {
      await next();
    } finally {
      const ms = performance.now() - start;
      const status = c.res.status;
      const route = routeLabel(c);
      ctx.metrics.requests.labels(c.req.method, route, String(status)).inc();
      ctx.metrics.duration.labels(route).observe(ms / 1000);
      // A 503 from /readyz is the answer "not ready" (starting, waiting for the broker), not a failure.
      const failed = status >= 500 && route !== "/readyz";
      if (failed || http.access_log !== "off") {
        ctx.log({
          ts: new Date().toISOString(),
          level: failed ? "error" : http.access_log,
          msg: "http",
          method: c.req.method,
          path: c.req.path,
          status,
          ms: Math.round(ms * 10) / 10,
          client: requestClient(c),
          ...(c.res.headers.get("content-type")?.startsWith("text/event-stream") ? { stream: true } : {}),
        });
      }
    }
  });

  // Scale-out: while this agent restores a departed agent's rows, every answer says which partitions.
  app.use("*", async (c, next) => {
    await next();
    const restoring = deps.cluster?.restoring?.() ?? [];
    if (restoring.length === 0 || c.res.headers.has(RESTORING_HEADER)) return;
    try {
      c.res.headers.set(RESTORING_HEADER, restoring.join(","));
    } catch {
      // A response with immutable headers (none of this app's routes returns one): left as it is.
    }
  });

  app.use(
    "*",
    limitRequestsPerClient(
      http.max_requests_per_ip,
      () => ctx.metrics.refused.labels("requests_per_ip").inc(),
    ),
  );

  if (http.cors_origins.length > 0) {
    app.use(
      "*",
      cors({
        origin: http.cors_origins.includes("*") ? "*" : http.cors_origins,
        allowMethods: ["GET", "HEAD", "POST", "DELETE", "OPTIONS"],
        allowHeaders: ["Authorization", "Content-Type", "Last-Event-ID"],
        exposeHeaders: ["X-Truncated", "Retry-After"],
        maxAge: 600,
      }),
    );
  }

  const read = requireReadToken(ctx.auth, http.token_for_reads);
  registerUiRoutes(app);
  registerHealthRoutes(app, ctx);
  registerMetaRoutes(app, ctx, read);
  registerMetricRoutes(app, ctx, read);
  registerNotifyRoutes(app, ctx, read);
  registerAlertRoutes(app, ctx, read);
  registerEventRoutes(app, ctx, read);
  registerIngestRoutes(app, ctx);
  registerCollectRoutes(app, ctx);
  registerQueryRoutes(app, ctx);

  const known = app.routes
    .filter((r) => r.method !== "ALL")
    .map((r) => ({ method: r.method, path: r.path, re: patternToRegExp(r.path) }));

  app.notFound((c) => {
    const path = c.req.path;
    const allowed = [...new Set(known.filter((r) => r.re.test(path)).map((r) => r.method))];
    if (allowed.length > 0 && !allowed.includes(c.req.method)) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      return sendError(
        c,
        405,
        `${c.req.method} is not allowed on ${path}; use ${allowed.join(" or ")}`,
        undefined,
        {
          Allow: allowed.join(", "),
        },
      );
    }
    const trimmed = path.length > 1 ? path.replace(/\/+$/, "") : path;
    const hint = trimmed !== path && known.some((r) => r.re.test(trimmed))
      ? `; did you mean ${trimmed}?`
      : "";
    return sendError(c, 404, `no route ${c.req.method} ${path}${hint || "; see /openapi.json for the API"}`);
  });

  app.onError((err, c) => {
    if (err instanceof ApiError) return sendError(c, err.status, err.message, err.details, err.headers);
    if (err instanceof HTTPException) {
      const status = err.status as ContentfulStatusCode;
      return sendError(c, status, err.message || "request failed");
    }
    ctx.log({
      ts: new Date().toISOString(),
      level: "error",
      msg: "unhandled error",
      method: c.req.method,
      path: c.req.path,
      error: err instanceof Error ? (err.stack ?? err.message) : String(err),
    });
    return sendError(c, 500, "internal error while handling the request; see the agent log");
  });

  return app;
}

/** A running server. */
export interface ApiServer {
  /** The bound address. */
  addr: Deno.NetAddr;
  /** Ends open SSE streams, stops accepting connections and waits for in-flight requests. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
}

/** The settings `serveApi` uses: the address and the connection limits of the `http` config. */
export type ServeSettings =
  & Pick<HttpConfig, "host" | "port">
  & Partial<
    Pick<
      HttpConfig,
      "max_connections" | "max_connections_per_ip" | "header_timeout" | "idle_timeout"
    >
  >;

/** How long a shutdown lets relayed connections deliver their last bytes. */
const SHUTDOWN_DRAIN_MS = 1_000;
/** Wait before restarting the HTTP server after it failed (file descriptors ran out, say). */
const RESTART_DELAY_MS = 200;

const FORBIDDEN_DIRECT = JSON.stringify({
  error: { status: 403, message: "connect to the agent's public HTTP port, not to its internal one" },
});

/** `Deno.serve` on an ephemeral loopback port, answering only connections the front relays. */
function startBackend(
  app: Hono,
  clientOf: (port: number) => Deno.NetAddr | undefined,
): Deno.HttpServer<Deno.NetAddr> {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request, info) => {
    const client = clientOf(info.remoteAddr.port);
    if (client === undefined) {
      return new Response(FORBIDDEN_DIRECT, { status: 403, headers: { "content-type": "application/json" } });
    }
    return app.fetch(request, { remoteAddr: client });
  });
}

/** Logs one error record at most every 10 s, with how many happened. */
function throttledErrorLog(log: (record: LogRecord) => void, msg: string): (error: unknown) => void {
  let count = 0;
  let last = Number.NEGATIVE_INFINITY;
  return (error) => {
    count++;
    const now = Date.now();
    if (now - last < 10_000) return;
    last = now;
    const text = error instanceof Error ? error.message : String(error);
    log({ ts: new Date(now).toISOString(), level: "error", msg, error: text, failures: count });
  };
}

/**
 * Serves the app on `http.host:http.port`: a TCP front (api/front.ts) enforces the connection
 * limits and timeouts and relays to `Deno.serve` on an ephemeral loopback port; the app sees the
 * client's address as `env.remoteAddr` (api/client.ts). When `Deno.serve` fails (it stops for good
 * when accepting fails, e.g. out of file descriptors), it is started again on a new port.
 */
export function serveApi(
  app: Hono,
  http: ServeSettings,
  options: { signal?: AbortSignal; onListen?: (addr: Deno.NetAddr) => void } = {},
): ApiServer {
  const defaults = ConfigSchema.parse({}).http;
  const ctx = contexts.get(app);
  const log = ctx?.log ?? (() => {});
  let front: TcpFront | undefined = undefined;
  const clientOf = (port: number) => front?.clientOf(port);
  let backend = startBackend(app, clientOf);
  let stopping: Promise<void> | undefined;
  const logRestart = throttledErrorLog(log, "http server failed; restarting it");
  const watch = (server: Deno.HttpServer<Deno.NetAddr>): void => {
    server.finished.catch((error) => {
      if (stopping) return;
      logRestart(error);
      const restart = () => {
        if (stopping) return;
        try {
          backend = startBackend(app, clientOf);
          if (front) front.backendPort = backend.addr.port;
          watch(backend);
        } catch (again) {
          logRestart(again);
          setTimeout(restart, RESTART_DELAY_MS * 5);
        }
      };
      setTimeout(restart, RESTART_DELAY_MS);
    });
  };
  watch(backend);
  try {
    front = new TcpFront({
      hostname: http.host,
      port: http.port,
      backendPort: backend.addr.port,
      maxConnections: http.max_connections ?? defaults.max_connections,
      maxConnectionsPerIp: http.max_connections_per_ip ?? defaults.max_connections_per_ip,
      headerTimeoutMs: http.header_timeout ?? defaults.header_timeout,
      idleTimeoutMs: http.idle_timeout ?? defaults.idle_timeout,
      onOpen: (open) => ctx?.metrics.connections.set(open),
      onRefused: (limit) => ctx?.metrics.connectionsRefused.labels(limit).inc(),
      onTimeout: (reason) => ctx?.metrics.connectionsClosed.labels(reason).inc(),
      onAcceptError: throttledErrorLog(log, "http accept failed; retrying"),
    });
  } catch (error) {
    stopping = Promise.resolve();
    backend.shutdown().catch(() => {});
    throw error;
  }
  const started = front;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => finish = resolve);
  const shutdown = () =>
    stopping ??= (async () => {
      closeStreams(app);
      started.stopAccepting();
      await backend.shutdown().catch(() => {});
      await started.drain(SHUTDOWN_DRAIN_MS);
      started.closeAll();
      await started.finished;
      finish();
    })();
  options.signal?.addEventListener("abort", () => void shutdown(), { once: true });
  (options.onListen ?? (() => {}))(started.addr);
  return { addr: started.addr, shutdown, finished };
}
