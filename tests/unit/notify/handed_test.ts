/**
 * The alerts the writer hands to the dispatcher: taken as they are only when they continue the
 * cursor seq by seq; otherwise the queue is dropped and the store is read.
 */
import assert from "node:assert/strict";
import type { StoredAlert } from "../../../model/query.ts";
import { handAlerts, HANDED_MAX, takeHanded } from "../../../notify/handed.ts";
import { makeAlert } from "../../../testing/api_fakes.ts";

/** A stored alert with this seq (the API tests' fixture). */
const stored = (seq: number): StoredAlert => makeAlert(seq);

const seqs = (alerts: readonly StoredAlert[] | undefined) => alerts?.map((alert) => alert.seq);

Deno.test("handed alerts that continue the cursor are taken a page at a time, in order", () => {
  const queue: StoredAlert[] = [];
  handAlerts(queue, [stored(6), stored(7)]);
  handAlerts(queue, [stored(8)]);
  assert.deepEqual(seqs(takeHanded(queue, 5, 2)), [6, 7]);
  assert.deepEqual(seqs(takeHanded(queue, 7, 2)), [8]);
  assert.equal(takeHanded(queue, 8, 2), undefined, "nothing left: the store is read (and finds nothing)");
});

Deno.test("handed alerts at or before the cursor are dropped: the store gave them already", () => {
  const queue = [stored(3), stored(4), stored(5)];
  assert.deepEqual(seqs(takeHanded(queue, 4, 10)), [5]);
  assert.deepEqual(queue, []);
});

Deno.test("a gap (alerts stored before the notifier started, or restored ones between) means reading the store", () => {
  const ahead = [stored(9), stored(10)];
  assert.equal(takeHanded(ahead, 5, 10), undefined);
  assert.deepEqual(ahead, [], "the queue is dropped");
  const holed = [stored(6), stored(8)];
  assert.equal(takeHanded(holed, 5, 10), undefined, "a hole inside the page");
  assert.deepEqual(holed, []);
});

Deno.test("a queue that would overflow is dropped: the store has the alerts", () => {
  const queue: StoredAlert[] = [];
  handAlerts(queue, Array.from({ length: HANDED_MAX }, (_, index) => stored(index + 1)));
  assert.equal(queue.length, HANDED_MAX);
  handAlerts(queue, [stored(HANDED_MAX + 1)]);
  assert.deepEqual(queue, []);
  assert.equal(takeHanded(queue, 0, 10), undefined);
});
