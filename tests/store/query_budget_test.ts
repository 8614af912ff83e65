/**
 * The budgets of user SQL (`readOnlyQuery`): statements that build huge values are refused before
 * DuckDB prepares them (DuckDB's parser, a real DuckDB file), runaway statements are interrupted,
 * results stop at a byte budget measured on DuckDB's vectors before conversion, one statement runs
 * at a time. Every refusal names its budget and setting.
 */
import { deepStrictEqual, equal, match, ok, rejects } from "node:assert/strict";
import type { QueryBudgetExceeded } from "../../model/query.ts";
import { QueryError, StoreReader } from "../../store/query.ts";
import { StoreWriter } from "../../store/writer.ts";
import { makeEvents, open, tempDataDir } from "./helpers.ts";

async function fixture(name: string) {
  const { dir, cleanup } = await tempDataDir(name);
  const store = await open(dir);
  const writer = await StoreWriter.open(store);
  await writer.writeBatch(makeEvents(3_000, { metrics: ["cpu_load"] }), []);
  const reader = await StoreReader.open(store);
  return {
    store,
    reader,
    async close() {
      await writer.close();
      reader.close();
      store.close();
      await cleanup();
    },
  };
}

/** The refusal of `promise`: a QueryError with a budget. */
async function refusal(promise: Promise<unknown>): Promise<QueryError & { exceeded: QueryBudgetExceeded }> {
  try {
    await promise;
  } catch (error) {
    ok(error instanceof QueryError, `expected a QueryError, got ${error}`);
    ok(error.exceeded !== undefined, `expected a budget, got: ${error.message}`);
    return error as QueryError & { exceeded: QueryBudgetExceeded };
  }
  throw new Error("the statement was not refused");
}

/** Peak resident set of this process (VmHWM), bytes (Deno refuses /proc/self to a sandboxed test). */
async function peakRss(): Promise<number> {
  const output = await new Deno.Command("cat", { args: [`/proc/${Deno.pid}/status`] }).output();
  const kb = /VmHWM:\s+(\d+) kB/.exec(new TextDecoder().decode(output.stdout))?.[1];
  ok(kb !== undefined, "VmHWM is readable");
  return Number(kb) * 1024;
}

/** Statements measured to allocate outside DuckDB's memory_limit, with the function refused. */
const BLOW_UPS: [string, string][] = [
  ["SELECT repeat('x', 1000000000)", "repeat"],
  ["SELECT repeat('x', 2**30)", "repeat"],
  ["SELECT repeat('x', (1000000000 + random() * 0)::INTEGER)", "repeat"],
  ["SELECT length(repeat([1], 20000000))", "repeat"],
  ["SELECT length(lpad('x', 300000000, 'y'))", "lpad"],
  ["SELECT length(rpad('x', 300000000, 'y'))", "rpad"],
  ["SELECT length(range(300000000))", "range"],
  ["SELECT length(generate_series(300000000))", "generate_series"],
  ["SELECT * FROM unnest(range(1000000000))", "range"],
  ["SELECT length(list_resize([1], 20000000))", "list_resize"],
  ["SELECT length(printf('%300000000d', 1))", "printf"],
  ["SELECT length(format('{:>300000000}', 1))", "format"],
  ["SELECT length(replace(repeat('x', 20000), 'x', repeat('y', 20000)))", "replace"],
  ["SELECT length(regexp_replace(repeat('x', 20000), '', repeat('y', 20000), 'g'))", "regexp_replace"],
  ["SELECT length(list_transform(range(20000), x -> repeat('y', 20000)))", "list_transform"],
  ["SELECT list_reduce(['a', 'b', 'c'], (acc, x) -> acc || acc)", "list_reduce"],
  ["SELECT replace(string_agg(host, ','), ',', ';;') FROM metrics_all", "replace"],
  ["SELECT repeat(tags::VARCHAR, 1000) FROM metrics_all", "repeat"],
  [
    "WITH a AS (SELECT repeat('x', 30000) AS s), b AS (SELECT repeat(s, 30) AS s FROM a) SELECT length(s) FROM b",
    "repeat",
  ],
  ["SELECT (SELECT repeat('x', 1000000000))", "repeat"],
  ["DESCRIBE SELECT repeat('x', 1000000000)", "repeat"],
  ["SUMMARIZE SELECT repeat('x', 1000000000)", "repeat"],
  ["EXPLAIN SELECT repeat('x', 1000000000)", "repeat"],
  ["EXPLAIN ANALYZE SELECT repeat('x', 1000000000)", "repeat"],
  // A value projected over rows is copied into each of a chunk's 2,048 rows (2 GB here).
  ["SELECT repeat('x', 1000000) FROM range(3000)", "repeat"],
];

/** Statements whose select list copies generated or unbounded values into many rows (measured 2-16 GB). */
const REPLICATIONS: string[] = [
  "SELECT repeat('x', 30000) AS a, repeat('y', 30000) AS b FROM range(3000)",
  "WITH c AS (SELECT repeat('x', 100000) AS s) SELECT s, s, s FROM c, range(3000)",
  "SELECT (SELECT repeat('x', 1000000)) FROM range(3000)",
  "SELECT l FROM (SELECT list(range) AS l FROM range(3000000)) a, range(2000)",
  "SELECT s FROM (SELECT string_agg(range::VARCHAR, ',') AS s FROM range(1000000)) a, range(2000)",
  "SELECT list(range) OVER () FROM range(200000)",
  "SELECT l, unnest(l) FROM (SELECT list(range) AS l FROM range(100000)) a",
];

/** Ordinary console statements, including the same functions with sensible arguments: all run. */
const ALLOWED: string[] = [
  "SELECT repeat('-', 40) AS line",
  "SELECT lpad(host, 20, ' '), rpad(tenant, 10, '.') FROM metrics_all LIMIT 5",
  "SELECT printf('%s: %5.2f', host, value), format('{}={}', tenant, value) FROM metrics_all LIMIT 5",
  "SELECT range(10), generate_series(1, 5), list_resize([1, 2], 5, 0)",
  "SELECT replace(host, '-', '_'), regexp_replace(host, '[0-9]+', 'N', 'g') FROM metrics_all LIMIT 5",
  "SELECT list_transform([1, 2, 3], x -> x * 2), list_reduce([1, 2, 3], (a, x) -> a + x)",
  "SELECT tenant, host, avg(value), count(*) FROM metrics_all GROUP BY ALL ORDER BY ALL",
  "SELECT string_agg(DISTINCT host, ',') FROM metrics_all",
  "SELECT * FROM generate_series(TIMESTAMP '2025-01-01', TIMESTAMP '2025-01-02', INTERVAL 1 HOUR)",
  "SELECT count(*) FROM range(100000) a, range(1000) b",
  "WITH last AS (SELECT host, max(ts) AS ts FROM metrics_all GROUP BY host) SELECT * FROM last ORDER BY host",
  "SELECT repeat('x', 1000000) AS big",
  "SELECT s FROM (SELECT string_agg(host, ',') AS s FROM metrics_all) a",
  "SELECT host, list(value) FROM metrics_all GROUP BY host",
  "SELECT host, avg(value) OVER (PARTITION BY host ORDER BY ts ROWS 5 PRECEDING) FROM metrics_all",
  `SELECT a.host, a.n, b.m FROM (SELECT host, count(*) AS n FROM metrics_all GROUP BY host) a
     JOIN (SELECT host, max(value) AS m FROM metrics_all GROUP BY host) b USING (host)`,
];

Deno.test("query budgets: statements that would build huge values are refused before they run", async (t) => {
  const f = await fixture("qb-guard");
  try {
    const before = await peakRss();
    for (const [sql, fn] of BLOW_UPS) {
      await t.step(sql, async () => {
        const error = await refusal(f.reader.readOnlyQuery(sql));
        equal(error.exceeded.budget, "value_bytes");
        equal(error.exceeded.setting, "store.query.max_value_bytes");
        equal(error.exceeded.limit, 1024 ** 2);
        equal(error.exceeded.function, fn);
        const at = error.exceeded.position;
        ok(
          at !== undefined && sql.slice(at - 1).toLowerCase().startsWith(fn),
          `position ${at} points at ${fn}`,
        );
        match(error.message, new RegExp(`^${fn}\\(\\) at character ${at}`));
      });
    }
    for (const sql of REPLICATIONS) {
      await t.step(sql, async () => {
        const error = await refusal(f.reader.readOnlyQuery(sql));
        equal(error.exceeded.budget, "value_bytes");
        match(
          error.message,
          /^the select list at character \d+ (generates up to .* per row|copies a value of unbounded size)/,
        );
      });
    }
    // Before: `SELECT repeat('x', 1000000000)` alone took the process from ~100 MB to 4 GB.
    const grown = await peakRss() - before;
    ok(grown < 64 * 1024 ** 2, `the peak resident set grew by ${grown} bytes`);
    for (const sql of ALLOWED) {
      await t.step(`allowed: ${sql}`, async () => {
        const result = await f.reader.readOnlyQuery(sql);
        ok(result.rows.length > 0, sql);
      });
    }
    const lower = await refusal(f.reader.readOnlyQuery("SELECT repeat('x', 5000)", { maxValueBytes: 4096 }));
    equal(lower.exceeded.limit, 4096, "the budget is a setting");
  } finally {
    await f.close();
  }
});

Deno.test("query budgets: a statement refused for its type names it, without being prepared", async () => {
  const f = await fixture("qb-types");
  try {
    await rejects(
      () => f.reader.readOnlyQuery("/* c */ INSERT INTO meta SELECT 'k', repeat('x', 1000000000)"),
      /only SELECT, WITH, DESCRIBE, SHOW, SUMMARIZE and EXPLAIN statements are allowed \(got INSERT\)/,
    );
    await rejects(
      () => f.reader.readOnlyQuery("EXPLAIN ANALYZE DELETE FROM metric_rows"),
      /only SELECT.*\(got DELETE\)/,
    );
    equal(Number((await f.reader.readOnlyQuery("SELECT count(*) FROM metric_rows")).rows[0][0]), 3_000);
  } finally {
    await f.close();
  }
});

Deno.test("query budgets: results stop at max_result_bytes, measured before conversion", async () => {
  const f = await fixture("qb-result");
  try {
    const limit = 64 * 1024;
    const all = await f.reader.readOnlyQuery("SELECT * FROM metrics_all ORDER BY ts", {
      maxResultBytes: limit,
    });
    equal(all.truncated, true);
    equal(all.truncated_by, "max_result_bytes");
    const json = new TextEncoder().encode(JSON.stringify(all.rows)).length;
    ok(json <= limit * 1.25 && json >= limit / 2, `${all.rows.length} rows are ${json} bytes of JSON`);
    const capped = await f.reader.readOnlyQuery("SELECT * FROM metrics_all", { maxRows: 10 });
    deepStrictEqual([capped.rows.length, capped.truncated, capped.truncated_by], [10, true, "max_rows"]);
    const whole = await f.reader.readOnlyQuery("SELECT host, count(*) FROM metrics_all GROUP BY host");
    deepStrictEqual([whole.truncated, whole.truncated_by], [false, undefined]);
    // One value too large for the budget: refused (413), not converted into a JS string.
    const big = await refusal(
      f.reader.readOnlyQuery("SELECT string_agg(range::VARCHAR, ',') FROM range(3000000)"),
    );
    deepStrictEqual(
      [big.exceeded.budget, big.exceeded.setting, big.exceeded.limit],
      ["result_bytes", "store.query.max_result_bytes", 16 * 1024 ** 2],
    );
    match(big.message, /one row of the result is about 2\d\.\d MiB, over store\.query\.max_result_bytes/);
    // Sizes of nested and string values track their JSON.
    const nested = await f.reader.readOnlyQuery(
      `SELECT [range, range + 1] AS l, {'a': range::VARCHAR, 'b': [tags]} AS s, map([host], [value]) AS m,
         'é' || left('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', range % 50) AS t, NULL AS n, range % 2 = 0 AS b, ts, '\\x00'::BLOB AS bl
       FROM metrics_all, range(3) ORDER BY ALL`,
      { maxResultBytes: 32 * 1024 },
    );
    equal(nested.truncated_by, "max_result_bytes");
    const nestedJson = new TextEncoder().encode(JSON.stringify(nested.rows)).length;
    ok(nestedJson <= 32 * 1024 * 1.25 && nestedJson >= 32 * 1024 / 3, `nested: ${nestedJson} bytes`);
  } finally {
    await f.close();
  }
});

Deno.test("query budgets: runaway statements are interrupted with the budget named", async () => {
  const f = await fixture("qb-runaway");
  try {
    const slow = await refusal(
      f.reader.readOnlyQuery("SELECT count(*) FROM range(100000) a, range(100000) b, range(100) c", {
        timeoutMs: 300,
      }),
    );
    deepStrictEqual([slow.exceeded.budget, slow.exceeded.setting, slow.exceeded.limit], [
      "timeout",
      "store.query.timeout",
      300,
    ]);
    match(slow.message, /ran longer than 0\.3 s \(store\.query\.timeout\) and was interrupted/);
    const sorted = await refusal(
      f.reader.readOnlyQuery(
        "SELECT max(x) FROM (SELECT range AS x FROM range(100000000) ORDER BY random())",
        {
          maxMemoryBytes: 16 * 1024 ** 2,
        },
      ),
    );
    deepStrictEqual([sorted.exceeded.budget, sorted.exceeded.setting], ["memory", "store.query.max_memory"]);
    match(sorted.message, /the agent's memory grew by .* over store\.query\.max_memory \(16 MiB\)/);
    const collected = await refusal(
      f.reader.readOnlyQuery("SELECT length(string_agg('x', '')) FROM range(300000000)"),
    );
    deepStrictEqual([collected.exceeded.budget, collected.exceeded.setting], [
      "memory",
      "store.memory_limit",
    ]);
    equal(collected.exceeded.limit, 256e6);
    match(collected.message, /more memory than DuckDB may use \(store\.memory_limit = 256MB\)/);
    // The store still answers.
    equal(Number((await f.reader.readOnlyQuery("SELECT count(*) FROM metrics_all")).rows[0][0]), 3_000);
  } finally {
    await f.close();
  }
});

Deno.test("query budgets: one statement runs at a time, a few wait, more are refused", async () => {
  const f = await fixture("qb-busy");
  try {
    const slow = "SELECT count(*) FROM range(100000) a, range(100000) b, range(100) c";
    const outcomes = await Promise.allSettled(
      Array.from({ length: 7 }, () => f.reader.readOnlyQuery(slow, { timeoutMs: 200 })),
    );
    const budgets = outcomes.map((o) =>
      o.status === "rejected" && o.reason instanceof QueryError ? o.reason.exceeded?.budget : "other"
    );
    deepStrictEqual(budgets.filter((b) => b === "timeout").length, 5, budgets.join());
    deepStrictEqual(budgets.filter((b) => b === "concurrency").length, 2, budgets.join());
    const busy = outcomes.find((o) =>
      o.status === "rejected" && o.reason instanceof QueryError && o.reason.exceeded?.budget === "concurrency"
    ) as PromiseRejectedResult;
    match(busy.reason.message, /another query is running and 4 are waiting/);
  } finally {
    await f.close();
  }
});
