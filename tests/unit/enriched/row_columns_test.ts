import assert from "node:assert/strict";
import type { BatchRows } from "../../../enriched/mod.ts";
import { prng } from "../../../lib/prng.ts";
import { RowColumns } from "../../../enriched/row_columns.ts";

type Row = Parameters<RowColumns["push"]>;

function randomRows(count: number, seed: number): Row[] {
  const random = prng(seed);
  return Array.from({ length: count }, (_, i): Row => [
    i % 7,
    i % 3,
    i % 2,
    Math.round(random() * 1e6) / 100 - 5_000,
    1_764_000_000_000 + i,
    1_764_000_000_500 + i,
    0,
    i % 4,
    random() < 0.05 ? `${2n ** 64n - BigInt(i)}` : i * 3,
    i % 5,
  ]);
}

/** The rows as plain arrays, as the packer built them before the columns were reused. */
function plain(rows: Row[]): BatchRows {
  const names = [
    "series",
    "tags",
    "ctx",
    "value",
    "ts",
    "ts_ingest",
    "topic",
    "partition",
    "offset",
    "index",
  ];
  return Object.fromEntries(
    names.map((name, k) => [name, rows.map((row) => row[k])]),
  ) as unknown as BatchRows;
}

Deno.test("row columns: batch after batch (larger, smaller, empty), the same JSON as fresh arrays", () => {
  const columns = new RowColumns();
  // The sizes go up and down, across the storage kept (8,192 rows) and back.
  for (const [i, size] of [3, 1_000, 10, 0, 9_000, 5, 2_500].entries()) {
    const rows = randomRows(size, i + 1);
    for (const row of rows) columns.push(...row);
    assert.equal(columns.length, size);
    assert.equal(JSON.stringify(columns.rows()), JSON.stringify(plain(rows)), `batch ${i} of ${size} rows`);
    columns.clear();
    assert.equal(columns.length, 0);
  }
  assert.equal(JSON.stringify(columns.rows()), JSON.stringify(plain([])));
});
