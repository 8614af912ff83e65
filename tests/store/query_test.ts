/**
 * The read side: one view over hot + cold, numerically checked aggregations, parameterized filters,
 * alert replay, and the read-only SQL console.
 */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import type { StoreQueries } from "../../api/deps.ts";
import { ParquetArchiver } from "../../store/parquet.ts";
import { QueryError, StoreReader } from "../../store/query.ts";
import type { Aggregation } from "../../model/query.ts";
import { StoreWriter } from "../../store/writer.ts";
import type { Envelope } from "../../model/envelope.ts";
import { makeAlert, makeEvents, open, tempDataDir, withStore } from "./helpers.ts";

const BASE = Date.UTC(2025, 9, 21);
const HOUR = 3_600_000;

/** 6 h of one event per 10 s per host/tenant mix; the first 4 h exported to Parquet. */
async function fixture(name: string) {
  const { dir, cleanup } = await tempDataDir(name);
  const store = await open(dir);
  const writer = await StoreWriter.open(store);
  const archiver = await ParquetArchiver.open(store);
  const reader = await StoreReader.open(store);
  const events = makeEvents(2_160, {
    baseTs: BASE,
    stepMs: 10_000,
    metrics: ["cpu_load"],
    value: (k) => ((k * 37) % 101) + 0.25,
  });
  await writer.writeBatch(events, []);
  await archiver.exportCold(2 * HOUR, BASE + 6 * HOUR);
  return { store, writer, archiver, reader, events, cleanup };
}

function expectedAgg(values: number[], agg: Aggregation): number {
  const sorted = [...values].sort((a, b) => a - b);
  switch (agg) {
    case "avg":
      return values.reduce((a, b) => a + b, 0) / values.length;
    case "min":
      return sorted[0];
    case "max":
      return sorted[sorted.length - 1];
    case "sum":
      return values.reduce((a, b) => a + b, 0);
    case "count":
      return values.length;
    case "last":
      return values[values.length - 1];
    case "p50":
    case "p90":
    case "p95":
    case "p99": {
      const q = Number(agg.slice(1)) / 100;
      return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]; // nearest rank
    }
  }
}

Deno.test("query: the view spans hot and cold rows", async () => {
  const f = await fixture("q-view");
  try {
    const conn = await f.store.connect();
    const { createMetricsView } = await import("../../store/query.ts");
    await createMetricsView(f.store, conn);
    const tiers = await conn.runAndReadAll(
      "SELECT tier, count(*)::INTEGER FROM metrics_all GROUP BY ALL ORDER BY ALL",
    );
    deepStrictEqual(tiers.getRows(), [["cold", 1_440], ["hot", 720]]);
    f.store.release(conn);
    const points = await f.reader.points({
      metric: "cpu_load",
      tenant: "acme",
      host: "host-a",
      limit: 10_000,
    });
    const want = f.events.filter((e) => e.tenant === "acme" && e.host === "host-a");
    deepStrictEqual(points.map((p) => p.ts), want.map((e) => e.ts));
    deepStrictEqual(points[0], {
      ts: want[0].ts,
      tenant: "acme",
      host: "host-a",
      metric: "cpu_load",
      value: want[0].value,
      unit: "percent",
      tags: want[0].tags,
      ctx: want[0].ctx,
    });
    // Range across the hot/cold boundary: from inclusive, to exclusive, limit keeps the oldest.
    const from = BASE + 4 * HOUR - 60_000;
    const to = BASE + 4 * HOUR + 60_000;
    const span = await f.reader.points({ metric: "cpu_load", fromMs: from, toMs: to, limit: 1_000 });
    deepStrictEqual(
      span.map((p) => p.ts),
      f.events.filter((e) => e.ts >= from && e.ts < to).map((e) => e.ts),
    );
    const limited = await f.reader.points({ metric: "cpu_load", fromMs: from, limit: 3 });
    deepStrictEqual(limited.map((p) => p.ts), [from, from + 10_000, from + 20_000]);
  } finally {
    f.store.close();
    await f.cleanup();
  }
});

Deno.test("query: buckets are numerically correct for every aggregation", async () => {
  const f = await fixture("q-buckets");
  try {
    const step = 45 * 60_000; // does not divide the hour: buckets straddle the hot/cold boundary
    const from = BASE + 30 * 60_000;
    const to = BASE + 6 * HOUR;
    for (const agg of ["avg", "min", "max", "last", "count", "sum", "p50", "p90", "p95", "p99"] as const) {
      const got = await f.reader.buckets({
        metric: "cpu_load",
        tenant: "globex",
        fromMs: from,
        toMs: to,
        stepMs: step,
        agg,
        limit: 1_000,
      });
      const groups = new Map<string, { ts: number; host: string; values: number[] }>();
      for (const e of f.events) {
        if (e.tenant !== "globex" || e.ts < from || e.ts >= to) continue;
        const ts = Math.floor(e.ts / step) * step;
        const key = `${ts}|${e.host}`;
        const g = groups.get(key) ?? { ts, host: e.host, values: [] };
        g.values.push(e.value);
        groups.set(key, g);
      }
      const want = [...groups.values()]
        .sort((a, b) => a.ts - b.ts || a.host.localeCompare(b.host))
        .map((g) => ({ ts: g.ts, tenant: "globex", host: g.host, value: expectedAgg(g.values, agg) }));
      equal(got.length, want.length, agg);
      for (let i = 0; i < want.length; i++) {
        deepStrictEqual({ ...got[i], value: 0 }, { ...want[i], value: 0 }, agg);
        ok(
          Math.abs(got[i].value - want[i].value) < 1e-9,
          `${agg} bucket ${i}: ${got[i].value} vs ${want[i].value}`,
        );
      }
    }
  } finally {
    f.store.close();
    await f.cleanup();
  }
});

Deno.test("query: p95 on a known distribution", async () => {
  await withStore("q-p95", async (store) => {
    const writer = await StoreWriter.open(store);
    const reader = await StoreReader.open(store);
    // values 1..100 in one bucket: nearest-rank p95 = 95; 1..20: p95 = 19.
    await writer.writeBatch(
      makeEvents(100, {
        baseTs: BASE,
        stepMs: 1,
        tenants: ["t"],
        hosts: ["h"],
        metrics: ["m"],
        value: (k) => 100 - k,
      }),
      [],
    );
    await writer.writeBatch(
      makeEvents(20, {
        baseTs: BASE + HOUR,
        stepMs: 1,
        start: 100,
        tenants: ["t"],
        hosts: ["h"],
        metrics: ["m"],
        value: (k) => k - 99,
      }),
      [],
    );
    const rows = await reader.buckets({
      metric: "m",
      fromMs: BASE,
      toMs: BASE + 2 * HOUR,
      stepMs: HOUR,
      agg: "p95",
      limit: 10,
    });
    deepStrictEqual(rows.map((r) => [r.ts, r.value]), [[BASE, 95], [BASE + HOUR, 19]]);
  });
});

Deno.test("query: Parquet files of other partitions are never opened (pruning)", async () => {
  const f = await fixture("q-prune");
  try {
    // Corrupt globex's cold files: queries for acme (or other days) must not read them.
    for await (
      const entry of Deno.readDir(`${f.store.parquetDir}/tenant=globex/metric=cpu_load/date=2025-10-21`)
    ) {
      await Deno.writeTextFile(
        `${f.store.parquetDir}/tenant=globex/metric=cpu_load/date=2025-10-21/${entry.name}`,
        "garbage",
      );
    }
    equal((await f.reader.points({ metric: "cpu_load", tenant: "acme", limit: 5 })).length, 5);
    equal((await f.reader.points({ metric: "cpu_load", fromMs: BASE + 86_400_000, limit: 5 })).length, 0);
    // globex's query meets them: they are taken out of the queries (store/parts_check.ts), the hot rows answer.
    const globex = await f.reader.points({ metric: "cpu_load", tenant: "globex", limit: 5 });
    equal(globex.length, 5);
    ok(globex.every((p) => p.ts >= BASE + 4 * HOUR), "only hot rows are left for globex");
    equal((await f.reader.readable()).damagedParts, 1);
  } finally {
    f.store.close();
    await f.cleanup();
  }
});

Deno.test("query: request strings are data, never SQL", async () => {
  await withStore("q-inject", async (store) => {
    const writer = await StoreWriter.open(store);
    const reader = await StoreReader.open(store);
    const evil = ["x' OR '1'='1", "'; DROP TABLE metrics; --", "$1", 'acme") OR (1=1', "\\' OR 1=1 --"];
    await writer.writeBatch(makeEvents(10, { tenants: ["acme", evil[0]], metrics: ["cpu_load"] }), [
      makeAlert(1, { rule: evil[1] }),
    ]);
    for (const value of evil) {
      deepStrictEqual(await reader.points({ metric: "cpu_load", tenant: value, host: value, limit: 10 }), []);
      deepStrictEqual(await reader.alerts({ rule: value, tenant: value, limit: 10 }), []);
      deepStrictEqual(
        await reader.buckets({
          metric: value,
          fromMs: 0,
          toMs: Date.now(),
          stepMs: 1_000,
          agg: "avg",
          limit: 10,
        }),
        [],
      );
    }
    equal((await reader.points({ metric: "cpu_load", tenant: evil[0], limit: 10 })).length, 5);
    equal((await reader.alerts({ rule: evil[1], limit: 10 })).length, 1);
    equal((await reader.points({ metric: "cpu_load", limit: 100 })).length, 10);
    deepStrictEqual(await reader.alertsAfter(evil[1], 10), []);
  });
});

Deno.test("query: alerts listing, replay and latest per fingerprint", async () => {
  await withStore("q-alerts", async (store) => {
    const writer = await StoreWriter.open(store);
    const reader = await StoreReader.open(store);
    const a1 = makeAlert(0); // host-0 warning firing
    const a2 = makeAlert(1); // host-1 critical firing
    const a3 = makeAlert(2, {
      state: "resolved",
      ends_at: a1.starts_at + 120_000,
      ts: a1.starts_at + 120_000,
      fingerprint: a1.fingerprint,
    });
    await writer.writeBatch([], [a1, a2]);
    await writer.writeBatch([], [a3]);
    deepStrictEqual((await reader.alerts({ limit: 10 })).map((a) => a.seq), [3, 2, 1]);
    // a1 resolved (a3): firing now is a2 only (tests/store/alerts_state_test.ts).
    deepStrictEqual((await reader.alerts({ state: "firing", limit: 10 })).map((a) => a.id), [a2.id]);
    deepStrictEqual((await reader.alerts({ severity: "critical", limit: 10 })).map((a) => a.id), [a2.id]);
    deepStrictEqual((await reader.alerts({ host: "host-1", limit: 10 })).map((a) => a.id), [a2.id]);
    deepStrictEqual((await reader.alerts({ fromMs: a2.ts, toMs: a3.ts, limit: 10 })).map((a) => a.id), [
      a2.id,
    ]);
    deepStrictEqual((await reader.alerts({ limit: 1 })).map((a) => a.seq), [3]);
    deepStrictEqual((await reader.alertsAfter(1, 10)).map((a) => a.seq), [2, 3]);
    deepStrictEqual((await reader.alertsAfter(a2.id, 10)).map((a) => a.seq), [3]);
    deepStrictEqual((await reader.alertsAfter(0, 1)).map((a) => a.seq), [1]);
    const latest = await reader.latestAlertPerFingerprint();
    deepStrictEqual(latest.map((a) => [a.fingerprint, a.state, a.seq]), [
      [a2.fingerprint, "firing", 2],
      [a1.fingerprint, "resolved", 3],
    ]);
    deepStrictEqual(latest[1], { ...a3, seq: 3 });
  });
});

Deno.test("query: catalog and disk usage", async () => {
  const f = await fixture("q-catalog");
  try {
    const catalog = await f.reader.catalog();
    deepStrictEqual(catalog.tenants, ["acme", "globex"]);
    equal(catalog.series.length, 6); // 2 tenants x 3 hosts
    const s = catalog.series.find((x) => x.tenant === "acme" && x.host === "host-a")!;
    const mine: Envelope[] = f.events.filter((e) => e.tenant === "acme" && e.host === "host-a");
    deepStrictEqual(s, {
      tenant: "acme",
      host: "host-a",
      metric: "cpu_load",
      rows: mine.length,
      first_ts: mine[0].ts,
      last_ts: mine[mine.length - 1].ts,
      unit: "percent",
    });
    equal(catalog.series.reduce((rows, series) => rows + series.rows, 0), 2_160);
    equal(await f.reader.writable(), true);
    const usage = await f.reader.diskUsage();
    ok(usage.duckdb > 0 && usage.parquet > 0 && usage.parquetFiles === 2);
    equal(usage.bytes, usage.duckdb + usage.wal + usage.parquet);
    // The API's interface is satisfied.
    const api: StoreQueries = f.reader;
    ok(api);
  } finally {
    f.store.close();
    await f.cleanup();
  }
});

Deno.test("readOnlyQuery: runs SELECT-like statements with JSON-safe values", async () => {
  const f = await fixture("q-console");
  try {
    const r = await f.reader.readOnlyQuery(
      `SELECT tier, count(*) AS n, max(ts) AS last, 1180591620717411303424::HUGEINT AS big, 9007199254740993::BIGINT AS big2,
              9007199254740991::BIGINT AS safe, 12.5::DECIMAL(5,2) AS d,
              DATE '2025-10-21' AS day, TIMESTAMPTZ '2025-10-21 10:00:00.123456+00' AS precise,
              [1, 2] AS list, {'a': 1::BIGINT} AS struct, 'nan'::DOUBLE AS nan
       FROM metrics_all GROUP BY tier ORDER BY tier`,
    );
    deepStrictEqual(r.columns.map((c) => c.name), [
      "tier",
      "n",
      "last",
      "big",
      "big2",
      "safe",
      "d",
      "day",
      "precise",
      "list",
      "struct",
      "nan",
    ]);
    deepStrictEqual(r.rows[0], [
      "cold",
      1_440,
      new Date(BASE + 4 * HOUR - 10_000).toISOString(),
      "1180591620717411303424",
      "9007199254740993",
      9007199254740991,
      12.5,
      "2025-10-21",
      "2025-10-21T10:00:00.123456Z",
      [1, 2],
      { a: 1 },
      "NaN",
    ]);
    equal(r.truncated, false);
    for (
      const sql of [
        "DESCRIBE metrics_all",
        "SHOW TABLES",
        "SUMMARIZE metrics",
        "EXPLAIN SELECT 1",
        "WITH x AS (SELECT 1 AS a) SELECT * FROM x",
        "FROM alerts",
      ]
    ) {
      await f.reader.readOnlyQuery(sql);
    }
    const capped = await f.reader.readOnlyQuery("SELECT * FROM range(100000)", { maxRows: 5 });
    deepStrictEqual([capped.rows.length, capped.truncated], [5, true]);
  } finally {
    f.store.close();
    await f.cleanup();
  }
});

Deno.test("readOnlyQuery: rejects anything that could write or escape", async (t) => {
  const f = await fixture("q-console-deny");
  try {
    const denied = [
      "INSERT INTO metrics SELECT * FROM metrics",
      "DELETE FROM metrics",
      "DELETE FROM metric_rows",
      "UPDATE alerts SET state = 'resolved'",
      "DROP TABLE metrics",
      "CREATE TABLE x AS SELECT 1",
      `COPY metrics TO '${f.store.dataDir}/dump.csv'`,
      `ATTACH '${f.store.dataDir}/other.db' AS other`,
      "SELECT 1; DELETE FROM metrics",
      "SELECT 1; SELECT 2",
      "EXPLAIN ANALYZE DELETE FROM metrics",
      "SET threads = 4",
      "CHECKPOINT",
      "SELECT * FROM force_checkpoint()",
      "CALL pragma_version()",
      "PRAGMA enable_profiling",
      "INSTALL httpfs",
      "SELECT * FROM read_csv('/etc/passwd')",
      "SELECT $1",
      "",
      "SELEC 1",
    ];
    for (const sql of denied) {
      await t.step(sql || "(empty)", async () => {
        await rejects(() => f.reader.readOnlyQuery(sql), QueryError);
      });
    }
    const r = await f.reader.readOnlyQuery("SELECT count(*) AS n FROM metrics_all");
    deepStrictEqual(r.rows, [[2_160]]);
    await rejects(() => f.reader.readOnlyQuery("SELECT 1; SELECT 2"), /exactly one statement/);
    await rejects(() => f.reader.readOnlyQuery("DELETE FROM metric_rows"), /only SELECT/);
    const slow = f.reader.readOnlyQuery("SELECT count(*) FROM range(10000000000) a", { timeoutMs: 200 });
    await rejects(() => slow, (e: Error) => e instanceof QueryError && /interrupt/i.test(e.message));
    match((await f.reader.readOnlyQuery("SELECT 'ok' AS s")).rows[0][0] as string, /^ok$/);
  } finally {
    f.store.close();
    await f.cleanup();
  }
});

Deno.test("query: a read-only open serves the reader", async () => {
  const f = await fixture("q-readonly");
  const dir = f.store.dataDir;
  f.store.close();
  const { openStore } = await import("../../store/open.ts");
  const store = await openStore(dir, { memoryLimit: "128MB", threads: 1 }, { readOnly: true });
  try {
    const reader = await StoreReader.open(store);
    equal((await reader.points({ metric: "cpu_load", limit: 10_000 })).length, 2_160);
    deepStrictEqual((await reader.readOnlyQuery("SELECT count(*) FROM metrics_all")).rows, [[2_160]]);
    await rejects(() => StoreWriter.open(store), /read-only/);
    equal(await reader.writable(), false);
  } finally {
    store.close();
    await f.cleanup();
  }
});

Deno.test("query: ranges reaching beyond year 1 or 9999 read the rows (the date bound is left out)", async () => {
  const f = await fixture("q-far");
  try {
    // Before: "Conversion Error: invalid date field format: "-000711-01"" (GET /metrics?from=-1000000d: 500).
    const far = BASE - 1_000_000 * 86_400_000;
    const all = await f.reader.points({ metric: "cpu_load", fromMs: far, toMs: 8.64e15, limit: 10_000 });
    equal(all.length, f.events.length);
    equal(
      (await f.reader.points({ metric: "cpu_load", fromMs: -8.64e15, limit: 10_000 })).length,
      f.events.length,
    );
    equal((await f.reader.points({ metric: "cpu_load", toMs: far, limit: 10 })).length, 0);
    const buckets = await f.reader.buckets({
      metric: "cpu_load",
      fromMs: far,
      toMs: BASE + 86_400_000,
      stepMs: 200_000 * 86_400_000,
      agg: "count",
      limit: 100,
    });
    equal(buckets.reduce((sum, b) => sum + b.value, 0), f.events.length);
    equal((await f.reader.alerts({ fromMs: far, limit: 10 })).length, 0);
  } finally {
    f.store.close();
    await f.cleanup();
  }
});

Deno.test("query: tag and context filters, buckets grouped by a tag or context key (hot and cold rows)", async () => {
  const f = await fixture("q-labels");
  try {
    const dc0 = f.events.filter((e) => e.tags.dc === "dc0" && e.ctx.role === "web");
    const points = await f.reader.points({
      metric: "cpu_load",
      labels: [{ map: "tags", key: "dc", value: "dc0" }, { map: "ctx", key: "role", value: "web" }],
      limit: 10_000,
    });
    deepStrictEqual(points.map((p) => p.ts), dc0.map((e) => e.ts));
    // A value that looks like SQL is a value: nothing matches.
    deepStrictEqual(
      await f.reader.points({
        metric: "cpu_load",
        labels: [{ map: "tags", key: "dc", value: "x' OR '1'='1" }],
        limit: 5,
      }),
      [],
    );
    const step = 2 * HOUR;
    const grouped = await f.reader.buckets({
      metric: "cpu_load",
      labels: [{ map: "ctx", key: "site", value: "s1" }],
      group: { by: "tags", key: "dc" },
      fromMs: BASE,
      toMs: BASE + 6 * HOUR,
      stepMs: step,
      agg: "p90",
      limit: 1_000,
    });
    const expected = new Map<string, number[]>();
    for (const e of f.events) {
      const key = `${Math.floor(e.ts / step) * step}|${e.tenant}|${e.tags.dc}`;
      expected.set(key, [...(expected.get(key) ?? []), e.value]);
    }
    deepStrictEqual(
      grouped.map((row) => `${row.ts}|${row.tenant}|${row.group}`),
      [...expected.keys()].sort((a, b) => {
        const [ta, na, ga] = a.split("|");
        const [tb, nb, gb] = b.split("|");
        return Number(ta) - Number(tb) || na.localeCompare(nb) || ga.localeCompare(gb);
      }),
    );
    for (const row of grouped) {
      equal(row.value, expectedAgg(expected.get(`${row.ts}|${row.tenant}|${row.group}`)!, "p90"));
      equal(row.host, undefined);
    }
    const missing = await f.reader.buckets({
      metric: "cpu_load",
      group: { by: "ctx", key: "owner" },
      fromMs: BASE,
      toMs: BASE + 6 * HOUR,
      stepMs: 24 * HOUR,
      agg: "count",
      limit: 10,
    });
    deepStrictEqual(missing.map((row) => [row.tenant, row.group]), [["acme", null], ["globex", null]]);
  } finally {
    f.store.close();
    await f.cleanup();
  }
});
