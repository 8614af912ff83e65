/**
 * Series ids: one id per distinct combination of the descriptive columns, whichever objects carry
 * them, with many series on one host, and the same ids after a reload from the store.
 */
import { deepStrictEqual, equal, notEqual } from "node:assert/strict";
import type { Envelope } from "../../model/envelope.ts";
import { SeriesIds } from "../../store/series_ids.ts";
import { StoreWriter } from "../../store/writer.ts";
import { makeEvents, open, tempDataDir } from "./helpers.ts";

const [base] = makeEvents(1, { hosts: ["host-a"], metrics: ["cpu_load"], tenants: ["acme"] });

/** A copy of `base` with other columns, its maps as fresh objects (as a decoded message has). */
function variant(change: Partial<Envelope>): Envelope {
  return {
    ...base,
    tags: { ...base.tags },
    ctx: { ...base.ctx },
    source: { ...base.source },
    ...change,
  };
}

Deno.test("series ids: equal columns share an id, any other column makes a new series", () => {
  const ids = new SeriesIds();
  const first = ids.idOf(base);
  equal(ids.idOf(variant({})), first, "the same columns in other objects");
  equal(ids.idOf(variant({ value: 1, ts: base.ts + 1 })), first, "numbers are not part of the series");
  const changes: Partial<Envelope>[] = [
    { tenant: "globex" },
    { host: "host-b" },
    { metric: "mem_used" },
    { unit: "ratio" },
    { unit_original: "%" },
    { tags: { env: "dev" } },
    { ctx: { site: "s2" } },
    { source: { ...base.source, topic: "other.raw" } },
  ];
  const seen = new Set([first]);
  for (const change of changes) {
    const id = ids.idOf(variant(change));
    equal(seen.has(id), false, `new series for ${JSON.stringify(change)}`);
    seen.add(id);
    equal(ids.idOf(variant(change)), id, `the same id again for ${JSON.stringify(change)}`);
  }
  equal(ids.size, changes.length + 1);
  equal(ids.pending.length, changes.length + 1);
  deepStrictEqual(ids.pending.map((series) => series.id), [...seen]);
  ids.commit();
  equal(ids.pending.length, 0);
});

Deno.test("series ids: a host with hundreds of metrics keeps one id per series", () => {
  const ids = new SeriesIds();
  const metrics = Array.from({ length: 300 }, (_, i) => `sensor_${i}`);
  const first = metrics.map((metric) => ids.idOf(variant({ metric })));
  equal(new Set(first).size, metrics.length);
  const again = metrics.map((metric) => ids.idOf(variant({ metric })));
  deepStrictEqual(again, first);
  notEqual(ids.idOf(variant({ metric: "sensor_7", unit: "ratio" })), first[7]);
  equal(ids.size, metrics.length + 1);
});

Deno.test("series ids: reloaded from the store, known series keep their ids and new ones follow", async () => {
  const { dir, cleanup } = await tempDataDir("series-ids");
  const events = makeEvents(200, {
    hosts: ["h1", "h2"],
    metrics: Array.from({ length: 40 }, (_, i) => `m${i}`),
  });
  let store = await open(dir);
  let writer = await StoreWriter.open(store);
  await writer.writeBatch(events);
  await writer.close();
  const conn = await store.connect();
  const stored = await SeriesIds.load(conn);
  const expected = await conn.runAndReadAll("SELECT count(*)::INTEGER FROM series");
  store.release(conn);
  store.close();
  equal(stored.size, expected.getRows()[0][0]);

  store = await open(dir);
  const again = await store.connect();
  const reloaded = await SeriesIds.load(again);
  store.release(again);
  for (const event of events) equal(reloaded.idOf(event), stored.idOf(event));
  equal(reloaded.pending.length, 0, "no known series is new");
  const fresh = reloaded.idOf(variant({ host: "h3" }));
  equal(fresh, stored.size, "the next id follows the stored ones");
  writer = await StoreWriter.open(store);
  await writer.close();
  store.close();
  await cleanup();
});
