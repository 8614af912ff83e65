/** Parameters bound by type (store/bound.ts): the same types the generic bind infers, on a real DuckDB. */
import assert from "node:assert/strict";
import { DuckDBInstance } from "@duckdb/node-api";
import { readAllBound, runBound } from "../../store/bound.ts";

Deno.test("bound parameters keep the generic bind's types: INTEGER, BIGINT, DOUBLE, HUGEINT, VARCHAR, BOOLEAN, NULL", async () => {
  const instance = await DuckDBInstance.create(":memory:");
  const conn = await instance.connect();
  try {
    const reader = await readAllBound(
      conn,
      "SELECT typeof($1), typeof($2), typeof($3), typeof($4), typeof($5), typeof($6), $7 IS NULL, $1 + 1, $5 || '!'",
      [7, 2 ** 40, 1.5, 10n ** 20n, "text", true, null],
    );
    assert.deepEqual(reader.getRowsJS()[0], [
      "INTEGER",
      "BIGINT",
      "DOUBLE",
      "HUGEINT",
      "VARCHAR",
      "BOOLEAN",
      true,
      8,
      "text!",
    ]);
    await runBound(conn, "CREATE TABLE t AS SELECT $1::VARCHAR AS s, $2::BIGINT AS n", ["a", 3]);
    assert.deepEqual((await readAllBound(conn, "SELECT s, n FROM t WHERE n = $1", [3])).getRowsJS(), [[
      "a",
      3n,
    ]]);
  } finally {
    conn.closeSync();
    instance.closeSync();
  }
});
