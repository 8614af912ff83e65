/**
 * Statements with parameters, bound by type. `@duckdb/node-api`'s generic `bind` (what
 * `conn.run(sql, params)` and `conn.runAndReadAll(sql, params)` use) creates a native `duckdb_value`
 * per parameter that is never freed: measured with 1.5.6-r.1, ~470 B of malloc'd memory per call
 * with two parameters under Deno and ~630 B under Node 20, with or without a forced full GC; the
 * typed binds (`bindVarchar`, `bindInteger`, ...) pass the value directly and leak nothing (5 B per
 * call, noise). The reads and the alert writes run these on every request and batch, so an agent
 * that runs for months must not use the generic one on those paths.
 *
 * @module
 */
import type {
  DuckDBConnection,
  DuckDBMaterializedResult,
  DuckDBPreparedStatement,
  DuckDBResultReader,
  DuckDBValue,
} from "@duckdb/node-api";

const INT32_MIN = -2_147_483_648;
const INT32_MAX = 2_147_483_647;

/**
 * Binds `params` ($1, $2, ...) with the type the generic bind would infer (an integer number in
 * int32 range: INTEGER, beyond: BIGINT, else DOUBLE; bigint: HUGEINT; string: VARCHAR); other
 * values (DuckDB value objects) go through the generic bind.
 */
export function bindTyped(prepared: DuckDBPreparedStatement, params: readonly DuckDBValue[]): void {
  for (let index = 0; index < params.length; index++) {
    const position = index + 1;
    const value = params[index];
    if (value === null || value === undefined) prepared.bindNull(position);
    else if (typeof value === "string") prepared.bindVarchar(position, value);
    else if (typeof value === "boolean") prepared.bindBoolean(position, value);
    else if (typeof value === "bigint") prepared.bindHugeInt(position, value);
    else if (typeof value === "number") {
      if (!Number.isInteger(value)) prepared.bindDouble(position, value);
      else if (value >= INT32_MIN && value <= INT32_MAX) prepared.bindInteger(position, value);
      else prepared.bindBigInt(position, BigInt(value));
    } else prepared.bindValue(position, value);
  }
}

async function withPrepared<T>(
  conn: DuckDBConnection,
  sql: string,
  params: readonly DuckDBValue[],
  run: (prepared: DuckDBPreparedStatement) => Promise<T>,
): Promise<T> {
  const prepared = await conn.prepare(sql);
  try {
    bindTyped(prepared, params);
    return await run(prepared);
  } finally {
    prepared.destroySync();
  }
}

/** Runs one statement with `params` bound by type (see the module's description). */
export function runBound(
  conn: DuckDBConnection,
  sql: string,
  params: readonly DuckDBValue[],
): Promise<DuckDBMaterializedResult> {
  return withPrepared(conn, sql, params, (prepared) => prepared.run());
}

/** Runs one statement with `params` bound by type and reads every row. */
export function readAllBound(
  conn: DuckDBConnection,
  sql: string,
  params: readonly DuckDBValue[],
): Promise<DuckDBResultReader> {
  return withPrepared(conn, sql, params, (prepared) => prepared.runAndReadAll());
}

/**
 * Prepared statements kept for a connection's fixed, frequent SQL (the alert and notification paths
 * run a few statements on every batch with alerts): each is prepared once and bound by type on every
 * run. Preparing is a parse and plan per call, and under Deno each native object the bindings hand to
 * JavaScript leaves 32 bytes behind (`napi_create_external`'s wrapper is never freed, see
 * docs/performance.md). A cache is used by one caller at a time (its owner's mutex): a statement is
 * bound and run in one go.
 */
export class StatementCache {
  readonly #conn: DuckDBConnection;
  readonly #statements = new Map<string, DuckDBPreparedStatement>();

  /** A cache over `conn`; {@link StatementCache.destroy} before the connection is released. */
  constructor(conn: DuckDBConnection) {
    this.#conn = conn;
  }

  async #prepared(sql: string, params: readonly DuckDBValue[]): Promise<DuckDBPreparedStatement> {
    let prepared = this.#statements.get(sql);
    if (prepared === undefined) {
      prepared = await this.#conn.prepare(sql);
      this.#statements.set(sql, prepared);
    }
    bindTyped(prepared, params);
    return prepared;
  }

  /** Runs `sql` with `params` bound by type. */
  async run(sql: string, params: readonly DuckDBValue[]): Promise<DuckDBMaterializedResult> {
    return await (await this.#prepared(sql, params)).run();
  }

  /** Runs `sql` with `params` bound by type and reads every row. */
  async readAll(sql: string, params: readonly DuckDBValue[]): Promise<DuckDBResultReader> {
    return await (await this.#prepared(sql, params)).runAndReadAll();
  }

  /** Frees every statement. */
  destroy(): void {
    for (const prepared of this.#statements.values()) prepared.destroySync();
    this.#statements.clear();
  }
}
