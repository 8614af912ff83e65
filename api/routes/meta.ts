/**
 * `GET /rules`, `GET /status`, `GET /prometheus` (alias `/-/metrics`) and `GET /openapi.json`.
 *
 * @module
 */
import type { Context, Hono, MiddlewareHandler } from "hono";
import type { RouteContext } from "../context.ts";
import { openApiDocument } from "../openapi.ts";
import { parseQuery } from "../params.ts";
import { EmptyQuerySchema, RulesQuerySchema } from "../schemas.ts";
import { probe } from "./health.ts";
import type { ClusterView } from "../../model/cluster.ts";

/** The partitions of the view's topic no member owns (pure). */
export function unownedPartitions(view: ClusterView): number[] {
  const owned = new Set(view.members.flatMap((member) => member.partitions));
  const missing: number[] = [];
  for (let partition = 0; partition < view.partitions; partition++) {
    if (!owned.has(partition)) missing.push(partition);
  }
  return missing;
}

/** Content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

/** Registers the meta routes. */
export function registerMetaRoutes(app: Hono, ctx: RouteContext, read: MiddlewareHandler): void {
  const { deps } = ctx;
  const noStore = { "Cache-Control": "no-store" };

  app.get("/rules", read, (c) => {
    const q = parseQuery(c, RulesQuerySchema);
    const metric = q.metric === undefined ? undefined : deps.resolveMetric(q.metric);
    const rules = deps.rules().filter((r) => metric === undefined || r.metric === metric);
    return c.json({ rules }, 200, noStore);
  });

  app.get("/status", read, async (c) => {
    parseQuery(c, EmptyQuerySchema);
    const s = await deps.status();
    return c.json(
      {
        version: s.version,
        started_at: new Date(s.started_at).toISOString(),
        uptime_s: Math.round((ctx.now() - s.started_at) / 100) / 10,
        stages: s.stages,
        ...(s.topology ? { topology: s.topology } : {}),
        rates: s.rates,
        consumer_lag: s.consumer_lag,
        ...(s.consumers ? { consumers: s.consumers } : {}),
        dlq: s.dlq,
        ...(s.totals ? { totals: s.totals } : {}),
        ...(s.memory ? { memory: s.memory } : {}),
        api: {
          sse_clients: { alerts: ctx.sse.alerts.count, events: ctx.sse.events.count },
          rss_bytes: Deno.memoryUsage().rss,
        },
      },
      200,
      noStore,
    );
  });

  // Scale-out reads: the partition -> agent map this agent routes reads with.
  app.get("/cluster", read, async (c) => {
    parseQuery(c, EmptyQuerySchema);
    const cluster = deps.cluster;
    if (cluster === undefined) {
      return c.json({ self: null, view: null, unowned_partitions: [], peer_alerts: "off" }, 200, noStore);
    }
    if (cluster.view() === undefined) await cluster.refresh();
    const view = cluster.view() ?? null;
    return c.json(
      {
        self: cluster.selfUrl,
        view,
        unowned_partitions: view === null ? [] : unownedPartitions(view),
        peer_alerts: cluster.peerAlerts?.() ?? "off",
        restoring: cluster.restoring?.() ?? [],
        last_restore: cluster.lastRestore?.() ?? null,
      },
      200,
      noStore,
    );
  });

  const prometheus = async (c: Context) => {
    parseQuery(c, EmptyQuerySchema);
    let bytes: number | undefined;
    await probe(async () => {
      bytes = (await deps.store.diskUsage()).bytes;
      return true;
    }, 1_000);
    if (bytes !== undefined) ctx.metrics.storeBytes.set(bytes);
    let text = deps.metrics.render();
    if (deps.metrics !== ctx.registry) text += ctx.registry.render();
    return c.body(text, 200, { "Content-Type": PROMETHEUS_CONTENT_TYPE, ...noStore });
  };
  app.get("/prometheus", read, prometheus);
  app.get("/-/metrics", read, prometheus);

  let doc: string | undefined;
  app.get("/openapi.json", (c) => {
    parseQuery(c, EmptyQuerySchema);
    doc ??= JSON.stringify(
      openApiDocument({ version: deps.version ?? "dev", readsNeedToken: ctx.http.token_for_reads }),
      null,
      2,
    );
    return c.body(doc, 200, {
      "Content-Type": "application/json; charset=utf-8",
      "Cache-Control": "no-cache",
    });
  });
}
