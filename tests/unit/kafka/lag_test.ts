/**
 * Lag of a partition from its offsets: end minus committed; without a commit, from the first offset
 * (a group that starts from the beginning) or nothing (one that starts at the end).
 *
 * @module
 */
import assert from "node:assert/strict";
import { partitionLag, sumLags } from "../../../kafka/lag.ts";

Deno.test("lag: end minus committed, or from the start without a commit", () => {
  assert.equal(partitionLag({ end: 100n, start: 0n, committed: 40n }, true), 60);
  assert.equal(partitionLag({ end: 100n, start: 0n, committed: 100n }, true), 0);
  assert.equal(partitionLag({ end: 100n, start: 30n, committed: -1n }, true), 70);
  assert.equal(partitionLag({ end: 100n, start: 30n, committed: -1n }, false), 0);
  // A commit past the end (a topic recreated under the group) is no negative lag.
  assert.equal(partitionLag({ end: 5n, start: 0n, committed: 40n }, true), 0);
});

Deno.test("lag: sums over all partitions or the assigned ones", () => {
  const lags = new Map([[0, 5], [1, 7], [2, 0]]);
  assert.equal(sumLags(lags), 12);
  assert.equal(sumLags(lags, [1, 2]), 7);
  assert.equal(sumLags(lags, []), 0);
  assert.equal(sumLags(lags, [9]), 0);
});
