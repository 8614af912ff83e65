/**
 * Alerts handed to the dispatcher by the writer as they are stored, so that a batch's alerts are
 * dispatched without reading them back from the store. Pure: the notifier keeps the queue, this
 * decides what it may take. The store stays the source of truth: whenever the queue does not
 * continue the dispatcher's cursor exactly (alerts stored before the notifier started, alerts
 * restored from a departed agent between them, a rebuild that moved the cursor back, an overflow),
 * it is dropped and the dispatcher reads the store.
 *
 * @module
 */
import type { StoredAlert } from "../model/query.ts";

/** At most this many alerts wait in the queue; more are dropped (the store has them). */
export const HANDED_MAX = 2_000;

/** The handed alerts waiting for the dispatcher, oldest first. */
export type HandedQueue = StoredAlert[];

/** Adds a durable batch's alerts (ascending seq) to `queue`; empties it when it would overflow. */
export function handAlerts(queue: HandedQueue, stored: readonly StoredAlert[]): void {
  if (queue.length + stored.length > HANDED_MAX) {
    queue.length = 0;
    return;
  }
  for (const alert of stored) queue.push(alert);
}

/**
 * Takes the next page (at most `limit`) from `queue` when it continues `cursor` seq by seq; undefined
 * when the store must be read instead (the queue is then emptied). Alerts at or before the cursor
 * are dropped first: they were taken from the store already.
 */
export function takeHanded(queue: HandedQueue, cursor: number, limit: number): StoredAlert[] | undefined {
  let skip = 0;
  while (skip < queue.length && queue[skip].seq <= cursor) skip++;
  if (skip > 0) queue.splice(0, skip);
  if (queue.length === 0) return undefined;
  const count = Math.min(limit, queue.length);
  for (let index = 0; index < count; index++) {
    if (queue[index].seq !== cursor + 1 + index) {
      queue.length = 0;
      return undefined;
    }
  }
  return queue.splice(0, count);
}
