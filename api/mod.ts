/**
 * The HTTP layer: Hono app, live feeds, Prometheus registry.
 *
 * @module
 */
export { closeStreams, createApp, serveApi } from "./app.ts";
export type { ApiServer } from "./app.ts";
export type * from "./deps.ts";
export { createLiveFeeds } from "./feeds.ts";
export type { LiveFeedOptions } from "./feeds.ts";
export { Hub, RingBuffer, Subscription } from "./hub.ts";
export type { CloseReason, HubOptions, HubStats, SubscribeOptions } from "./hub.ts";
export { pipelineMetrics, Registry } from "./metrics_registry.ts";
export type { PipelineMetrics } from "./metrics_registry.ts";
