/**
 * 1,000,000 rows in 10,000-row batches into a file database, counted once; then replayed (nothing
 * inserted), exported to Parquet and counted once more. Prints the measured rates.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { ParquetArchiver } from "../../store/parquet.ts";
import { StoreWriter } from "../../store/writer.ts";
import { counts, makeEvents, withStore } from "./helpers.ts";

const TOTAL = 1_000_000;
const BATCH = 10_000;

Deno.test("bulk: 1M rows written exactly once, replayed, exported", async () => {
  await withStore("bulk", async (store) => {
    const writer = await StoreWriter.open(store);
    const base = Date.UTC(2025, 9, 21);
    const options = {
      baseTs: base,
      stepMs: 50,
      tenants: ["acme", "globex", "initech"],
      hosts: Array.from({ length: 50 }, (_, i) => `host-${i}`),
      metrics: ["cpu_load", "mem_used", "disk_used", "net_in", "temp_c"],
    };
    let writeMs = 0;
    let inserted = 0;
    for (let start = 0; start < TOTAL; start += BATCH) {
      const batch = makeEvents(BATCH, { ...options, start }); // generated outside the timing
      const t = performance.now();
      inserted += (await writer.writeBatch(batch, [])).inserted;
      writeMs += performance.now() - t;
    }
    equal(inserted, TOTAL);
    let replayMs = 0;
    let duplicates = 0;
    for (let start = TOTAL - 100_000; start < TOTAL; start += BATCH) {
      const batch = makeEvents(BATCH, { ...options, start: start - 5_000 });
      const t = performance.now();
      const r = await writer.writeBatch(batch, []);
      replayMs += performance.now() - t;
      equal(r.inserted, 0);
      duplicates += r.duplicates;
    }
    equal(duplicates, 100_000);
    deepStrictEqual(await counts(store), { rows: TOTAL, ids: TOTAL });
    const archiver = await ParquetArchiver.open(store);
    const exported = await archiver.exportCold(0, base + TOTAL * 50);
    equal(exported.rows, TOTAL);
    deepStrictEqual(await counts(store), { rows: 0, ids: 0 });
    deepStrictEqual(await counts(store, "metrics_all"), { rows: TOTAL, ids: TOTAL });
    const s = writer.stats;
    console.log(
      `bulk: write ${Math.round(TOTAL / (writeMs / 1000))} rows/s (${writeMs.toFixed(0)} ms; check ${
        s.checkMs.toFixed(0)
      }, ` +
        `append ${s.appendMs.toFixed(0)}, commit ${
          s.commitMs.toFixed(0)
        }; raw chunks ${writer.rawChunks}); ` +
        `replay ${Math.round(100_000 / (replayMs / 1000))} rows/s; ` +
        `export ${Math.round(exported.rows / (exported.ms / 1000))} rows/s (${exported.files} files, ` +
        `${(exported.bytes / 1e6).toFixed(1)} MB)`,
    );
    ok(writeMs > 0);
  });
});
