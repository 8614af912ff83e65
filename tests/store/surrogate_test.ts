/**
 * Issue 22 (4): a JSON text with a lone surrogate escape (`{"s":"\udfff"}`, what JSON.stringify writes
 * for a lone surrogate) in a stored row made every read of its tenant and metric fail (DuckDB's JSON
 * reader refuses it: `GET /metrics` answered 500); in an alert's labels it failed the store write.
 * Normalize now rejects such elements; the store writes U+FFFD for anything else that brings one
 * (an envelope on the internal topic, a rule template); and a store an older agent wrote, which
 * holds such texts, reads fine, hot and cold.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { ParquetArchiver } from "../../store/parquet.ts";
import { StoreReader } from "../../store/query.ts";
import { StoreWriter } from "../../store/writer.ts";
import { makeAlert, makeEvents, storeAsOlderAgent, withStore } from "./helpers.ts";

const BASE = Date.UTC(2025, 9, 21, 10);

Deno.test("lone surrogates: the store writes U+FFFD, and texts an older agent stored read fine", async () => {
  await withStore("surrogate", async (store) => {
    const writer = await StoreWriter.open(store);
    const reader = await StoreReader.open(store);
    const archiver = await ParquetArchiver.open(store);
    try {
      const events = makeEvents(6, { tenants: ["acme"], metrics: ["cpu_load"], hosts: ["h1"], baseTs: BASE });
      events[4].tags = { both: "\ud83d\ude00 \udfff", escaped: "\\udfff" };
      // Before: the alert's labels failed the whole write ("Malformed JSON ... invalid high surrogate").
      await writer.writeBatch(events, [
        makeAlert(1, { labels: { s: "\udfff" }, annotations: { a: "\ud800" } }),
      ]);
      const conn = await store.connect();
      const texts = (await conn.runAndReadAll(
        "SELECT tags::VARCHAR FROM series UNION ALL SELECT labels::VARCHAR || annotations::VARCHAR FROM alerts",
      )).getRows().map(([text]) => String(text));
      store.release(conn);
      ok(texts.every((text) => !/(?<!\\)\\u[dD][89a-fA-F]/.test(text)), texts.join(" "));

      await storeAsOlderAgent(store, BASE);
      const check = async (tier: string) => {
        // Before: "Malformed JSON at byte 6 of input: invalid high surrogate in string" (a 500).
        const points = await reader.points({ metric: "cpu_load", tenant: "acme", limit: 100 });
        equal(points.length, 6, tier);
        deepStrictEqual([points[0].tags, points[0].ctx], [{ s: "\ufffd" }, { site: "a\ufffdb" }], tier);
        deepStrictEqual(points[4].tags, { both: "😀 \ufffd", escaped: "\\udfff" }, tier);
        deepStrictEqual(points[1].tags, events[1].tags, tier);
      };
      await check("hot");
      const alerts = await reader.alerts({ limit: 10 });
      deepStrictEqual(alerts.map((a) => [a.labels, a.annotations]), [
        [{ s: "\ufffd" }, { summary: "x\ufffd" }],
        [{ s: "\ufffd" }, { a: "\ufffd" }],
      ]);
      equal((await reader.alertsAfter(0, 10)).length, 2);
      equal((await reader.latestAlertPerFingerprint()).length, 2);
      equal((await archiver.exportCold(0, BASE + 86_400_000)).rows, 6);
      await check("cold");
    } finally {
      await archiver.close();
      await writer.close();
      reader.close();
    }
  });
});
