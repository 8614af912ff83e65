/**
 * Issue 22 (5): a truncated Parquet part made every query fail while the store looked healthy; a
 * deleted one lost its rows without a word. Parts are checked against their manifest: a damaged
 * one is moved to quarantine and recorded, a missing one recorded; queries keep working over the
 * intact parts; the records persist across restarts; a part put back is listed again.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { checkParts, damagedParts } from "../../store/parts_check.ts";
import { ParquetArchiver } from "../../store/parquet.ts";
import { StoreReader } from "../../store/query.ts";
import type { Store } from "../../store/open.ts";
import { StoreWriter } from "../../store/writer.ts";
import { counts, listFiles, makeEvents, open, tempDataDir } from "./helpers.ts";

const BASE = Date.UTC(2025, 9, 21);
const DAY = 86_400_000;
const TOTAL = 4_000;

/** 4,000 events over two days, one tenant and metric, all exported: two parts per day. */
async function fixture(store: Store) {
  const writer = await StoreWriter.open(store);
  const archiver = await ParquetArchiver.open(store);
  // Two batches over the same two days (ids from different sources): each export makes a part per day.
  const step = (2 * DAY) / (TOTAL / 2);
  const options = { tenants: ["acme"], metrics: ["cpu_load"], stepMs: step };
  await writer.writeBatch(makeEvents(TOTAL / 2, { ...options, baseTs: BASE }), []);
  await archiver.exportCold(0, BASE + 3 * DAY);
  await writer.writeBatch(
    makeEvents(TOTAL / 2, { ...options, start: TOTAL / 2, baseTs: BASE + 30_000 - (TOTAL / 2) * step }),
    [],
  );
  await archiver.exportCold(0, BASE + 3 * DAY);
  await archiver.close();
  await writer.close();
  const conn = await store.connect();
  const parts = (await conn.runAndReadAll("SELECT path, rows::INTEGER FROM parquet_parts ORDER BY path"))
    .getRows()
    .map(([path, rows]) => ({ path: String(path), rows: Number(rows) }));
  store.release(conn);
  return parts;
}

/** Rows of `metrics_all`, reading every value (a bare count(*) reads only the Parquet footers). */
async function count(reader: StoreReader): Promise<number> {
  const sql =
    `SELECT count(*) FROM metrics_all WHERE "value" IS NOT NULL AND tags IS NOT NULL AND host IS NOT NULL`;
  return Number((await reader.readOnlyQuery(sql)).rows[0][0]);
}

Deno.test("parts: a truncated part is quarantined on the query that meets it; the query answers", async () => {
  const { dir, cleanup } = await tempDataDir("parts-truncated");
  const store = await open(dir);
  try {
    const parts = await fixture(store);
    equal(parts.length, 4);
    const reader = await StoreReader.open(store);
    equal(await count(reader), TOTAL);
    const [truncated] = parts;
    const abs = `${store.parquetDir}/${truncated.path}`;
    const size = (await Deno.stat(abs)).size;
    await Deno.truncate(abs, Math.floor(size / 2));
    // Before: "No magic bytes found at end of file …" for every query over metrics_all.
    equal(await count(reader), TOTAL - truncated.rows);
    const points = await reader.points({ metric: "cpu_load", limit: 10_000 });
    equal(points.length, TOTAL - truncated.rows);
    const [record] = await damagedParts(await store.connect());
    deepStrictEqual(
      [record.path, record.rows, record.quarantine],
      [truncated.path, truncated.rows, `quarantine/${truncated.path}`],
    );
    equal(
      record.problem,
      `${Math.floor(size / 2)} bytes, the manifest says ${size} (truncated or overwritten)`,
    );
    deepStrictEqual(await listFiles(`${store.dataDir}/quarantine`), [truncated.path]);
    const readable = await reader.readable();
    deepStrictEqual([readable.ok, readable.damagedParts, readable.unreadableRows], [true, 1, truncated.rows]);
    reader.close();
  } finally {
    store.close();
    await cleanup();
  }
});

Deno.test("parts: corrupt pages (right size, intact footer) are found by decoding", async () => {
  const { dir, cleanup } = await tempDataDir("parts-corrupt");
  const store = await open(dir);
  try {
    const parts = await fixture(store);
    const reader = await StoreReader.open(store);
    const abs = `${store.parquetDir}/${parts[2].path}`;
    const bytes = await Deno.readFile(abs);
    for (let i = 100; i < bytes.length / 2; i += 7) bytes[i] ^= 0xff; // data pages, not the footer
    await Deno.writeFile(abs, bytes);
    equal((await checkParts(store, { deep: true })).found.length, 0, "size and footer are intact");
    // DuckDB's message may not name the file ("TProtocolException: Invalid data"): every part is decoded.
    equal(await count(reader), TOTAL - parts[2].rows);
    const [record] = await damagedParts(await store.connect());
    equal(record.path, parts[2].path);
    match(record.problem, /^DuckDB cannot decode it: /);
    reader.close();
  } finally {
    store.close();
    await cleanup();
  }
});

Deno.test("parts: a deleted part is reported, not dropped; records persist; a part put back is listed again", async () => {
  const { dir, cleanup } = await tempDataDir("parts-missing");
  let store = await open(dir);
  const backup = await Deno.makeTempDir({ dir: "./data" });
  try {
    const parts = await fixture(store);
    const [, deleted, , truncated] = parts;
    await Deno.copyFile(`${store.parquetDir}/${deleted.path}`, `${backup}/deleted.parquet`);
    await Deno.copyFile(`${store.parquetDir}/${truncated.path}`, `${backup}/truncated.parquet`);
    let reader = await StoreReader.open(store);
    await Deno.remove(`${store.parquetDir}/${deleted.path}`);
    // The probe sees it at once (a stat per part) and has it recorded.
    const probe = await reader.readable();
    deepStrictEqual([probe.ok, probe.damagedParts, probe.unreadableRows], [true, 1, deleted.rows]);
    deepStrictEqual(probe.damaged.map((p) => [p.path, p.problem]), [[deleted.path, "missing"]]);
    const checked = await checkParts(store);
    equal(checked.damagedParts, 1);
    reader.close();
    store.close();

    // A restart: the open checks every part (deep) and finds the truncated one; the missing one is
    // still recorded (before: the open dropped its manifest row, silently).
    await Deno.truncate(`${dir}/parquet/${truncated.path}`, 100);
    store = await open(dir);
    const atOpen = store.partsAtOpen!;
    deepStrictEqual(atOpen.found.map((p) => p.path), [truncated.path]);
    deepStrictEqual([atOpen.damagedParts, atOpen.unreadableRows], [2, deleted.rows + truncated.rows]);
    reader = await StoreReader.open(store);
    equal(await count(reader), TOTAL - deleted.rows - truncated.rows);
    deepStrictEqual(await counts(store, "metrics_all"), {
      rows: TOTAL - deleted.rows - truncated.rows,
      ids: TOTAL - deleted.rows - truncated.rows,
    });

    // Put back from the backup: listed again by the next check (and not removed as an orphan).
    await Deno.copyFile(`${backup}/deleted.parquet`, `${store.parquetDir}/${deleted.path}`);
    await Deno.copyFile(`${backup}/truncated.parquet`, `${store.parquetDir}/${truncated.path}`);
    const restored = await checkParts(store);
    deepStrictEqual(restored.restored.toSorted(), [deleted.path, truncated.path].toSorted());
    equal(restored.damagedParts, 0);
    equal(await count(reader), TOTAL);
    ok((await listFiles(`${store.dataDir}/quarantine`)).includes(truncated.path), "the damaged copy is kept");
    reader.close();
  } finally {
    store.close();
    await Deno.remove(backup, { recursive: true });
    await cleanup();
  }
});

Deno.test("parts: retention removes the records and quarantined files of old days", async () => {
  const { dir, cleanup } = await tempDataDir("parts-retention");
  const store = await open(dir);
  try {
    const parts = await fixture(store);
    await Deno.truncate(`${store.parquetDir}/${parts[0].path}`, 10);
    equal((await checkParts(store)).damagedParts, 1);
    const archiver = await ParquetArchiver.open(store);
    await archiver.applyRetention(DAY, BASE + 3 * DAY);
    await archiver.close();
    const conn = await store.connect();
    equal((await damagedParts(conn)).length, 0);
    store.release(conn);
    deepStrictEqual(await listFiles(`${store.dataDir}/quarantine`), []);
  } finally {
    store.close();
    await cleanup();
  }
});

Deno.test("parts: a recorded part's number is never reused, so a later part is never taken for it", async () => {
  const { dir, cleanup } = await tempDataDir("parts-numbers");
  const store = await open(dir);
  try {
    const parts = await fixture(store);
    const last = parts.filter((p) => p.path.includes("date=2025-10-21")).at(-1)!;
    await Deno.remove(`${store.parquetDir}/${last.path}`);
    equal((await checkParts(store)).damagedParts, 1);
    // The next export into that day: a new part, with a new number.
    const writer = await StoreWriter.open(store);
    const archiver = await ParquetArchiver.open(store);
    await writer.writeBatch(
      makeEvents(10, { tenants: ["acme"], metrics: ["cpu_load"], start: 90_000, baseTs: BASE }),
      [],
    );
    equal((await archiver.exportCold(0, BASE + 3 * DAY)).files, 1);
    await archiver.close();
    await writer.close();
    ok(!(await listFiles(store.parquetDir)).includes(last.path), "the missing part's path stays free");
    const again = await checkParts(store, { deep: true });
    deepStrictEqual([again.found.length, again.restored.length, again.damagedParts], [0, 0, 1]);
    const reader = await StoreReader.open(store);
    equal(await count(reader), TOTAL - last.rows + 10);
    reader.close();
  } finally {
    store.close();
    await cleanup();
  }
});
