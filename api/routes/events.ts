/**
 * `GET /events/stream`: live enriched events (SSE `event: event`, data = envelope JSON), filtered
 * by tenant/host/metric and rate-limited per client to `http.events_stream_max_rate` per second.
 * Events over the rate are dropped (not queued), counted, and announced about once per second with
 * `event: dropped` / `data: {"dropped": n, "total": n, "max_rate": n}`.
 *
 * @module
 */
import type { Hono, MiddlewareHandler } from "hono";
import { streamSSE } from "hono/streaming";
import type { Envelope } from "../../model/envelope.ts";
import type { RouteContext } from "../context.ts";
import { parseQuery } from "../params.ts";
import { EventStreamQuerySchema } from "../schemas.ts";
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

/** Registers the event stream route. */
export function registerEventRoutes(app: Hono, ctx: RouteContext, read: MiddlewareHandler): void {
  app.get("/events/stream", read, (c) => {
    const q = parseQuery(c, EventStreamQuerySchema);
    const metric = q.metric === undefined ? undefined : ctx.deps.resolveMetric(q.metric);
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
        await stream.write(`retry: ${SSE_RETRY_MS}\n\n` + sseComment(`live, max ${rate} events/s`));
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
