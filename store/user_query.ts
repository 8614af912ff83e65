/**
 * One read-only SQL statement from a user (`POST /query`, `eventops query`), run under budgets.
 *
 * DuckDB's `memory_limit` does not bound every allocation (see `store/query_guard.ts`), and one
 * statement can return more than the agent's V8 heap holds, so each statement goes through:
 *
 * 1. DuckDB's parser only: exactly one statement; its parse tree (`json_serialize_sql`, the SQL a
 *    bound parameter) must be a SELECT-like statement (or EXPLAIN of one) whose generating calls
 *    stay within `max_value_bytes` ({@link guardQuery}), checked *before* it is prepared (preparing
 *    folds constants, unbounded and uninterruptible);
 * 2. a READ ONLY transaction, `metrics_all` available;
 * 3. a timeout and a memory watchdog: the statement is interrupted when it runs longer than
 *    `timeout` or the agent's resident memory grows by more than `max_memory` meanwhile;
 * 4. the result streamed chunk by chunk, each row's size read from DuckDB's vectors
 *    ({@link rowSizes}) before it is converted: rows stop at `max_rows` or `max_result_bytes`
 *    (`truncated`), and a single row over `max_result_bytes` is refused.
 *
 * A refusal is a {@link QueryError} that says which budget, which setting and what to change.
 *
 * @module
 */
import { readAllBound } from "./bound.ts";
import { type DuckDBConnection, type DuckDBType, type Json, StatementType } from "@duckdb/node-api";
import type { QueryBudgetExceeded, QueryResult, QueryValue } from "../model/query.ts";
import { formatBytes, parseSize } from "../lib/size.ts";
import { JsonSafeConverter } from "./convert.ts";
import type { Store } from "./open.ts";
import { guardQuery } from "./query_guard.ts";
import { rowSizes } from "./result_size.ts";
import { createMetricsView } from "./view.ts";

/** The budgets of one statement (`store.query` in the configuration). */
export interface QueryBudgets {
  /** Interrupted after this long (ms). */
  timeoutMs: number;
  /** Interrupted when the process's resident memory grows by more than this (bytes). */
  maxMemoryBytes: number;
  /** Most bytes of result values returned. */
  maxResultBytes: number;
  /** Largest value a generating function may build from literals (see {@link guardQuery}). */
  maxValueBytes: number;
}

/** The configuration's defaults. */
export const DEFAULT_QUERY_BUDGETS: Readonly<QueryBudgets> = {
  timeoutMs: 30_000,
  maxMemoryBytes: 128 * 1024 ** 2,
  maxResultBytes: 16 * 1024 ** 2,
  maxValueBytes: 1024 ** 2,
};

/** The budgets from the `store.query` settings (durations in ms, sizes in bytes, as parsed). */
export function queryBudgetsFrom(settings: {
  timeout: number;
  max_memory: number;
  max_result_bytes: number;
  max_value_bytes: number;
}): QueryBudgets {
  return {
    timeoutMs: settings.timeout,
    maxMemoryBytes: settings.max_memory,
    maxResultBytes: settings.max_result_bytes,
    maxValueBytes: settings.max_value_bytes,
  };
}

/** Raised for SQL that is refused or fails; the message is user-facing. */
export class QueryError extends Error {
  override name = "QueryError";

  /** A refusal; `exceeded` names the budget the statement went over, when that is why. */
  constructor(message: string, readonly exceeded?: QueryBudgetExceeded) {
    super(message);
  }
}

/** Statement types run (DESCRIBE, SHOW and SUMMARIZE are SELECTs to DuckDB). */
const READ_ONLY_TYPES = new Set<StatementType>([StatementType.SELECT, StatementType.EXPLAIN]);
const ALLOWED = "only SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE and EXPLAIN statements are allowed";
/** How often the memory watchdog samples the resident set. */
const WATCH_INTERVAL_MS = 20;
const LEADING_NOISE = /^(?:\s+|--[^\n]*(?:\n|$)|\/\*[\s\S]*?\*\/|\()*/;
const EXPLAIN = /^EXPLAIN\s*(?:\([^)]*\)\s*)?(?:ANALY[SZ]E\b\s*)?/i;

function cleanMessage(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.replace(/^Error: /, "").replace(/^Failed to extract statements: /, "");
}

/** The first keyword of a statement (after comments and parentheses), upper-cased. */
export function leadingKeyword(sql: string): string {
  const text = sql.replace(LEADING_NOISE, "");
  return /^[A-Za-z_]+/.exec(text)?.[0].toUpperCase() ?? "an unknown statement";
}

/** Parses `sql` with DuckDB's parser into its JSON parse tree (no binding, no planning). */
async function parseTree(conn: DuckDBConnection, sql: string): Promise<Record<string, unknown>> {
  const reader = await readAllBound(
    conn,
    "SELECT json_serialize_sql($1::VARCHAR, skip_null := true, skip_empty := true)",
    [sql],
  );
  return JSON.parse(String(reader.getRows()[0][0]));
}

/** Refuses statements that are not SELECT-like or would build values over the budget. */
async function checkStatement(conn: DuckDBConnection, sql: string, budgets: QueryBudgets): Promise<void> {
  let text = sql.replace(LEADING_NOISE, "");
  let tree = await parseTree(conn, text);
  const explain = EXPLAIN.exec(text);
  if (tree.error === true && explain !== null) {
    text = text.slice(explain[0].length);
    tree = await parseTree(conn, text);
  }
  if (tree.error === true) {
    if (tree.error_type === "not implemented") {
      throw new QueryError(`${ALLOWED} (got ${leadingKeyword(text)})`);
    }
    throw new QueryError(`${String(tree.error_type ?? "Parser")} Error: ${String(tree.error_message ?? "")}`);
  }
  const refusal = guardQuery(tree, {
    maxValueBytes: budgets.maxValueBytes,
    positionOffset: sql.length - text.length,
  });
  if (refusal !== undefined) {
    throw new QueryError(refusal.message, {
      budget: "value_bytes",
      setting: "store.query.max_value_bytes",
      limit: budgets.maxValueBytes,
      function: refusal.function,
      position: refusal.position,
    });
  }
}

/** The timeout and the memory watchdog of one statement; interrupts it and remembers why. */
class Watch {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sampler: ReturnType<typeof setInterval> | undefined;
  #base = 0;
  /** Largest growth of the resident set seen while the statement ran (bytes). */
  growth = 0;
  /** What interrupted the statement. */
  fired: "timeout" | "memory" | undefined;

  constructor(readonly conn: DuckDBConnection, readonly budgets: QueryBudgets) {}

  start(): void {
    this.#base = Deno.memoryUsage().rss;
    this.#timer = setTimeout(() => this.#interrupt("timeout"), this.budgets.timeoutMs);
    this.#sampler = setInterval(() => this.sample(), WATCH_INTERVAL_MS);
  }

  /** Samples the resident set; interrupts when it grew over the budget. */
  sample(): void {
    if (this.#sampler === undefined) return;
    this.growth = Math.max(this.growth, Deno.memoryUsage().rss - this.#base);
    if (this.growth > this.budgets.maxMemoryBytes) this.#interrupt("memory");
  }

  #interrupt(reason: "timeout" | "memory"): void {
    if (this.fired !== undefined) return;
    this.fired = reason;
    this.conn.interrupt();
  }

  stop(): void {
    clearTimeout(this.#timer);
    clearInterval(this.#sampler);
    this.#sampler = undefined;
  }

  /** The error to report for a DuckDB failure: a budget when one interrupted it. */
  explain(error: unknown, store: Store): QueryError {
    if (error instanceof QueryError) return error;
    const message = cleanMessage(error);
    if (this.fired === "timeout") {
      return new QueryError(
        `the query ran longer than ${this.budgets.timeoutMs / 1000} s (store.query.timeout) and was ` +
          "interrupted; narrow it with a WHERE on ts, tenant or host, aggregate, or add a LIMIT",
        { budget: "timeout", setting: "store.query.timeout", limit: this.budgets.timeoutMs },
      );
    }
    if (this.fired === "memory") {
      return new QueryError(
        `the query was interrupted: the agent's memory grew by ${formatBytes(this.growth)} while it ran, ` +
          `over store.query.max_memory (${formatBytes(this.budgets.maxMemoryBytes)}); select fewer or ` +
          "shorter values, aggregate, or add a LIMIT",
        { budget: "memory", setting: "store.query.max_memory", limit: this.budgets.maxMemoryBytes },
      );
    }
    if (/^Out of Memory Error/.test(message)) {
      return new QueryError(
        `the query needs more memory than DuckDB may use (store.memory_limit = ${store.memoryLimit}): ` +
          `${message.split("\n")[0]}; aggregate, filter on ts, tenant or host, or add a LIMIT`,
        { budget: "memory", setting: "store.memory_limit", limit: parseSize(store.memoryLimit) ?? 0 },
      );
    }
    return new QueryError(message);
  }
}

/** Rows of the result, within the row cap and the byte budget. */
async function collectRows(
  result: Awaited<ReturnType<Awaited<ReturnType<DuckDBConnection["prepare"]>>["stream"]>>,
  types: readonly DuckDBType[],
  maxRows: number,
  budgets: QueryBudgets,
  watch: Watch,
): Promise<Pick<QueryResult, "rows" | "truncated" | "truncated_by">> {
  const rows: QueryValue[][] = [];
  let bytes = 0;
  let truncatedBy: QueryResult["truncated_by"];
  while (truncatedBy === undefined) {
    const chunk = await result.fetchChunk();
    if (chunk === null || chunk.rowCount === 0) break;
    watch.sample();
    const sizes = rowSizes(chunk, types, (column, out) => {
      // A type without a known layout: measured by converting that column.
      chunk.convertColumnValues(column, JsonSafeConverter).forEach((value, row) => {
        out[row] += (JSON.stringify(value)?.length ?? 4) + 1;
      });
    });
    let fits = 0;
    for (let row = 0; row < chunk.rowCount; row++) {
      if (rows.length + fits >= maxRows) {
        truncatedBy = "max_rows";
        break;
      }
      if (bytes + sizes[row] > budgets.maxResultBytes) {
        if (rows.length + fits === 0) {
          throw new QueryError(
            `one row of the result is about ${formatBytes(sizes[row])}, over store.query.max_result_bytes ` +
              `(${
                formatBytes(budgets.maxResultBytes)
              }); select fewer or shorter columns (e.g. left(x, 1000))`,
            {
              budget: "result_bytes",
              setting: "store.query.max_result_bytes",
              limit: budgets.maxResultBytes,
            },
          );
        }
        truncatedBy = "max_result_bytes";
        break;
      }
      bytes += sizes[row];
      fits++;
    }
    if (fits === chunk.rowCount) rows.push(...(chunk.convertRows(JsonSafeConverter) as Json[][]));
    else {for (let row = 0; row < fits; row++) {
        rows.push(chunk.convertRowValues(row, JsonSafeConverter) as Json[]);
      }}
    // Frees the chunk's strings now: the JS wrapper would hold them until a GC finalizes it.
    chunk.reset();
  }
  return truncatedBy === undefined
    ? { rows, truncated: false }
    : { rows, truncated: true, truncated_by: truncatedBy };
}

/**
 * Runs one user statement on a fresh connection of `store` (see the module doc). Throws a
 * {@link QueryError} for anything refused or failing.
 */
export async function runUserQuery(
  store: Store,
  sql: string,
  maxRows: number,
  budgets: QueryBudgets,
): Promise<QueryResult> {
  const conn = await store.connect();
  const watch = new Watch(conn, budgets);
  try {
    return await store.access.read(async () => {
      await createMetricsView(store, conn);
      let extracted;
      try {
        extracted = await conn.extractStatements(sql);
      } catch (error) {
        throw new QueryError(cleanMessage(error));
      }
      if (extracted.count !== 1) {
        throw new QueryError(`expected exactly one statement, got ${extracted.count}`);
      }
      await checkStatement(conn, sql, budgets);
      watch.start();
      await conn.run("BEGIN TRANSACTION READ ONLY");
      try {
        const prepared = await extracted.prepare(0);
        if (!READ_ONLY_TYPES.has(prepared.statementType)) {
          throw new QueryError(
            `${ALLOWED} (got ${StatementType[prepared.statementType] ?? prepared.statementType})`,
          );
        }
        if (prepared.parameterCount > 0) throw new QueryError("query parameters are not supported");
        const result = await prepared.stream();
        const types = Array.from({ length: result.columnCount }, (_, i) => result.columnType(i));
        const columns = result.columnNames().map((name, i) => ({ name, type: types[i].toString() }));
        return { columns, ...await collectRows(result, types, maxRows, budgets, watch) };
      } catch (error) {
        throw watch.explain(error, store);
      } finally {
        await conn.run("ROLLBACK").catch(() => undefined);
      }
    });
  } finally {
    watch.stop();
    store.release(conn);
  }
}
