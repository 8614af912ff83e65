/**
 * Rows restored from a departed agent (`restored_rows`): left out of every read while that agent's store
 * is back in the group, hot and exported to Parquet alike, and counted again once it is gone.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { ParquetArchiver } from "../../store/parquet.ts";
import { StoreReader } from "../../store/query.ts";
import { StoreWriter } from "../../store/writer.ts";
import { type RestoredLane, RestoredLanes } from "../../store/restored.ts";
import type { Envelope } from "../../model/envelope.ts";
import { makeAlert, makeEvents, withStore } from "./helpers.ts";
import { NotifyStore } from "../../store/notify.ts";

/** The lanes (series x source partition, offset range) of `events`. */
function lanesOf(events: readonly Envelope[]): RestoredLane[] {
  const lanes = new RestoredLanes();
  for (const event of events) lanes.add(event);
  return lanes.lanes();
}

async function totalRows(reader: StoreReader): Promise<number> {
  return (await reader.catalog()).series.reduce((sum, series) => sum + series.rows, 0);
}

Deno.test("restored rows: hidden while their store is back, hot and in Parquet; visible again when it leaves", async () => {
  await withStore("restored", async (store) => {
    const writer = await StoreWriter.open(store);
    const reader = await StoreReader.open(store);
    const base = Date.UTC(2025, 9, 21, 10);
    const all = makeEvents(3_000, { baseTs: base, stepMs: 1_000 });
    // The first 1,200 events were restored from store "s-1"; the rest are this agent's own.
    const restored = all.slice(0, 1_200);
    await writer.writeBatch(all, []);
    await writer.recordRestored("s-1", lanesOf(restored));
    deepStrictEqual(await reader.restoredStores(), ["s-1"]);
    equal(await totalRows(reader), 3_000);

    store.hideRestoredFrom(["s-1"]);
    equal(await totalRows(reader), 1_800, "the copies of s-1's rows are left out while s-1 is back");
    const points = await reader.points({ metric: "cpu_load", tenant: "acme", limit: 10_000 });
    equal(
      points.length,
      all.slice(1_200).filter((e) => e.metric === "cpu_load" && e.tenant === "acme").length,
    );

    // Exported to Parquet (the first half is older than an hour at the cutoff): still left out.
    const archiver = await ParquetArchiver.open(store);
    const exported = await archiver.exportCold(3_600_000, base + 1_500 * 1_000 + 3_600_000);
    equal(exported.rows, 1_500);
    equal(await totalRows(reader), 1_800, "hidden in the Parquet tier too");

    store.hideRestoredFrom(["another"]);
    equal(await totalRows(reader), 3_000, "s-1 gone again: this store's copies are the only ones");
    store.hideRestoredFrom([]);
    equal(await totalRows(reader), 3_000);
    reader.close();
    await writer.close();
  });
});

Deno.test("restored alerts: stored once as history, never dispatched again", async () => {
  await withStore("restored-alerts", async (store) => {
    const writer = await StoreWriter.open(store);
    const reader = await StoreReader.open(store);
    const notify = await NotifyStore.open(store);
    const own = makeAlert(1);
    await writer.writeBatch([], [own]);
    const theirs = [makeAlert(2), makeAlert(3), makeAlert(3)];
    const stored = await writer.restoreAlerts("s-1", theirs);
    deepStrictEqual(stored.map((alert) => alert.id), [theirs[0].id, theirs[1].id], "each id once");
    deepStrictEqual((await writer.restoreAlerts("s-1", theirs)).length, 0, "restored twice: nothing new");
    // Our own alert, restored again from the topic (it was ours all along), stays dispatchable.
    deepStrictEqual((await writer.restoreAlerts("s-1", [own])).length, 0);
    equal((await reader.alerts({ limit: 10 })).length, 3, "all three in the history");
    deepStrictEqual(
      (await notify.alertsAfter(0, 10)).map((alert) => alert.id),
      [own.id],
      "only its own to deliver",
    );
    notify.close();
    reader.close();
    await writer.close();
  });
});
