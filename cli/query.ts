/**
 * `eventops query "SQL" [--format table|csv|json]`: read-only SQL against the local store.
 *
 * DuckDB lets one process hold the database file, so while the agent runs the statement goes to it
 * (`POST /query` on `127.0.0.1:<http.port>` with the agent's local credential from the data directory,
 * `lib/local_credential.ts`, or else `http.token`); when nothing listens there (connection refused) the
 * store files are opened read-only directly. Either way the store's `readOnlyQuery` runs
 * it: exactly one SELECT-like statement, read-only transaction, confined to the data directory.
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { describeError } from "../lib/errors.ts";
import { DEFAULT_QUERY_ROWS, type QueryResult, type QueryValue } from "../model/query.ts";
import { openStore, queryBudgetsFrom, StoreReader } from "../store/mod.ts";
import { localCredentialPath, readLocalCredential } from "../lib/local_credential.ts";

/** Output formats of `eventops query`. */
export const QUERY_FORMATS = ["table", "csv", "json"] as const;
/** An output format. */
export type QueryFormat = (typeof QUERY_FORMATS)[number];

/** Options of {@link queryCommand}. */
export interface QueryCommandOptions {
  /** Most rows fetched (default 10,000). */
  maxRows?: number;
  /** Where results go (default stdout). */
  write?: (text: string) => void;
  /** Where messages go (default stderr). */
  warn?: (text: string) => void;
}

/** Where a result came from. */
export type QuerySource = "agent" | "files";

/** A failed query, with the message to print. */
export class QueryCommandError extends Error {
  override name = "QueryCommandError";
}

const encoder = new TextEncoder();

function writeStdout(text: string): void {
  const bytes = encoder.encode(text);
  for (let written = 0; written < bytes.length;) {
    written += Deno.stdout.writeSync(bytes.subarray(written));
  }
}

/** Runs the command; returns the exit code (0 ok, 1 error). */
export async function queryCommand(
  config: Config,
  sql: string,
  format: string,
  options: QueryCommandOptions = {},
): Promise<number> {
  const write = options.write ?? writeStdout;
  const warn = options.warn ?? ((text: string) => console.error(text));
  if (!(QUERY_FORMATS as readonly string[]).includes(format)) {
    warn(`eventops query: unknown format "${format}"; use one of ${QUERY_FORMATS.join(", ")}`);
    return 1;
  }
  if (sql.trim() === "") {
    warn('eventops query: the SQL is empty; e.g. eventops query "SELECT count(*) FROM metrics_all"');
    return 1;
  }
  try {
    const { result } = await runQuery(config, sql, options.maxRows ?? DEFAULT_QUERY_ROWS);
    write(formatResult(result, format as QueryFormat));
    if (result.truncated) {
      const limit = result.truncated_by === "max_result_bytes" ? " (store.query.max_result_bytes)" : "";
      warn(
        `eventops query: only the first ${result.rows.length} rows are shown${limit}; add a LIMIT, a WHERE ` +
          "or an aggregation, or select fewer columns, to see the rest",
      );
    }
    return 0;
  } catch (error) {
    warn(`eventops query: ${error instanceof QueryCommandError ? error.message : describeError(error)}`);
    return 1;
  }
}

/** Runs the SQL through the running agent, or on the store files when no agent listens. */
export async function runQuery(
  config: Config,
  sql: string,
  maxRows: number,
): Promise<{ result: QueryResult; source: QuerySource }> {
  const url = agentQueryUrl(config);
  const credential = readLocalCredential(config.data_dir) ?? config.http.token;
  let response: Response;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${credential}` },
      body: JSON.stringify({ sql, max_rows: maxRows }),
      signal: AbortSignal.timeout(120_000),
    });
  } catch (error) {
    if (!isConnectionRefused(error)) {
      throw new QueryCommandError(`cannot reach the agent at ${url}: ${describeError(error)}`);
    }
    return { result: await queryFiles(config, sql, maxRows), source: "files" };
  }
  return { result: await readReply(response, url, config), source: "agent" };
}

/** The agent's query endpoint on loopback (the CLI runs on the agent's machine). */
export function agentQueryUrl(config: Config): string {
  const host = config.http.host === "::1" || config.http.host === "[::1]" ? "[::1]" : "127.0.0.1";
  return `http://${host}:${config.http.port}/query`;
}

function isConnectionRefused(error: unknown): boolean {
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e instanceof Deno.errors.ConnectionRefused) return true;
    if (/connection refused|ECONNREFUSED|os error 111/i.test(e.message)) return true;
  }
  return false;
}

async function readReply(response: Response, url: string, config: Config): Promise<QueryResult> {
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new QueryCommandError(
      `${url} answered ${response.status} with something that is not JSON (is another program using ` +
        `http.port?): ${text.slice(0, 200)}`,
    );
  }
  if (response.ok) {
    if (isQueryResult(body)) return body;
    throw new QueryCommandError(`${url} answered with an unexpected body: ${text.slice(0, 200)}`);
  }
  const message = errorMessage(body) ?? text.slice(0, 500);
  if (response.status === 401 || response.status === 403) {
    throw new QueryCommandError(
      `the agent refused the query (${response.status}): ${message}. The CLI sends the agent's local ` +
        `credential (${localCredentialPath(config.data_dir)}: run it as the agent's user, with the agent's ` +
        "data directory) or else http.token from the same config (or EVENTOPS_HTTP_TOKEN)",
    );
  }
  if (response.status === 400) throw new QueryCommandError(message);
  throw new QueryCommandError(`the agent answered ${response.status}: ${message}`);
}

function errorMessage(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null || !("error" in body)) return undefined;
  const error = body.error;
  if (typeof error !== "object" || error === null || !("message" in error)) return undefined;
  return typeof error.message === "string" ? error.message : undefined;
}

function isQueryResult(body: unknown): body is QueryResult {
  if (typeof body !== "object" || body === null) return false;
  const record = body as Record<string, unknown>;
  return Array.isArray(record.columns) && Array.isArray(record.rows) && typeof record.truncated === "boolean";
}

/** Opens the store read-only (no agent holds it) and runs the statement. */
export async function queryFiles(config: Config, sql: string, maxRows: number): Promise<QueryResult> {
  const dir = config.data_dir;
  try {
    await Deno.stat(`${dir}/metrics.duckdb`);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      throw new QueryCommandError(
        `no agent answers on 127.0.0.1:${config.http.port} and there is no store in ${dir} ` +
          "(data_dir); start the agent or point --data/--config at the store",
      );
    }
    throw new QueryCommandError(`cannot read the store in ${dir}: ${describeError(error)}`);
  }
  let store;
  try {
    store = await openStore(dir, { memoryLimit: config.store.memory_limit, threads: config.store.threads }, {
      readOnly: true,
    });
  } catch (error) {
    const message = describeError(error);
    if (/lock/i.test(message)) {
      throw new QueryCommandError(
        `the store in ${dir} is held by another process, but no agent API answers on 127.0.0.1:` +
          `${config.http.port}: is the agent running without the api stage or on another port? (${message})`,
      );
    }
    throw new QueryCommandError(`cannot open the store in ${dir}: ${message}`);
  }
  try {
    const reader = new StoreReader(store, { connections: 1 });
    try {
      return await reader.readOnlyQuery(sql, { maxRows, ...queryBudgetsFrom(config.store.query) });
    } catch (error) {
      if (error instanceof Error && error.name === "QueryError") throw new QueryCommandError(error.message);
      throw error;
    } finally {
      reader.close();
    }
  } finally {
    store.close();
  }
}

/** Renders a result as an aligned text table, CSV (RFC 4180 quoting) or JSON (an array of objects). */
export function formatResult(result: QueryResult, format: QueryFormat): string {
  switch (format) {
    case "csv":
      return formatCsv(result);
    case "json":
      return formatJson(result);
    default:
      return formatTable(result);
  }
}

function cellText(value: QueryValue): string {
  if (value === null) return "";
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return JSON.stringify(value);
}

const NUMERIC_TYPE =
  /^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|FLOAT|DOUBLE|DECIMAL)/;

/** Display width of a string (code points; control characters are escaped before). */
function width(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function tableCell(value: QueryValue): string {
  if (value === null) return "NULL";
  return cellText(value).replace(/[\r\n\t]/g, (ch) => (ch === "\n" ? "\\n" : ch === "\r" ? "\\r" : "\\t"));
}

function formatTable(result: QueryResult): string {
  const { columns, rows } = result;
  const header = columns.map((column) => column.name);
  const cells = rows.map((row) => columns.map((_, i) => tableCell(row[i] ?? null)));
  const right = columns.map((column) => NUMERIC_TYPE.test(column.type));
  const widths = header.map((name, i) => Math.max(width(name), ...cells.map((row) => width(row[i]))));
  const pad = (text: string, i: number) => {
    const fill = " ".repeat(widths[i] - width(text));
    return right[i] ? fill + text : text + fill;
  };
  const line = (row: string[]) => row.map(pad).join("  ").trimEnd();
  const out = [line(header), widths.map((w) => "-".repeat(w)).join("  ")];
  for (const row of cells) out.push(line(row));
  out.push(`(${rows.length} ${rows.length === 1 ? "row" : "rows"}${result.truncated ? ", truncated" : ""})`);
  return out.join("\n") + "\n";
}

/** Quotes one CSV field when needed (RFC 4180): commas, quotes, line breaks; quotes are doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) || /^\s|\s$/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function formatCsv(result: QueryResult): string {
  const lines = [result.columns.map((column) => csvField(column.name)).join(",")];
  for (const row of result.rows) {
    lines.push(
      result.columns.map((_, i) => {
        const value = row[i] ?? null;
        // NULL is an empty field; an empty string is "" so the two stay distinguishable.
        if (value === null) return "";
        const text = cellText(value);
        return text === "" ? '""' : csvField(text);
      }).join(","),
    );
  }
  return lines.join("\n") + "\n";
}

function formatJson(result: QueryResult): string {
  const names: string[] = [];
  const used = new Set<string>();
  for (const column of result.columns) {
    let name = column.name;
    for (let n = 2; used.has(name); n++) name = `${column.name}_${n}`;
    used.add(name);
    names.push(name);
  }
  const objects = result.rows.map((row) =>
    Object.fromEntries(names.map((name, i) => [name, row[i] ?? null]))
  );
  return JSON.stringify(objects, null, 2) + "\n";
}
