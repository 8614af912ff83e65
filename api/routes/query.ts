/**
 * `POST /query`: one read-only SQL statement against the store, for `eventops query` while the agent
 * holds the DuckDB file (DuckDB allows one writing process, and no other process may open the file).
 *
 * Body `{"sql": "...", "max_rows": 10000}`; reply `{columns, rows, truncated}`. A read, but it needs a
 * credential (the SQL can read every stored row, including tags and context, and spend the agent's CPU
 * and memory): the API token, or from a loopback client the agent's local credential
 * (`lib/local_credential.ts`) that `eventops query` on the same machine sends. The store runs the
 * statement inside a READ ONLY transaction and accepts exactly one SELECT-like statement; anything
 * else, and SQL DuckDB cannot parse or bind, is a 400 whose message is DuckDB's. A statement over one of
 * the `store.query` budgets is a 422 (413 for a result row too large, 429 while others wait) whose
 * `details` name the budget, the setting and its limit.
 *
 * @module
 */
import type { Context, Hono } from "hono";
import type { ClusterApi } from "../deps.ts";
import {
  type Coverage,
  coverageOf,
  forwardHeaders,
  isForwarded,
  PARTIAL_HEADER,
  type PeerAnswer,
} from "../forward.ts";
import type { RouteContext } from "../context.ts";
import { requireQueryCredential } from "../auth.ts";
import { ApiError, problemsMessage, zodProblems } from "../errors.ts";
import { readBody } from "../body.ts";
import { QueryRequestSchema } from "../schemas.ts";
import type { QueryBudgetExceeded, QueryResult } from "../../model/query.ts";

const USAGE = 'send a JSON object like {"sql": "SELECT count(*) FROM metrics_all"}';

function isQueryError(error: unknown): error is Error & { exceeded?: QueryBudgetExceeded } {
  return error instanceof Error && error.name === "QueryError";
}

/** The answer to a statement over a budget: 413 for a result row too large, 429 when busy, else 422. */
function budgetError(message: string, exceeded: QueryBudgetExceeded): ApiError {
  if (exceeded.budget === "result_bytes") return new ApiError(413, message, exceeded);
  if (exceeded.budget === "concurrency") return new ApiError(429, message, exceeded, { "Retry-After": "1" });
  return new ApiError(422, message, exceeded);
}

/**
 * `agents: all`: the statement on every other agent too (`agents: self` there), each result with an
 * `agent` column first, concatenated after this agent's. An agent that fails (unreachable, a refused
 * credential: the local credential is this machine's only, other columns) is named in `unreachable`.
 */
async function everyAgent(
  c: Context,
  cluster: ClusterApi,
  request: { sql: string; max_rows: number },
  mine: QueryResult,
): Promise<QueryResult & Coverage> {
  const body = JSON.stringify({ sql: request.sql, max_rows: request.max_rows, agents: "self" });
  const sameColumns = (columns: QueryResult["columns"]) =>
    JSON.stringify(columns) === JSON.stringify(mine.columns);
  const answers = await Promise.all(
    cluster.peers().map(async (url): Promise<PeerAnswer<QueryResult>> => {
      try {
        const headers = forwardHeaders(c);
        headers.set("Content-Type", "application/json");
        const response = await fetch(`${url}/query`, {
          method: "POST",
          headers,
          body,
          signal: AbortSignal.timeout(cluster.forwardTimeoutMs),
        });
        if (!response.ok) {
          return {
            url,
            ok: false,
            error: `HTTP ${response.status}: ${(await response.text()).slice(0, 300)}`,
          };
        }
        const result = await response.json() as QueryResult;
        if (!sameColumns(result.columns)) {
          return { url, ok: false, error: `other columns: ${JSON.stringify(result.columns)}` };
        }
        return { url, ok: true, body: result };
      } catch (error) {
        return { url, ok: false, error: error instanceof Error ? error.message : String(error) };
      }
    }),
  );
  const results: [string, QueryResult][] = [[cluster.selfUrl, mine]];
  for (const answer of answers) if (answer.ok) results.push([answer.url, answer.body]);
  return {
    columns: [{ name: "agent", type: "VARCHAR" }, ...mine.columns],
    rows: results.flatMap(([agent, result]) => result.rows.map((row) => [agent, ...row])),
    truncated: results.some(([, result]) => result.truncated),
    ...coverageOf(cluster.selfUrl, answers, cluster.restoring?.()),
  };
}

/** Registers the query route. */
export function registerQueryRoutes(app: Hono, ctx: RouteContext): void {
  const max = ctx.http.max_body_bytes;
  app.post(
    "/query",
    requireQueryCredential(ctx.auth),
    async (c) => {
      const query = ctx.deps.query;
      if (query === undefined) {
        throw new ApiError(503, "SQL queries are not available: this agent does not run the store");
      }
      const bytes = await readBody(c, {
        maxBytes: max,
        timeoutMs: ctx.http.body_timeout,
        tooLarge: `body is larger than ${max} bytes (http.max_body_bytes)`,
      });
      let body: unknown;
      try {
        body = JSON.parse(new TextDecoder().decode(bytes));
      } catch (error) {
        throw new ApiError(
          400,
          `body is not valid JSON (${error instanceof Error ? error.message : String(error)}); ${USAGE}`,
        );
      }
      const parsed = QueryRequestSchema.safeParse(body);
      if (!parsed.success) {
        const problems = zodProblems(parsed.error.issues);
        throw new ApiError(400, `${problemsMessage("query", problems)}; ${USAGE}`, problems);
      }
      const started = performance.now();
      try {
        const result = await query(parsed.data.sql, parsed.data.max_rows);
        ctx.log({
          level: ctx.http.access_log === "info" ? "info" : "debug",
          msg: "query",
          rows: result.rows.length,
          truncated: result.truncated,
          ms: Math.round(performance.now() - started),
        });
        const headers: Record<string, string> = { "Cache-Control": "no-store" };
        const cluster = ctx.deps.cluster;
        const peers = cluster === undefined || isForwarded(c) ? [] : cluster.peers();
        if (peers.length > 0 && parsed.data.agents === "all") {
          const all = await everyAgent(c, cluster!, parsed.data, result);
          if (all.truncated) headers["X-Truncated"] = "true";
          if (all.partial) headers[PARTIAL_HEADER] = "true";
          return c.json(all, 200, headers);
        }
        if (result.truncated) headers["X-Truncated"] = "true";
        if (peers.length > 0) {
          return c.json({ ...result, scope: { agent: cluster!.selfUrl, other_agents: peers } }, 200, headers);
        }
        return c.json(result, 200, headers);
      } catch (error) {
        if (isQueryError(error)) {
          ctx.log({
            level: ctx.http.access_log === "info" ? "info" : "debug",
            msg: "query refused",
            budget: error.exceeded?.budget,
            ms: Math.round(performance.now() - started),
          });
          throw error.exceeded === undefined
            ? new ApiError(400, error.message)
            : budgetError(error.message, error.exceeded);
        }
        throw error;
      }
    },
  );
}
