/**
 * The live feeds the pipeline publishes to and the SSE routes read from.
 *
 * @module
 */
import type { Envelope } from "../model/envelope.ts";
import type { LiveFeeds, PeerAlert } from "./deps.ts";
import type { StoredAlert } from "../model/query.ts";
import { Hub } from "./hub.ts";

/** Options of `createLiveFeeds`. */
export interface LiveFeedOptions {
  /** Alerts kept in memory for fast replay on reconnect (default 1000; older ones come from the store). */
  alertReplay?: number;
}

/** Creates the alert and event hubs. */
export function createLiveFeeds(options: LiveFeedOptions = {}): LiveFeeds {
  return {
    alerts: new Hub<StoredAlert>({ replay: options.alertReplay ?? 1_000, queueCapacity: 1_024 }),
    events: new Hub<Envelope>({ queueCapacity: 1_024 }),
    peerAlerts: new Hub<PeerAlert>({ queueCapacity: 1_024 }),
  };
}
