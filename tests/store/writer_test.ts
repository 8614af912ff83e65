/**
 * Exactly-once writes: replays, overlaps, restarts and exports never store an event twice.
 */
import { deepStrictEqual, equal, ok, rejects } from "node:assert/strict";
import { ParquetArchiver } from "../../store/parquet.ts";
import { StoreReader } from "../../store/query.ts";
import { StoreWriter } from "../../store/writer.ts";
import {
  counts,
  makeAlert,
  makeEvents,
  open,
  storedRow,
  storedRowsSql,
  tempDataDir,
  withStore,
} from "./helpers.ts";

Deno.test("writer: the same batch twice is stored once", async () => {
  await withStore("w-same", async (store) => {
    const writer = await StoreWriter.open(store);
    ok(writer.rawChunks, "raw chunk path verified");
    const batch = makeEvents(5_000);
    deepStrictEqual(await writer.writeBatch(batch, []), {
      inserted: 5_000,
      duplicates: 0,
      alertsInserted: 0,
      storedAlerts: [],
    });
    deepStrictEqual(await writer.writeBatch(batch, []), {
      inserted: 0,
      duplicates: 5_000,
      alertsInserted: 0,
      storedAlerts: [],
    });
    deepStrictEqual(await counts(store), { rows: 5_000, ids: 5_000 });
  });
});

Deno.test("writer: overlapping, shuffled and self-duplicated batches", async () => {
  await withStore("w-overlap", async (store) => {
    const writer = await StoreWriter.open(store);
    const all = makeEvents(10_000);
    equal((await writer.writeBatch(all.slice(0, 6_000), [])).inserted, 6_000);
    // Overlap 4_000..6_000 again, plus new 6_000..8_000, out of order and with repeats inside the batch.
    const overlap = [...all.slice(4_000, 8_000)].reverse();
    overlap.push(all[7_000], all[4_500]);
    deepStrictEqual(await writer.writeBatch(overlap, []), {
      inserted: 2_000,
      duplicates: 2_002,
      alertsInserted: 0,
      storedAlerts: [],
    });
    // Interleaved streams of the same source partition (two enriched partitions): lower offsets
    // that were never stored must still be accepted.
    const evens = all.slice(8_000).filter((_, i) => i % 2 === 0);
    const odds = all.slice(8_000).filter((_, i) => i % 2 === 1);
    equal((await writer.writeBatch(evens, [])).inserted, evens.length);
    equal((await writer.writeBatch(odds, [])).inserted, odds.length);
    deepStrictEqual(await counts(store), { rows: 10_000, ids: 10_000 });
  });
});

Deno.test("writer: replay after a restart inserts nothing", async () => {
  const { dir, cleanup } = await tempDataDir("w-restart");
  const batch = makeEvents(3_000, { partitions: 4, topic: "events.enriched" });
  let store = await open(dir);
  let writer = await StoreWriter.open(store);
  await writer.writeBatch(batch, [makeAlert(1)]);
  store.close(); // no explicit checkpoint: the WAL must carry it
  store = await open(dir);
  writer = await StoreWriter.open(store);
  try {
    deepStrictEqual(await writer.writeBatch(batch, [makeAlert(1)]), {
      inserted: 0,
      duplicates: 3_000,
      alertsInserted: 0,
      storedAlerts: [],
    });
    const more = makeEvents(1_000, { partitions: 4, topic: "events.enriched", start: 2_500 });
    equal((await writer.writeBatch(more, [])).inserted, 500);
    deepStrictEqual(await counts(store), { rows: 3_500, ids: 3_500 });
  } finally {
    store.close();
    await cleanup();
  }
});

Deno.test("writer: replay after export to Parquet inserts nothing", async () => {
  const { dir, cleanup } = await tempDataDir("w-export");
  let store = await open(dir);
  try {
    const base = Date.UTC(2025, 9, 21, 10);
    const batch = makeEvents(6_000, { baseTs: base, stepMs: 1_000 });
    let writer = await StoreWriter.open(store);
    await writer.writeBatch(batch, []);
    const archiver = await ParquetArchiver.open(store);
    const cutoffNow = base + 3_000 * 1_000 + 3_600_000; // export the first half (older than 1 h)
    const exported = await archiver.exportCold(3_600_000, cutoffNow);
    equal(exported.rows, 3_000);
    deepStrictEqual(await counts(store), { rows: 3_000, ids: 3_000 });
    deepStrictEqual(await writer.writeBatch(batch, []), {
      inserted: 0,
      duplicates: 6_000,
      alertsInserted: 0,
      storedAlerts: [],
    });
    store.close();
    store = await open(dir);
    writer = await StoreWriter.open(store);
    deepStrictEqual(await writer.writeBatch(batch.slice(0, 100), []), {
      inserted: 0,
      duplicates: 100,
      alertsInserted: 0,
      storedAlerts: [],
    });
    deepStrictEqual(await counts(store, "metrics_all"), { rows: 6_000, ids: 6_000 });
  } finally {
    store.close();
    await cleanup();
  }
});

Deno.test("writer: alerts are deduplicated by id and numbered by seq", async () => {
  await withStore("w-alerts", async (store) => {
    const writer = await StoreWriter.open(store);
    const reader = await StoreReader.open(store);
    const a = [makeAlert(1), makeAlert(2), makeAlert(1)];
    const first = await writer.writeBatch([], a);
    equal(first.alertsInserted, 2);
    deepStrictEqual(first.storedAlerts, [{ ...a[0], seq: 1 }, { ...a[1], seq: 2 }]);
    const second = await writer.writeBatch(makeEvents(10), [makeAlert(2), makeAlert(3)]);
    deepStrictEqual(second.storedAlerts, [{ ...makeAlert(3), seq: 3 }]);
    const after = await reader.alertsAfter(0, 10);
    deepStrictEqual(after.map((x) => [x.seq, x.id]), [[1, a[0].id], [2, a[1].id], [3, makeAlert(3).id]]);
    deepStrictEqual(after[0], { ...makeAlert(1), seq: 1 });
  });
});

Deno.test("writer: filterUnseen drops stored and repeated events, lazily opened writer", async () => {
  const { dir, cleanup } = await tempDataDir("w-filter");
  const store = await open(dir);
  const writer = new StoreWriter(store); // connection opened on first use
  try {
    equal(writer.rawChunks, undefined);
    const all = makeEvents(3_000);
    await writer.writeBatch(all.slice(0, 1_000), []);
    const mixed = [all[5], ...all.slice(900, 1_200), all[1_100]];
    const unseen = await writer.filterUnseen(mixed);
    deepStrictEqual(unseen.map((e) => e.id), all.slice(1_000, 1_200).map((e) => e.id));
    deepStrictEqual(await writer.filterUnseen(all.slice(0, 10)), []);
    deepStrictEqual(await counts(store), { rows: 1_000, ids: 1_000 });
    await writer.close();
    await rejects(() => writer.writeBatch(all, []), /closed/);
  } finally {
    store.close();
    await cleanup();
  }
});

Deno.test("writer: a failing batch leaves nothing behind", async () => {
  await withStore("w-fail", async (store) => {
    const writer = await StoreWriter.open(store);
    const good = makeEvents(100);
    const bad = makeEvents(100, { start: 100 });
    bad[50] = { ...bad[50], source: { ...bad[50].source, offset: String(2 ** 60) } };
    await rejects(() => writer.writeBatch([...good, ...bad], [makeAlert(1)]), /beyond 2\^53/);
    const tooOld = makeEvents(10, { start: 300 });
    tooOld[3] = { ...tooOld[3], ts: Number.MAX_SAFE_INTEGER };
    await rejects(() => writer.writeBatch(tooOld, []), RangeError);
    deepStrictEqual(await counts(store), { rows: 0, ids: 0 });
    equal((await writer.writeBatch(good, [makeAlert(1)])).inserted, 100);
    equal((await writer.writeBatch(good, [])).inserted, 0);
  });
});

Deno.test("writer: values round-trip exactly (node-api and raw chunk paths agree)", async () => {
  await withStore("w-values", async (store) => {
    const events = makeEvents(3, { tenants: ["ténant/ü", "a"], hosts: ["h-with-a-long-name-over-12", "h"] });
    events[0] = { ...events[0], unit_original: "%", value: -0.5, tags: { "k=v": "x/y", empty: "" }, ctx: {} };
    events[1] = {
      ...events[1],
      value: 1e-300,
      tags: {},
      source: { ...events[1].source, offset: "9007199254740991" },
    };
    events[1] = {
      ...events[1],
      id: `${events[1].source.topic}:${events[1].source.partition}:9007199254740991:0`,
    };
    for (const raw of [true, false]) {
      const conn = await store.connect();
      await conn.run("DELETE FROM metric_rows");
      store.release(conn);
      const writer = await StoreWriter.open(store, { rawChunks: raw });
      equal(writer.rawChunks, raw);
      equal((await writer.writeBatch(events, [])).inserted, 3);
      await writer.close();
      const check = await store.connect();
      const reader = await check.runAndReadAll(storedRowsSql("ts"));
      store.release(check);
      deepStrictEqual(reader.getRows(), events.map(storedRow));
    }
  });
});

Deno.test("writer: alerts round-trip exactly through the appender (node-api and raw chunk paths)", async () => {
  await withStore("w-alert-values", async (store) => {
    const alerts = [
      makeAlert(1, { labels: { team: "ops", "é/ü": "日本語テキスト", long: "x".repeat(40) }, value: -0.5 }),
      makeAlert(2, { state: "resolved", ends_at: Date.UTC(2025, 9, 21, 11, 0, 0, 123), value: 1e-300 }),
      makeAlert(3, { annotations: {}, labels: {}, threshold: 2 ** 40 + 0.25 }),
      ...Array.from({ length: 70 }, (_, i) => makeAlert(10 + i, { ends_at: i % 3 === 0 ? null : 1_000 * i })),
    ];
    for (const raw of [true, false]) {
      const conn = await store.connect();
      await conn.run("DELETE FROM alerts");
      store.release(conn);
      const writer = await StoreWriter.open(store, { rawChunks: raw });
      equal(writer.rawChunks, raw);
      const result = await writer.writeBatch(makeEvents(5), alerts);
      deepStrictEqual(result.storedAlerts, alerts.map((alert, i) => ({ ...alert, seq: i + 1 })));
      equal(writer.stats.alertRetries, 0); // appended, not redone by the statement
      await writer.close();
      const reader = await StoreReader.open(store);
      deepStrictEqual(await reader.alertsAfter(0, 100), result.storedAlerts, `raw chunks: ${raw}`);
      await reader.close();
      const check = await store.connect();
      await check.run("DELETE FROM metric_rows");
      store.release(check);
    }
  });
});

Deno.test("writer: a batch repeating a stored alert is written again by the statement, once, and numbering goes on", async () => {
  await withStore("w-alert-replay", async (store) => {
    const writer = await StoreWriter.open(store);
    const events = makeEvents(30);
    deepStrictEqual(
      (await writer.writeBatch(events.slice(0, 10), [makeAlert(1), makeAlert(2)])).storedAlerts
        .map((alert) => alert.seq),
      [1, 2],
    );
    // A replay: the stored alert 2 again, with new rows; the append fails on the primary key and the
    // batch is redone by the statement that skips stored ids (the rows are not stored twice).
    const replay = await writer.writeBatch(events.slice(5, 20), [makeAlert(2), makeAlert(3)]);
    equal(replay.inserted, 10);
    equal(replay.duplicates, 5);
    deepStrictEqual(replay.storedAlerts, [{ ...makeAlert(3), seq: 3 }]);
    equal(writer.stats.alertRetries, 1);
    // Back on the appender, numbered on from the table.
    deepStrictEqual((await writer.writeBatch(events.slice(20), [makeAlert(4)])).storedAlerts, [
      { ...makeAlert(4), seq: 4 },
    ]);
    equal(writer.stats.alertRetries, 1);
    deepStrictEqual(await counts(store), { rows: 30, ids: 30 });
    const reader = await StoreReader.open(store);
    deepStrictEqual((await reader.alertsAfter(0, 10)).map((alert) => alert.seq), [1, 2, 3, 4]);
    await reader.close();
    await writer.close();
  });
});

Deno.test("writer: the event loop keeps running during a large batch", async () => {
  await withStore("w-yield", async (store) => {
    const writer = await StoreWriter.open(store);
    const batch = makeEvents(100_000);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const started = performance.now();
    await writer.writeBatch(batch, []);
    const ms = performance.now() - started;
    clearInterval(timer);
    // A 1 ms interval fires between chunks (49 chunks of 2048 rows); a blocked loop would give ~0-1.
    ok(ticks >= 10, `only ${ticks} timer ticks in ${ms.toFixed(0)} ms`);
  });
});

Deno.test("writer: concurrent writes and exports stay exactly-once", async () => {
  await withStore("w-concurrent", async (store) => {
    const writer = await StoreWriter.open(store);
    const archiver = await ParquetArchiver.open(store);
    const base = Date.UTC(2025, 9, 21);
    const all = makeEvents(40_000, { baseTs: base, stepMs: 100 });
    const jobs: Promise<unknown>[] = [];
    for (let i = 0; i < 40_000; i += 5_000) {
      jobs.push(writer.writeBatch(all.slice(i, i + 5_000), []));
      // Replays of the previous slice race with exports of the oldest rows.
      if (i > 0) jobs.push(writer.writeBatch(all.slice(i - 5_000, i), []));
      jobs.push(archiver.exportCold(0, base + i * 100));
    }
    await Promise.all(jobs);
    await archiver.exportCold(0, base + 40_000 * 100 + 1);
    deepStrictEqual(await counts(store), { rows: 0, ids: 0 });
    deepStrictEqual(await counts(store, "metrics_all"), { rows: 40_000, ids: 40_000 });
  });
});

Deno.test("writer: series interleaved across source partitions are new without a lookup; replays are found", async () => {
  const { dir, cleanup } = await tempDataDir("w-series");
  // 60 series over 3 source partitions. The enriched topic delivers each series in source order,
  // but a batch interleaves series (and enriched partitions), so raw offsets go back and forth.
  const all = makeEvents(12_000, {
    hosts: ["h0", "h1", "h2", "h3", "h4"],
    tenants: ["t0", "t1", "t2", "t3"],
  });
  const lanes = [0, 1, 2].map((lane) =>
    all.filter((event) => (event.host.charCodeAt(1) + event.tenant.length) % 3 === lane)
  );
  const interleave = (from: number, to: number) => {
    const out = [];
    for (const lane of lanes) {
      out.push(...lane.slice(Math.floor(lane.length * from), Math.floor(lane.length * to)));
    }
    return out;
  };
  let store = await open(dir);
  let writer = await StoreWriter.open(store);
  try {
    const first = interleave(0, 0.25);
    equal((await writer.writeBatch(first, [])).inserted, first.length);
    const second = interleave(0.25, 0.5);
    equal((await writer.writeBatch(second, [])).inserted, second.length);
    equal(writer.stats.lookups, 0, "a fresh store and in-order series need no lookup");
    // A replay of part of the last batch followed by new events: found, not stored twice.
    const replay = [...interleave(0.4, 0.5), ...interleave(0.5, 0.6)];
    deepStrictEqual((await writer.filterUnseen(replay)).length, interleave(0.5, 0.6).length);
    equal(writer.stats.lookups, 1);
    equal((await writer.writeBatch(interleave(0.5, 0.6), [])).inserted, interleave(0.5, 0.6).length);
    // Back to new events only: no lookup.
    equal((await writer.writeBatch(interleave(0.6, 0.7), [])).inserted, interleave(0.6, 0.7).length);
    equal(writer.stats.lookups, 1);
    store.close();

    // After a restart every series starts at the store's highest offset: a replay is checked.
    store = await open(dir);
    writer = await StoreWriter.open(store);
    equal((await writer.writeBatch(interleave(0.65, 0.8), [])).inserted, interleave(0.7, 0.8).length);
    equal(writer.stats.lookups, 1);
    equal((await writer.writeBatch(interleave(0.8, 1), [])).inserted, interleave(0.8, 1).length);
    deepStrictEqual(await counts(store), { rows: 12_000, ids: 12_000 });
  } finally {
    store.close();
    await cleanup();
  }
});

Deno.test("writer: the chunks refilled for every batch keep nothing of the batch before", async () => {
  await withStore("w-reuse", async (store) => {
    const writer = await StoreWriter.open(store, { chunkRows: 4 });
    ok(writer.rawChunks, "raw chunk path verified");
    // First batch: long strings (natively assigned), original units; 9 rows = 3 chunks of the reused one.
    const first = makeEvents(9, {
      tenants: ["a-tenant-name-longer-than-12"],
      hosts: ["h-with-a-long-name-over-12"],
    })
      .map((e) => ({ ...e, unit_original: "%", value: e.value + 0.25 }));
    // Second batch: new series with short inline strings and no original unit (NULL), fewer rows.
    const second = makeEvents(3, { start: 100, tenants: ["b"], hosts: ["h"], metrics: ["m"] });
    equal((await writer.writeBatch(first, [])).inserted, 9);
    equal((await writer.writeBatch(second, [])).inserted, 3);
    await writer.close();
    const conn = await store.connect();
    const reader = await conn.runAndReadAll(storedRowsSql("ts"));
    store.release(conn);
    const byId = (rows: unknown[][]) => [...rows].sort((x, y) => String(x[0]).localeCompare(String(y[0])));
    deepStrictEqual(byId(reader.getRows()), byId([...first, ...second].map(storedRow)));
  });
});

Deno.test("writer: a batch that fails after some chunks were appended leaves nothing in the kept appender", async () => {
  await withStore("w-fail-chunks", async (store) => {
    const writer = await StoreWriter.open(store, { chunkRows: 8 });
    const bad = makeEvents(100);
    bad[50] = { ...bad[50], ts: Number.MAX_SAFE_INTEGER }; // the 7th chunk fails to fill
    await rejects(() => writer.writeBatch(bad, []), RangeError);
    deepStrictEqual(await counts(store), { rows: 0, ids: 0 });
    const good = makeEvents(100, { start: 1000 });
    equal((await writer.writeBatch(good, [])).inserted, 100);
    deepStrictEqual(await counts(store), { rows: 100, ids: 100 });
    equal((await writer.writeBatch(makeEvents(100), [])).inserted, 100);
    deepStrictEqual(await counts(store), { rows: 200, ids: 200 });
  });
});

Deno.test("writer: a batch never appends while a query runs, and a query waits for a batch (Store.access)", async () => {
  await withStore("w-access", async (store) => {
    const writer = await StoreWriter.open(store);
    const reader = await StoreReader.open(store);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => release = resolve);
    const order: string[] = [];
    const query = store.access.read(async () => {
      order.push("query started");
      await gate;
      order.push("query done");
    });
    const batch = writer.writeBatch(makeEvents(100), []).then(() => order.push("batch stored"));
    // The batch waits for the query in flight, however long the event loop runs meanwhile.
    for (let turn = 0; turn < 20; turn++) await new Promise((resolve) => setTimeout(resolve, 5));
    deepStrictEqual(order, ["query started"]);
    // A query asked for while the batch waits goes after it.
    const later = reader.catalog().then(() => order.push("later query"));
    release();
    await Promise.all([query, batch, later]);
    deepStrictEqual(order, ["query started", "query done", "batch stored", "later query"]);
    reader.close();
    await writer.close();
  });
});
