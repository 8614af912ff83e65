/**
 * Server-sent events plumbing shared by the alert and event streams: framing, heartbeats, and a
 * loop that drains a hub subscription into a stream until the client leaves.
 *
 * @module
 */
import type { Context } from "hono";
import type { SSEStreamingApi } from "hono/streaming";
import type { Subscription } from "./hub.ts";
import { requestClient } from "./client.ts";
import type { RouteContext } from "./context.ts";
import { sseRefusalError, type SseSlot } from "./limits.ts";

/** Reconnection delay suggested to clients (`retry:`), ms. */
export const SSE_RETRY_MS = 3_000;

/** The last comment of a stream whose slot a client with fewer streams took over. */
export const EVICTED = "closed: every stream slot is taken and your address holds the most; reconnect later";

/**
 * Takes an SSE slot of `stream` for the request's client, or throws the 429/503 `ApiError`; `evict`
 * ends the stream when a newcomer takes the slot over (see `SseSlots`).
 */
export function acquireSseSlot(
  ctx: RouteContext,
  c: Context,
  stream: "alerts" | "events",
  evict: () => void,
): SseSlot {
  const slots = ctx.sse[stream];
  const slot = slots.acquire(requestClient(c), () => {
    ctx.metrics.refused.labels("sse_evicted").inc();
    evict();
  });
  if (typeof slot === "string") {
    ctx.metrics.refused.labels(slot === "full" ? "sse_full" : "sse_per_ip").inc();
    throw sseRefusalError(stream, slot, slots);
  }
  return slot;
}

/** Frames one SSE event. `event` and `id` must not contain line breaks. */
export function sseEvent(event: string, data: string, id?: string | number): string {
  let out = `event: ${event}\n`;
  for (const line of data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  if (id !== undefined) out += `id: ${id}\n`;
  return out + "\n";
}

/** Frames an SSE comment (ignored by clients; keeps proxies and the connection alive). */
export function sseComment(text: string): string {
  return `: ${text.replace(/[\r\n]+/g, " ")}\n\n`;
}

/** Options of `pump`. */
export interface PumpOptions<T> {
  /** Heartbeat interval, ms. */
  heartbeatMs: number;
  /** Writes one item; return the SSE text or undefined to skip it. */
  format: (item: T) => string | undefined;
  /** Called about once per second; may return extra text to send (e.g. a `dropped` notice). */
  tick?: () => string | undefined;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
  /** Most items written per wake-up before checking heartbeats again. */
  batch?: number;
  /** A second subscription drained into the same stream (scale-out: the other agents' alerts). */
  side?: SideFeed;
}

/** A second subscription of {@link pump}: its items, framed. */
export interface SideFeed {
  /** The subscription (its items of any type). */
  sub: Pick<Subscription<unknown>, "size" | "closed" | "closeReason" | "wait">;
  /** Takes up to `max` items and frames them as SSE text ("" for none). */
  drain(max: number): string;
}

/** Waits for an item of `sub` or of `side` (whichever comes first), at most `ms`. */
async function waitEither(
  sub: Subscription<unknown>,
  side: SideFeed | undefined,
  ms: number,
  signal: AbortSignal,
): Promise<void> {
  if (side === undefined) {
    await sub.wait(ms, signal);
    return;
  }
  const woken = new AbortController();
  const either = AbortSignal.any([signal, woken.signal]);
  await Promise.race([sub.wait(ms, either), side.sub.wait(ms, either)]);
  woken.abort();
}

/**
 * Drains `sub` into `stream` until the client disconnects or the subscription ends. Returns why it
 * stopped. Writes await the client (backpressure); a client that stops reading lets its queue fill,
 * the hub closes the subscription (`overflow`), and the caller aborts the stream.
 */
export async function pump<T>(
  stream: SSEStreamingApi,
  sub: Subscription<T>,
  options: PumpOptions<T>,
): Promise<"client_gone" | "overflow" | "hub_closed" | "unsubscribed"> {
  const heartbeatMs = Math.max(10, options.heartbeatMs);
  const batch = options.batch ?? 256;
  let nextBeat = Date.now() + heartbeatMs;
  let nextTick = Date.now() + 1_000;
  while (!options.signal.aborted && !stream.aborted && !stream.closed) {
    const now = Date.now();
    const until = Math.min(nextBeat, options.tick ? nextTick : nextBeat) - now;
    const side = options.side;
    if (sub.size === 0 && !sub.closed && (side === undefined || (side.sub.size === 0 && !side.sub.closed))) {
      await waitEither(sub as Subscription<unknown>, side, Math.max(0, until), options.signal);
    }
    if (options.signal.aborted || stream.aborted) break;
    const items = sub.take(batch);
    const sideText = side === undefined || side.sub.size === 0 ? "" : side.drain(batch);
    if (items.length > 0 || sideText !== "") {
      let text = sideText;
      for (const item of items) text += options.format(item) ?? "";
      if (text !== "") {
        await stream.write(text);
        nextBeat = Date.now() + heartbeatMs;
      }
    }
    const t = Date.now();
    if (options.tick && t >= nextTick) {
      nextTick = t + 1_000;
      const extra = options.tick();
      if (extra) await stream.write(extra);
    }
    if (t >= nextBeat) {
      await stream.write(sseComment(`ping ${new Date(t).toISOString()}`));
      nextBeat = t + heartbeatMs;
    }
    if (sub.closed && sub.size === 0) return sub.closeReason ?? "unsubscribed";
    if (side?.sub.closed && side.sub.size === 0) return side.sub.closeReason ?? "unsubscribed";
  }
  return "client_gone";
}

/** An AbortSignal that fires when the stream is aborted or any of `signals` aborts. */
export function streamSignal(stream: SSEStreamingApi, ...signals: AbortSignal[]): AbortSignal {
  const controller = new AbortController();
  stream.onAbort(() => controller.abort());
  for (const signal of signals) {
    if (signal.aborted) controller.abort();
    else signal.addEventListener("abort", () => controller.abort(), { once: true });
  }
  return controller.signal;
}
