/**
 * Lag of a partition from its offsets: end minus committed; without a commit, from the first offset
 * (a group that starts from the beginning) or nothing (one that starts at the end).
 *
 * @module
 */
import assert from "node:assert/strict";
import { drainTargets, lagToTargets, partitionLag, sumLags } from "../../../kafka/lag.ts";

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

Deno.test("drainTargets: the end offset of each partition with lag; lagToTargets counts up to them only", () => {
  const before = new Map([
    [0, { end: 100n, start: 0n, committed: 40n }],
    [1, { end: 50n, start: 0n, committed: 50n }],
    [2, { end: 30n, start: 10n, committed: -1n }],
  ]);
  assert.deepEqual(drainTargets(before, true), new Map([[0, 100n], [2, 30n]]));
  assert.deepEqual(
    drainTargets(before, false),
    new Map([[0, 100n]]),
    "no commit and not from the beginning: nothing to drain",
  );
  const targets = drainTargets(before, true);
  assert.equal(lagToTargets(targets, before, true), 60 + 20);
  // Later: partition 0 was produced to (end 180) and handled up to 100; partition 2 up to 25.
  const later = new Map([
    [0, { end: 180n, start: 0n, committed: 100n }],
    [1, { end: 70n, start: 0n, committed: 50n }],
    [2, { end: 30n, start: 10n, committed: 25n }],
  ]);
  assert.equal(lagToTargets(targets, later, true), 5, "messages after the targets do not count");
});
