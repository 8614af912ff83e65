/**
 * The HTTP layer: Hono app, live feeds, SSE hubs (the registry it renders is `telemetry/`'s).
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
