/**
 * Cold storage: layout, atomic export, compaction, retention, crash recovery, path escaping.
 */
import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { ParquetArchiver } from "../../store/parquet.ts";
import { decodeSegment, encodeSegment, partitionDir } from "../../store/paths.ts";
import { StoreReader } from "../../store/query.ts";
import { StoreWriter } from "../../store/writer.ts";
import { counts, listFiles, makeEvents, open, tempDataDir, withStore } from "./helpers.ts";

const DAY = 86_400_000;
const BASE = Date.UTC(2025, 9, 21);

Deno.test("parquet: export writes the brief's layout, readable by DuckDB, no temp leftovers", async () => {
  await withStore("p-layout", async (store) => {
    const writer = await StoreWriter.open(store);
    // Two days, two tenants, two metrics; the last hour stays hot.
    const events = makeEvents(4_800, {
      baseTs: BASE,
      stepMs: 36_000,
      metrics: ["cpu_load", "cpu_load", "mem_used", "mem_used"], // with 2 tenants: all 4 combinations
    });
    await writer.writeBatch(events, []);
    const archiver = await ParquetArchiver.open(store);
    const now = BASE + 2 * DAY;
    const stats = await archiver.exportCold(3_600_000, now);
    const cold = events.filter((e) => e.ts < now - 3_600_000).length;
    equal(stats.rows, cold);
    equal(stats.files, 8);
    equal(stats.partitions, 8);
    ok(stats.bytes > 0);
    const files = await listFiles(store.parquetDir);
    deepStrictEqual(files, [
      "tenant=acme/metric=cpu_load/date=2025-10-21/part-0001.parquet",
      "tenant=acme/metric=cpu_load/date=2025-10-22/part-0001.parquet",
      "tenant=acme/metric=mem_used/date=2025-10-21/part-0001.parquet",
      "tenant=acme/metric=mem_used/date=2025-10-22/part-0001.parquet",
      "tenant=globex/metric=cpu_load/date=2025-10-21/part-0001.parquet",
      "tenant=globex/metric=cpu_load/date=2025-10-22/part-0001.parquet",
      "tenant=globex/metric=mem_used/date=2025-10-21/part-0001.parquet",
      "tenant=globex/metric=mem_used/date=2025-10-22/part-0001.parquet",
    ]);
    // Nothing temporary anywhere in the data dir.
    const everything = await listFiles(store.dataDir);
    ok(everything.every((f) => !f.includes(".tmp") && !f.includes(".staging")), everything.join("\n"));
    // Readable by plain DuckDB with hive partitioning.
    const conn = await store.connect();
    const reader = await conn.runAndReadAll(
      `SELECT tenant, metric, date::VARCHAR, count(*)::INTEGER, min(epoch_ms(ts))::DOUBLE
       FROM read_parquet('${store.parquetDir}/*/*/*/*.parquet', hive_partitioning = true)
       WHERE tenant = 'acme' AND metric = 'cpu_load' GROUP BY ALL ORDER BY ALL`,
    );
    const acmeCpu = events.filter((e) =>
      e.tenant === "acme" && e.metric === "cpu_load" && e.ts < now - 3_600_000
    );
    const day1 = acmeCpu.filter((e) => e.ts < BASE + DAY);
    deepStrictEqual(reader.getRows(), [
      ["acme", "cpu_load", "2025-10-21", day1.length, day1[0].ts],
      ["acme", "cpu_load", "2025-10-22", acmeCpu.length - day1.length, acmeCpu[day1.length].ts],
    ]);
    store.release(conn);
    deepStrictEqual(await counts(store), { rows: events.length - cold, ids: events.length - cold });
    deepStrictEqual(await counts(store, "metrics_all"), { rows: events.length, ids: events.length });
    // A second export with nothing old is a no-op; a later one adds part-0002.
    equal((await archiver.exportCold(3_600_000, now)).files, 0);
    await writer.writeBatch(makeEvents(10, { baseTs: BASE + 1_000, start: 100_000 }), []);
    await archiver.exportCold(3_600_000, now);
    ok(
      (await listFiles(store.parquetDir)).includes(
        "tenant=acme/metric=cpu_load/date=2025-10-21/part-0002.parquet",
      ),
    );
  });
});

Deno.test("parquet: compaction merges parts atomically", async () => {
  await withStore("p-compact", async (store) => {
    const writer = await StoreWriter.open(store);
    const archiver = await ParquetArchiver.open(store);
    const reader = await StoreReader.open(store);
    for (let i = 0; i < 5; i++) {
      await writer.writeBatch(
        makeEvents(1_000, { baseTs: BASE, start: i * 1_000, tenants: ["acme"], metrics: ["cpu_load"] }),
        [],
      );
      await archiver.exportCold(0, BASE + DAY - 1);
    }
    const partition = "tenant=acme/metric=cpu_load/date=2025-10-21";
    equal((await listFiles(`${store.parquetDir}/${partition}`)).length, 5);
    const before = await reader.buckets({
      metric: "cpu_load",
      fromMs: BASE,
      toMs: BASE + DAY,
      stepMs: DAY,
      agg: "sum",
      limit: 10,
    });
    equal((await archiver.compact(8)).partitions, 0);
    const stats = await archiver.compact(5);
    deepStrictEqual([stats.partitions, stats.filesIn, stats.files, stats.rows], [1, 5, 1, 5_000]);
    deepStrictEqual(await listFiles(`${store.parquetDir}/${partition}`), ["part-0006.parquet"]);
    deepStrictEqual(await counts(store, "metrics_all"), { rows: 5_000, ids: 5_000 });
    deepStrictEqual(
      await reader.buckets({
        metric: "cpu_load",
        fromMs: BASE,
        toMs: BASE + DAY,
        stepMs: DAY,
        agg: "sum",
        limit: 10,
      }),
      before,
    );
    // Still exactly-once after compaction.
    equal(
      (await writer.writeBatch(
        makeEvents(1_000, { baseTs: BASE, tenants: ["acme"], metrics: ["cpu_load"] }),
        [],
      )).inserted,
      0,
    );
  });
});

Deno.test("parquet: retention deletes whole old days (files, keys, hot rows)", async () => {
  await withStore("p-retention", async (store) => {
    const writer = await StoreWriter.open(store);
    const archiver = await ParquetArchiver.open(store);
    await writer.writeBatch(makeEvents(3_000, { baseTs: BASE, stepMs: 86_400, tenants: ["acme"] }), []); // 3 days
    await archiver.exportCold(0, BASE + 2 * DAY); // days 1-2 cold, day 3 hot
    equal((await listFiles(store.parquetDir)).length, 4);
    equal((await archiver.applyRetention(0, BASE + 10 * DAY)).files, 0); // 0 keeps everything
    // now = day 3 12:00, retention 1.5 days -> cutoff day 2 00:00: day 1 goes, day 2 stays.
    const stats = await archiver.applyRetention(1.5 * DAY, BASE + 2.5 * DAY);
    deepStrictEqual([stats.partitions, stats.files, stats.rows], [2, 2, 1_000]);
    deepStrictEqual(await listFiles(store.parquetDir), [
      "tenant=acme/metric=cpu_load/date=2025-10-22/part-0001.parquet",
      "tenant=acme/metric=mem_used/date=2025-10-22/part-0001.parquet",
    ]);
    deepStrictEqual(await counts(store, "metrics_all"), { rows: 2_000, ids: 2_000 });
    // Everything older than the retention: hot rows too, and empty directories are removed.
    const all = await archiver.applyRetention(DAY, BASE + 10 * DAY);
    equal(all.hotRows, 1_000);
    deepStrictEqual(await listFiles(store.parquetDir), []);
    deepStrictEqual([...Deno.readDirSync(store.parquetDir)], []);
    deepStrictEqual(await counts(store, "metrics_all"), { rows: 0, ids: 0 });
  });
});

Deno.test("parquet: awkward tenant values are escaped and round-trip", async () => {
  const { dir, cleanup } = await tempDataDir("p-escape");
  const store = await open(dir);
  const tenants = [
    "a/b",
    "..",
    ".",
    "x=y",
    "ümlaut é",
    "100%",
    "tenant=evil",
    "a\\b",
    "日本",
    "007",
    "q?#&*",
    " sp ",
  ];
  try {
    const writer = await StoreWriter.open(store);
    const archiver = await ParquetArchiver.open(store);
    const reader = await StoreReader.open(store);
    const events = makeEvents(tenants.length * 4, { baseTs: BASE, tenants, metrics: ["cpu_load"] });
    await writer.writeBatch(events, []);
    await archiver.exportCold(0, BASE + DAY);
    const files = await listFiles(store.parquetDir);
    equal(files.length, tenants.length);
    for (const file of files) {
      const [t, m, d, name] = file.split("/");
      match(t, /^tenant=[A-Za-z0-9_%-]+$/);
      equal(m, "metric=cpu_load");
      equal(d, "date=2025-10-21");
      equal(name, "part-0001.parquet");
    }
    const catalog = await reader.catalog();
    deepStrictEqual(catalog.tenants.toSorted(), tenants.toSorted());
    for (const tenant of tenants) {
      const points = await reader.points({ metric: "cpu_load", tenant, limit: 100 });
      equal(points.length, 4, tenant);
      ok(points.every((p) => p.tenant === tenant));
    }
  } finally {
    store.close();
    await cleanup();
  }
});

Deno.test("paths: encodeSegment/decodeSegment", () => {
  for (const value of ["a/b", "..", "x=y", "é", "%", "a b", "日本", "tenant=x", "../../etc"]) {
    const encoded = encodeSegment(value);
    match(encoded, /^[A-Za-z0-9_%-]*$/);
    equal(decodeSegment(encoded), value);
  }
  equal(encodeSegment("acme"), "acme");
  equal(encodeSegment("a/b"), "a%2Fb");
  equal(encodeSegment(".."), "%2E%2E");
  equal(
    partitionDir({ tenant: "a/b", metric: "cpu_load", date: "2025-10-21" }),
    "tenant=a%2Fb/metric=cpu_load/date=2025-10-21",
  );
});

Deno.test("parquet: a crash mid-export or mid-compaction is repaired on open", async () => {
  const { dir, cleanup } = await tempDataDir("p-crash");
  let store = await open(dir);
  try {
    const writer = await StoreWriter.open(store);
    const archiver = await ParquetArchiver.open(store);
    await writer.writeBatch(
      makeEvents(2_000, { baseTs: BASE, tenants: ["acme"], metrics: ["cpu_load"] }),
      [],
    );
    await archiver.exportCold(0, BASE + 1_000 * 10); // first half cold
    const partition = `${store.parquetDir}/tenant=acme/metric=cpu_load/date=2025-10-21`;
    // Simulated leftovers: a part linked but never committed (its rows are still hot: a copy of the
    // committed part stands in), a temp file, a staging dir.
    await Deno.copyFile(`${partition}/part-0001.parquet`, `${partition}/part-0002.parquet`);
    await Deno.writeTextFile(`${partition}/.compact-x.parquet.tmp`, "partial");
    await Deno.mkdir(`${store.dataDir}/.staging/abc/tenant=acme`, { recursive: true });
    await Deno.writeTextFile(`${store.dataDir}/.staging/abc/tenant=acme/data_0.parquet`, "partial");
    store.close();
    store = await open(dir);
    deepStrictEqual(await listFiles(partition), ["part-0001.parquet"]);
    deepStrictEqual(await listFiles(`${store.dataDir}/.staging`), []);
    deepStrictEqual(await counts(store, "metrics_all"), { rows: 2_000, ids: 2_000 });
    // A manifest row whose file vanished is recorded missing (store/parts_check.ts), not dropped.
    await Deno.remove(`${partition}/part-0001.parquet`);
    store.close();
    store = await open(dir);
    deepStrictEqual(await counts(store, "metrics_all"), { rows: 1_000, ids: 1_000 });
    deepStrictEqual(
      [store.partsAtOpen?.damagedParts, store.partsAtOpen?.found.map((p) => p.problem)],
      [1, ["missing"]],
    );
  } finally {
    store.close();
    await cleanup();
  }
});

Deno.test("parquet: a new database adopts an existing Parquet tree (exactly-once kept)", async () => {
  const { dir, cleanup } = await tempDataDir("p-adopt");
  let store = await open(dir);
  try {
    const events = makeEvents(3_000, { baseTs: BASE });
    const writer = await StoreWriter.open(store);
    const archiver = await ParquetArchiver.open(store);
    await writer.writeBatch(events, []);
    await archiver.exportCold(0, BASE + DAY);
    store.close();
    await Deno.remove(`${dir}/metrics.duckdb`);
    await Deno.remove(`${dir}/metrics.duckdb.wal`).catch(() => undefined);
    store = await open(dir);
    ok(store.created);
    deepStrictEqual(await counts(store, "metrics_all"), { rows: 3_000, ids: 3_000 });
    const again = await StoreWriter.open(store);
    equal((await again.writeBatch(events, [])).inserted, 0);
  } finally {
    store.close();
    await cleanup();
  }
});
