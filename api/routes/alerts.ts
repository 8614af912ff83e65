/**
 * `GET /alerts` (listing) and `GET /alerts/stream` (SSE with replay from `Last-Event-ID`).
 *
 * Stream protocol: on connect `retry: 3000`; then replayed alerts, then live ones, each as
 * `event: alert` / `id: <seq>` / `data: <alert JSON>`; a `: ping <time>` comment every
 * `http.sse_heartbeat` ms. A reconnecting client sends `Last-Event-ID` (browsers do this
 * automatically) and receives every stored alert after it, then live alerts, without gaps or
 * duplicates. A client too slow to keep up is disconnected and resumes the same way.
 *
 * Scale-out: the stream also carries the other agents' alerts as they fire (`agent/peer_alerts.ts`),
 * as `event: alert` with `data: <alert JSON>` holding `agent` (the URL of the agent that fired it)
 * instead of `seq`, and no `id` (the id stays this agent's seq): they are live only; a reconnecting
 * client finds those it missed in `GET /alerts` (which fans out).
 *
 * @module
 */
import type { Hono, MiddlewareHandler } from "hono";
import { streamSSE } from "hono/streaming";
import type { Alert } from "../../model/alert.ts";
import type { StoredAlert } from "../../model/query.ts";
import type { RouteContext } from "../context.ts";
import { ApiError } from "../errors.ts";
import { parseQuery, timeRange } from "../params.ts";
import { AlertsQuerySchema, AlertStreamQuerySchema, LAST_EVENT_ID_PATTERN } from "../schemas.ts";
import { acquireSseSlot, EVICTED, pump, SSE_RETRY_MS, sseComment, sseEvent, streamSignal } from "../sse.ts";
import type { SubscribeOptions, Subscription } from "../hub.ts";
import { mergeAlerts } from "../cluster_merge.ts";
import { coverageOf, fanOut, isForwarded, PARTIAL_HEADER } from "../forward.ts";

const LAST_EVENT_ID = new RegExp(LAST_EVENT_ID_PATTERN);

/** Alerts fetched from the store per replay page. */
const REPLAY_PAGE = 500;
/** Live queue per alert-stream client. */
const ALERT_QUEUE = 1_024;

/** Registers the alert routes. */
export function registerAlertRoutes(app: Hono, ctx: RouteContext, read: MiddlewareHandler): void {
  const { deps } = ctx;

  app.get("/alerts", read, async (c) => {
    const q = parseQuery(c, AlertsQuerySchema);
    const { fromMs, toMs, empty } = timeRange(q.from, q.to, ctx.now());
    const alerts = empty ? [] : await deps.store.alerts({
      state: q.state,
      severity: q.severity,
      tenant: q.tenant,
      host: q.host,
      rule: q.rule,
      fromMs,
      toMs,
      limit: q.limit,
    });
    const cluster = deps.cluster;
    if (cluster === undefined || isForwarded(c) || cluster.peers().length === 0) {
      return c.json({ count: alerts.length, alerts }, 200, { "Cache-Control": "no-store" });
    }
    // Scale-out: every agent's alerts, merged newest first (seq is each agent's own: kept as it is).
    const answers = await fanOut<{ alerts: StoredAlert[] }>(c, cluster);
    const merged = mergeAlerts(
      [alerts, ...answers.flatMap((answer) => answer.ok && answer.body ? [answer.body.alerts] : [])],
      q.limit,
      q.state !== undefined,
    );
    const coverage = coverageOf(cluster.selfUrl, answers, cluster.restoring?.());
    return c.json({ count: merged.length, alerts: merged, ...coverage }, 200, {
      "Cache-Control": "no-store",
      ...(coverage.partial ? { [PARTIAL_HEADER]: "true" } : {}),
    });
  });

  app.get("/alerts/stream", read, (c) => {
    const q = parseQuery(c, AlertStreamQuerySchema);
    const header = c.req.header("Last-Event-ID")?.trim();
    let since = q.since;
    if (header !== undefined && header !== "") {
      if (!LAST_EVENT_ID.test(header)) {
        throw new ApiError(
          400,
          `Last-Event-ID must be an alert seq number of at most 15 digits (the id of the last event received), got "${header}"`,
        );
      }
      since = Number(header);
    }
    const evicted = new AbortController();
    const slot = acquireSseSlot(ctx, c, "alerts", () => evicted.abort());
    const match = (a: Alert): boolean =>
      (q.tenant === undefined || a.tenant === q.tenant) && (q.host === undefined || a.host === q.host) &&
      (q.severity === undefined || a.severity === q.severity) && (q.rule === undefined || a.rule === q.rule);
    const format = (a: StoredAlert) => sseEvent("alert", JSON.stringify(a), a.seq);

    return streamSSE(c, async (stream) => {
      const signal = streamSignal(stream, ctx.closing.signal, evicted.signal);
      let sub: Subscription<StoredAlert> | undefined;
      let live = false;
      const subscription: SubscribeOptions<Alert> = {
        accept: match,
        capacity: ALERT_QUEUE,
        onClose: (reason) => {
          if (reason !== "overflow") return;
          ctx.metrics.sseOverflow.labels("alerts").inc();
          // A live client that stopped reading: end the stream (it resumes with Last-Event-ID).
          if (live) stream.abort();
        },
      };
      // Scale-out: the other agents' alerts (live, no id: the Last-Event-ID is this agent's seq).
      const peers = ctx.deps.cluster === undefined
        ? undefined
        : ctx.deps.feeds.peerAlerts.subscribe(subscription);
      try {
        await stream.write(`retry: ${SSE_RETRY_MS}\n\n`);
        let lastSeq = -1;
        const send = async (alerts: StoredAlert[]) => {
          let text = "";
          for (const a of alerts) {
            if (a.seq <= lastSeq) continue;
            lastSeq = a.seq;
            if (match(a)) text += format(a);
          }
          if (text !== "") await stream.write(text);
        };
        const subscribe = () => ctx.deps.feeds.alerts.subscribe(subscription);

        // Subscribe first so nothing published during the replay is missed; dedupe by seq.
        sub = subscribe();
        if (since !== undefined) {
          lastSeq = since;
          // If the live queue overflowed while replaying a long backlog, replay again from where we are.
          for (let attempt = 0; attempt < 5 && !signal.aborted; attempt++) {
            await replayAfter(ctx, lastSeq, send, signal);
            if (!sub.closed) break;
            sub = subscribe();
          }
        } else if (q.replay > 0) {
          const recent = await ctx.deps.store.alerts({
            limit: q.replay,
            tenant: q.tenant,
            host: q.host,
            severity: q.severity,
            rule: q.rule,
          });
          await send(recent.sort((a, b) => a.seq - b.seq));
        } else {
          await stream.write(sseComment("live"));
        }
        // Go live; queued items already sent during the replay are skipped by seq.
        live = true;
        if (sub.closed) stream.abort();
        const reason = await pump(stream, sub, {
          heartbeatMs: ctx.http.sse_heartbeat,
          signal,
          side: peers && {
            sub: peers,
            drain: (max) => {
              let text = "";
              for (const alert of peers.take(max)) text += sseEvent("alert", JSON.stringify(alert));
              return text;
            },
          },
          format: (a) => {
            if (a.seq <= lastSeq) return undefined;
            lastSeq = a.seq;
            return format(a);
          },
        });
        if (reason === "hub_closed") await stream.write(sseComment("server shutting down"));
        if (evicted.signal.aborted) await stream.write(sseComment(EVICTED));
      } finally {
        sub?.close();
        peers?.close();
        slot.release();
        if (!stream.closed && !stream.aborted) stream.abort();
      }
    }, (err) => {
      ctx.log({ level: "error", msg: "alert stream failed", error: err.message });
      return Promise.resolve();
    });
  });
}

async function replayAfter(
  ctx: RouteContext,
  after: number,
  send: (alerts: StoredAlert[]) => Promise<void>,
  signal: AbortSignal,
): Promise<void> {
  const hub = ctx.deps.feeds.alerts;
  const oldest = hub.oldestRecent();
  if (oldest !== undefined && oldest.seq <= after + 1) {
    // Everything after `after` is still in the ring buffer.
    await send(hub.recent().filter((a) => a.seq > after));
    return;
  }
  let cursor = after;
  while (!signal.aborted) {
    const page = await ctx.deps.store.alertsAfter(cursor, REPLAY_PAGE);
    if (page.length === 0) break;
    await send(page);
    cursor = page[page.length - 1].seq;
    if (page.length < REPLAY_PAGE) break;
  }
}
