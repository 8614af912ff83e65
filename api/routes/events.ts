/**
 * `GET /events/stream`: live enriched events (SSE `event: event`, data = envelope JSON), filtered
 * by tenant/host/metric and rate-limited per client to `http.events_stream_max_rate` per second.
 * Events over the rate are dropped (not queued), counted, and announced about once per second with
 * `event: dropped` / `data: {"dropped": n, "total": n, "max_rate": n}`.
 *
 * Scale-out: a stream of one series (tenant, host and metric) is relayed from the agent that stores
 * it (`X-EventOps-Served-By`); any other stream carries this agent's events only, and says so in its
 * first event, `event: scope` (see {@link scopeOf}), sent only when the group has other agents.
 *
 * @module
 */
import type { Hono, MiddlewareHandler } from "hono";
import { streamSSE } from "hono/streaming";
import type { Envelope } from "../../model/envelope.ts";
import type { RouteContext } from "../context.ts";
import { parseQuery } from "../params.ts";
import { EventStreamQuerySchema, type StreamScope } from "../schemas.ts";
import { forwardStream, isForwarded } from "../forward.ts";
import { acquireSseSlot, EVICTED, pump, SSE_RETRY_MS, sseComment, sseEvent, streamSignal } from "../sse.ts";

/** A token bucket: `rate` tokens per second, bursts up to `rate`. */
export class TokenBucket {
  #tokens: number;
  #last: number;
  /** Creates a full bucket. */
  constructor(readonly rate: number, private readonly clock: () => number = () => performance.now()) {
    this.#tokens = rate;
    this.#last = clock();
  }
  /** Takes one token if available. */
  take(): boolean {
    const t = this.clock();
    this.#tokens = Math.min(this.rate, this.#tokens + ((t - this.#last) * this.rate) / 1000);
    this.#last = t;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    return false;
  }
}

/**
 * The first event of a stream over many series in a cluster: it carries this agent's events only
 * (those of the partitions it stores); one series' stream (tenant, host and metric) is relayed from
 * the agent that stores it, so it is complete on any agent.
 */
export function scopeOf(agent: string, otherAgents: readonly string[]): StreamScope {
  return {
    scope: "agent",
    agent,
    other_agents: [...otherAgents],
    note: "this stream carries the events stored by this agent only; ask for one series (tenant, host and " +
      "metric) to get its events from whichever agent stores it, or connect to each agent",
  };
}

/** Registers the event stream route. */
export function registerEventRoutes(app: Hono, ctx: RouteContext, read: MiddlewareHandler): void {
  app.get("/events/stream", read, async (c) => {
    const q = parseQuery(c, EventStreamQuerySchema);
    const metric = q.metric === undefined ? undefined : ctx.deps.resolveMetric(q.metric);
    // Scale-out: one series' events come from the agent that stores it.
    const cluster = isForwarded(c) ? undefined : ctx.deps.cluster;
    if (cluster !== undefined && q.tenant !== undefined && q.host !== undefined && metric !== undefined) {
      const series = { tenant: q.tenant, host: q.host, metric };
      const owner = cluster.ownerOf(series);
      if (owner.kind === "peer") return await forwardStream(c, cluster, owner, series);
    }
    const peers = cluster?.peers() ?? [];
    const evicted = new AbortController();
    const slot = acquireSseSlot(ctx, c, "events", () => evicted.abort());
    const rate = ctx.http.events_stream_max_rate;
    const bucket = new TokenBucket(rate);
    const droppedCounter = ctx.metrics.eventsDropped.labels();
    let dropped = 0;
    let droppedTotal = 0;
    const accept = (e: Envelope): boolean => {
      if (
        (q.tenant !== undefined && e.tenant !== q.tenant) || (q.host !== undefined && e.host !== q.host) ||
        (metric !== undefined && e.metric !== metric)
      ) return false;
      if (bucket.take()) return true;
      dropped++;
      droppedTotal++;
      droppedCounter.inc();
      return false;
    };

    return streamSSE(c, async (stream) => {
      const signal = streamSignal(stream, ctx.closing.signal, evicted.signal);
      const sub = ctx.deps.feeds.events.subscribe({
        accept,
        // Two seconds of events at the maximum rate; a client that cannot take that is disconnected.
        capacity: Math.min(8_192, Math.max(64, rate * 2)),
        onClose: (reason) => {
          if (reason !== "overflow") return;
          ctx.metrics.sseOverflow.labels("events").inc();
          stream.abort();
        },
      });
      try {
        await stream.write(
          `retry: ${SSE_RETRY_MS}\n\n` + sseComment(`live, max ${rate} events/s`) +
            (peers.length === 0 ? "" : sseEvent("scope", JSON.stringify(scopeOf(cluster!.selfUrl, peers)))),
        );
        const reason = await pump(stream, sub, {
          heartbeatMs: ctx.http.sse_heartbeat,
          signal,
          format: (e) => sseEvent("event", JSON.stringify(e)),
          tick: () => {
            if (dropped === 0) return undefined;
            const text = sseEvent(
              "dropped",
              JSON.stringify({ dropped, total: droppedTotal, max_rate: rate }),
            );
            dropped = 0;
            return text;
          },
        });
        if (reason === "hub_closed") await stream.write(sseComment("server shutting down"));
        if (evicted.signal.aborted) await stream.write(sseComment(EVICTED));
      } finally {
        sub.close();
        slot.release();
        if (!stream.closed && !stream.aborted) stream.abort();
      }
    }, (err) => {
      ctx.log({ level: "error", msg: "event stream failed", error: err.message });
      return Promise.resolve();
    });
  });
}
