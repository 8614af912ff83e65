/**
 * Schema 1 -> 2: a store whose `metrics` table holds every column per row is moved into `series` +
 * `metric_rows` on the first writable open, and reads and writes carry on as before.
 */
import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import type { Envelope } from "../../model/envelope.ts";
import {
  ALERTS_DDL,
  EXPORTED_KEYS_DDL,
  META_DDL,
  METRICS_V1_DDL,
  PARQUET_PARTS_DDL,
  SCHEMA_VERSION,
} from "../../store/schema.ts";
import type { Store } from "../../store/open.ts";
import { StoreWriter } from "../../store/writer.ts";
import { SeriesIds } from "../../store/series_ids.ts";
import { counts, makeEvents, open, storedRow, storedRowsSql, tempDataDir } from "./helpers.ts";

function byPosition(a: Envelope, b: Envelope): number {
  return a.source.topic.localeCompare(b.source.topic) || a.source.partition - b.source.partition ||
    Number(a.source.offset) - Number(b.source.offset) || a.source.index - b.source.index;
}

/** Writes a schema 1 store with `events`, the way schema 1 stored them. */
async function writeV1Store(dir: string, events: readonly Envelope[]): Promise<void> {
  const instance = await DuckDBInstance.create(`${dir}/metrics.duckdb`);
  const conn = await instance.connect();
  try {
    for (const ddl of [META_DDL, METRICS_V1_DDL, ALERTS_DDL, EXPORTED_KEYS_DDL, PARQUET_PARTS_DDL]) {
      await conn.run(ddl);
    }
    await conn.run("INSERT INTO meta VALUES ('schema_version', '1')");
    for (const e of events) {
      // The row as `storedRowsSql` reads it back, without the derived id.
      const [, ...columns] = storedRow(e);
      await conn.run(
        `INSERT INTO metrics VALUES ($1, $2, $3, $4, $5, $6, make_timestamptz($7::BIGINT * 1000),
           make_timestamptz($8::BIGINT * 1000), $9, $10, $11, $12, $13::BIGINT, $14)`,
        columns,
      );
    }
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
}

async function rows(store: Store, sql: string): Promise<unknown[][]> {
  const conn = await store.connect();
  try {
    return (await conn.runAndReadAll(sql)).getRows();
  } finally {
    store.release(conn);
  }
}

/** Events over two topics, with original units and changing tags, so series differ in every column. */
function mixedEvents(): Envelope[] {
  const first = makeEvents(200, { tenants: ["acme", "globex"], hosts: ["h1", "h2", "h3"] });
  const second = makeEvents(100, { topic: "ingest.http", partitions: 1, metrics: ["temp"] });
  return [...first, ...second].map((e, k) => ({
    ...e,
    ...(k % 7 === 0 ? { unit_original: "ratio" } : {}),
    tags: k % 5 === 0 ? { env: "prod", canary: "yes" } : e.tags,
  }));
}

Deno.test("migration: a schema 1 store is moved into series + metric_rows, rows unchanged", async () => {
  const { dir, cleanup } = await tempDataDir("migrate-v1");
  try {
    const old = mixedEvents();
    await writeV1Store(dir, old);

    let store = await open(dir);
    try {
      ok(store.migrationMs !== undefined && store.migrationMs >= 0, "the open reports its migration");
      deepStrictEqual(
        await rows(store, storedRowsSql("src_topic, src_partition, src_offset, src_index")),
        [...old].sort(byPosition).map(storedRow),
      );
      deepStrictEqual(
        await rows(
          store,
          `SELECT table_name, table_type FROM information_schema.tables
           WHERE table_name IN ('metrics', 'metric_rows', 'series') ORDER BY ALL`,
        ),
        [["metric_rows", "BASE TABLE"], ["metrics", "VIEW"], ["series", "BASE TABLE"]],
      );
      deepStrictEqual(await rows(store, "SELECT \"value\" FROM meta WHERE key = 'schema_version'"), [[
        String(SCHEMA_VERSION),
      ]]);
      const seriesBefore = Number((await rows(store, "SELECT count(*) FROM series"))[0][0]);

      // Replaying the migrated events stores nothing; new events of known series add no series.
      const writer = await StoreWriter.open(store);
      const more = makeEvents(90, { start: 200, tenants: ["acme", "globex"], hosts: ["h1", "h2", "h3"] });
      const result = await writer.writeBatch([...old, ...more]);
      equal(result.inserted, 90);
      equal(result.duplicates, old.length);
      await writer.close();
      deepStrictEqual(await counts(store), { rows: 390, ids: 390 });
      equal(Number((await rows(store, "SELECT count(*) FROM series"))[0][0]), seriesBefore);
    } finally {
      store.close();
    }

    // A second open does not migrate again, and the writer reuses the stored series ids.
    store = await open(dir);
    try {
      equal(store.migrationMs, undefined);
      const writer = await StoreWriter.open(store);
      const seriesBefore = Number((await rows(store, "SELECT count(*) FROM series"))[0][0]);
      equal(
        (await writer.writeBatch(
          makeEvents(30, { start: 290, tenants: ["acme", "globex"], hosts: ["h1", "h2", "h3"] }),
        ))
          .inserted,
        30,
      );
      await writer.close();
      deepStrictEqual(await counts(store), { rows: 420, ids: 420 });
      equal(Number((await rows(store, "SELECT count(*) FROM series"))[0][0]), seriesBefore);
    } finally {
      store.close();
    }
  } finally {
    await cleanup();
  }
});

Deno.test("series ids: one id per distinct column set, pending until committed", () => {
  const ids = new SeriesIds();
  const [a, b] = makeEvents(2, { hosts: ["a", "b"] });
  equal(ids.idOf(a), 0);
  equal(ids.idOf(b), 1);
  equal(ids.idOf({ ...a, source: { ...a.source, offset: "99" } }), 0, "same series, other position");
  equal(ids.idOf({ ...a, tags: { ...a.tags } }), 0, "equal tags in another object");
  equal(ids.idOf({ ...a, tags: { other: "x" } }), 2, "other tags");
  equal(ids.idOf({ ...a, unit_original: "ratio" }), 3, "original unit");
  equal(ids.idOf({ ...a, source: { ...a.source, topic: "ingest.http" } }), 4, "other topic");
  deepStrictEqual(ids.pending.map((s) => s.id), [0, 1, 2, 3, 4]);
  equal(ids.pending[2].tagsJson, '{"other":"x"}');
  ids.commit();
  deepStrictEqual(ids.pending, []);
  equal(ids.idOf(b), 1);
  equal(ids.size, 5);
});
