/** Reading stored events back for the stateful stages' rebuild (`store/history.ts`): hot and Parquet rows alike. */
import { deepStrictEqual, equal } from "node:assert/strict";
import { ParquetArchiver } from "../../store/parquet.ts";
import { StoreReader } from "../../store/query.ts";
import { StoreWriter } from "../../store/writer.ts";
import { makeEvents, open, tempDataDir } from "./helpers.ts";

const BASE = Date.UTC(2025, 9, 21);
const HOUR = 3_600_000;

Deno.test("recentSeries and seriesHistory read hot and cold rows, in arrival order, with their tags and context", async () => {
  const { dir, cleanup } = await tempDataDir("history");
  const store = await open(dir);
  try {
    const writer = await StoreWriter.open(store);
    const archiver = await ParquetArchiver.open(store);
    const reader = await StoreReader.open(store);
    deepStrictEqual(await reader.recentSeries(HOUR, 30 * 60_000), [], "an empty store");
    // 3 h, one event per 10 s, 12 series; the first 2 h go to Parquet.
    const events = makeEvents(1_080, { baseTs: BASE, stepMs: 10_000, hosts: ["h1", "h2", "h3"] });
    await writer.writeBatch(events, []);
    await archiver.exportCold(HOUR, BASE + 3 * HOUR);
    const newest = events.at(-1)!.ts;
    const tiers = await reader.readOnlyQuery(
      "SELECT tier, count(*)::INTEGER AS n FROM metrics_all GROUP BY tier ORDER BY tier",
    );
    deepStrictEqual(tiers.rows, [["cold", 720], ["hot", 360]]);

    const recent = await reader.recentSeries(HOUR, 30 * 60_000);
    const inLastHour = events.filter((e) => e.ts >= newest - HOUR);
    equal(recent.length, new Set(inLastHour.map((e) => `${e.tenant}|${e.host}|${e.metric}`)).size);
    for (const series of recent) {
      const own = inLastHour.filter((e) =>
        e.tenant === series.tenant && e.host === series.host && e.metric === series.metric
      );
      equal(series.newest, Math.max(...own.map((e) => e.ts)));
      equal(series.rows, own.filter((e) => e.ts > series.newest - 30 * 60_000).length);
    }

    // Since 1.5 h back: Parquet and hot rows of two series.
    const wanted = recent.slice(0, 2).map((s) => ({ ...s, since: s.newest - 1.5 * HOUR }));
    const history = await reader.seriesHistory(wanted);
    const expected = events.filter((e) =>
      wanted.some((w) =>
        w.tenant === e.tenant && w.host === e.host && w.metric === e.metric && e.ts > w.since
      )
    ).sort((a, b) => a.ts_ingest - b.ts_ingest);
    deepStrictEqual(history.ts, expected.map((e) => e.ts));
    deepStrictEqual(history.value, expected.map((e) => e.value));
    deepStrictEqual(
      history.variant.map((k) => history.variants[k]),
      expected.map(({ tenant, host, metric, unit, tags, ctx }) => ({
        tenant,
        host,
        metric,
        unit,
        tags,
        ctx,
      })),
    );
    deepStrictEqual(await reader.seriesHistory([]), { variants: [], variant: [], ts: [], value: [] });
    reader.close();
  } finally {
    store.close();
    await cleanup();
  }
});
