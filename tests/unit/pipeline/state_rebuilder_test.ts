/** StateRebuilder: which assignments make a partition's series be rebuilt again. */
import assert from "node:assert/strict";
import { ConfigSchema } from "../../../config/schema.ts";
import { StateRebuilder } from "../../../pipeline/rebuild.ts";

/** A rebuilder over an empty store that counts its rebuilds (each reads the recent series once). */
function countingRebuilder(): { rebuilder: StateRebuilder; rebuilds: () => number } {
  let reads = 0;
  const rebuilder = new StateRebuilder({
    config: ConfigSchema.parse({}),
    source: {
      recentSeries: () => {
        reads++;
        return Promise.resolve([]);
      },
      seriesHistory: () => Promise.reject(new Error("no series to read")),
      latestAlerts: () => Promise.resolve([]),
    },
    partitionOf: () => 0,
  });
  return { rebuilder, rebuilds: () => reads };
}

Deno.test("StateRebuilder: a partition is rebuilt once while owned; the empty assignment of a reconnect forgets nothing", async () => {
  const { rebuilder, rebuilds } = countingRebuilder();
  rebuilder.assigned([0, 1]);
  await rebuilder.ensure([0]);
  await rebuilder.ensure([0, 1]);
  assert.equal(rebuilds(), 1, "one pass for every assigned partition");
  rebuilder.assigned([]);
  await rebuilder.ensure([0, 1]);
  assert.equal(rebuilds(), 1, "an empty assignment (a reconnect) is not a revocation");
  rebuilder.assigned([1]);
  rebuilder.assigned([0, 1]);
  await rebuilder.ensure([0]);
  assert.equal(rebuilds(), 2, "a partition that was taken away and came back is rebuilt");
});

Deno.test("StateRebuilder: forget() makes every partition be rebuilt before its next batch (local topology shared)", async () => {
  const { rebuilder, rebuilds } = countingRebuilder();
  rebuilder.assigned([0]);
  await rebuilder.ensure([0]);
  await rebuilder.ensure([0]);
  assert.equal(rebuilds(), 1);
  rebuilder.forget();
  await rebuilder.ensure([0]);
  assert.equal(rebuilds(), 2, "rebuilt again after forget()");
});
