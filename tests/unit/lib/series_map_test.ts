import assert from "node:assert/strict";
import { SeriesMap } from "../../../lib/series_map.ts";

Deno.test("SeriesMap: set, get, delete (also while iterating), size and values", () => {
  const map = new SeriesMap<number>();
  map.set("acme", "h1", "cpu", 1);
  map.set("acme", "h1", "mem", 2);
  map.set("acme", "h2", "cpu", 3);
  map.set("globex", "h1", "cpu", 4);
  map.set("acme", "h1", "cpu", 5);
  assert.equal(map.size, 4);
  assert.equal(map.get("acme", "h1", "cpu"), 5);
  assert.equal(map.get("acme", "h3", "cpu"), undefined);
  assert.deepEqual([...map.values()], [5, 2, 3, 4]);
  assert.equal(map.delete("acme", "h1", "disk"), false);
  assert.equal(map.delete("other", "h1", "cpu"), false);
  for (const value of map.values()) {
    if (value % 2 === 1) {
      const [tenant, host, metric] = value === 5 ? ["acme", "h1", "cpu"] : ["acme", "h2", "cpu"];
      assert.equal(map.delete(tenant, host, metric), true);
    }
  }
  assert.equal(map.size, 2);
  assert.deepEqual([...map.values()], [2, 4]);
  assert.equal(map.get("acme", "h2", "cpu"), undefined);
  map.set("acme", "h2", "cpu", 6);
  assert.equal(map.size, 3);
  assert.equal(map.get("acme", "h2", "cpu"), 6);
});
