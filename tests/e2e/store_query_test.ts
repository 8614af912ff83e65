/**
 * `eventops query` end to end: through the running agent (`POST /query`, bearer token) and, once the
 * agent stopped, on the store files directly; table, CSV and JSON output; refusal of anything that
 * could write or escape the data directory.
 */
import assert from "node:assert/strict";
import { SEED_EVENTS } from "../../cli/seed_events.ts";
import {
  agentDenoArgs,
  agentEnv,
  eventually,
  freePort,
  runEventops,
  startAgent,
  uniqueName,
  writeTestConfig,
} from "../../testing/agent.ts";
import { kcatProduce } from "../../testing/kcat.ts";
import { httpQuery, logLines, removeTestDir, TOKEN, waitForRows } from "./store_helpers.ts";

const TABLE_SQL = "SELECT host, value, ts, tags, NULL AS note FROM metrics_all ORDER BY ts";
const TABLE_OUT = [
  "host    value  ts                        tags            note",
  "------  -----  ------------------------  --------------  ----",
  'host-a     85  2025-10-21T10:00:00.000Z  {"env":"prod"}  NULL',
  'host-a     97  2025-10-21T10:05:00.000Z  {"env":"prod"}  NULL',
  "(2 rows)",
  "",
].join("\n");
const CSV_SQL = `SELECT host, value, 'a,"b' AS quoted, 'two\nlines' AS multi, NULL AS nothing, '' AS empty
  FROM metrics_all ORDER BY ts LIMIT 1`;
const CSV_OUT = 'host,value,quoted,multi,nothing,empty\nhost-a,85,"a,""b","two\nlines",,""\n';
const JSON_SQL = "SELECT severity, state, value, ts FROM alerts ORDER BY seq";
const JSON_OUT = [
  { severity: "warning", state: "firing", value: 85, ts: "2025-10-21T10:00:00.000Z" },
  { severity: "critical", state: "firing", value: 97, ts: "2025-10-21T10:05:00.000Z" },
];

/** Statements that must be refused (`dir`: the absolute data dir), with what the message says. */
function refused(dir: string): [string, RegExp][] {
  return [
    ["INSERT INTO meta VALUES ('x', 'y')", /only SELECT.*\(got INSERT\)/],
    // The statement type is refused before DuckDB prepares it (inside or outside the data dir; outside,
    // DuckDB's sandbox would refuse the path too: tests/store/sandbox_test.ts).
    [`COPY metrics TO '${dir}/out.csv'`, /only SELECT.*\(got COPY\)/],
    ["COPY metrics TO '/tmp/eventops-out.csv'", /only SELECT.*\(got COPY\)/],
    [`ATTACH '${dir}/other.duckdb' AS other`, /only SELECT.*\(got ATTACH\)/],
    ["SELECT * FROM read_csv('/etc/passwd')", /Permission Error.*\/etc\/passwd/],
    ["SELECT 1; DROP TABLE metrics", /exactly one statement, got 2/],
    ["SELEC 1", /Parser Error: syntax error at or near "SELEC"/],
    ["SELECT nope FROM metrics", /Binder Error.*nope/],
  ];
}

async function cli(file: string, args: string[], env: Record<string, string> = {}) {
  return await runEventops(["query", "--config", file, ...args], env);
}

async function checkOutputs(file: string): Promise<void> {
  const table = await cli(file, [TABLE_SQL]);
  assert.equal(table.code, 0, table.stderr);
  assert.equal(table.stdout, TABLE_OUT);
  const csv = await cli(file, ["--format", "csv", CSV_SQL]);
  assert.equal(csv.code, 0, csv.stderr);
  assert.equal(csv.stdout, CSV_OUT);
  const json = await cli(file, ["-f", "json", JSON_SQL]);
  assert.equal(json.code, 0, json.stderr);
  assert.deepEqual(JSON.parse(json.stdout), JSON_OUT);
}

async function checkRefusals(file: string, dir: string): Promise<void> {
  for (const [sql, message] of refused(dir)) {
    const result = await cli(file, [sql]);
    assert.equal(result.code, 1, `${sql} was not refused: ${result.stdout}`);
    assert.equal(result.stdout, "");
    assert.match(result.stderr, /^eventops query: /m);
    assert.match(result.stderr, message, sql);
  }
  const left = (await Array.fromAsync(Deno.readDir(dir))).map((entry) => entry.name).sort();
  assert.deepEqual(left.filter((entry) => entry !== "metrics.duckdb.wal"), [
    "local.credential", // made by the agent at its first start
    "metrics.duckdb",
    "parquet",
    "store.id", // made by the agent at its first start (scale-out: its store's identity)
  ]);
}

Deno.test("eventops query through the running agent and on the files after it stopped", async (t) => {
  const name = uniqueName("store-query");
  // Keep the 2025 seed events hot and undeleted (retention) however long the test takes.
  const port = freePort();
  const { file, topics, dataDir } = await writeTestConfig(name, {
    store: { parquet: { retention: "0s", interval: "1h" } },
    // the access log shows the CLI went through the API
    http: { host: "127.0.0.1", port, token: TOKEN, access_log: "info" },
  });
  const dir = `${new URL("../../", import.meta.url).pathname}${dataDir}`;
  try {
    const agent = await startAgent(file, port);
    try {
      await kcatProduce(topics.raw, [SEED_EVENTS[0], SEED_EVENTS[1]], "host-a");
      await waitForRows(agent.baseUrl, 2, 30_000);
      const alerts = await httpQuery(agent.baseUrl, "SELECT count(*) FROM alerts");
      assert.deepEqual(alerts.rows, [[2]]);

      await t.step("table, csv and json through POST /query", async () => {
        const before = logLines(agent.logs()).filter((line) => line.path === "/query").length;
        await checkOutputs(file);
        const after = logLines(agent.logs()).filter((line) => line.path === "/query" && line.status === 200);
        assert.ok(after.length >= before + 3, "the CLI went through the agent's API");
      });

      await t.step("refused statements exit 1 with DuckDB's reason (through the agent)", async () => {
        await checkRefusals(file, dir);
        const escaped = await cli(file, ["SELECT count(*) FROM metrics"]);
        assert.equal(escaped.code, 0, "the store still answers");
      });

      await t.step("POST /query needs the token; bad input is a 400 with a clear message", async () => {
        const post = (body: string, headers: Record<string, string> = {}) =>
          fetch(`${agent.baseUrl}/query`, { method: "POST", headers, body });
        const auth = { Authorization: `Bearer ${TOKEN}` };
        const missing = await post(JSON.stringify({ sql: "SELECT 1" }));
        assert.equal(missing.status, 401);
        assert.match((await missing.json()).error.message, /need the API token/);
        const wrong = await post(JSON.stringify({ sql: "SELECT 1" }), { Authorization: "Bearer nope" });
        assert.equal(wrong.status, 401);
        assert.match((await wrong.json()).error.message, /token is wrong/);
        const parser = await post(JSON.stringify({ sql: "SELEC 1" }), auth);
        assert.equal(parser.status, 400);
        assert.match((await parser.json()).error.message, /^Parser Error: syntax error at or near "SELEC"/);
        const notJson = await post("SELECT 1", auth);
        assert.equal(notJson.status, 400);
        assert.match((await notJson.json()).error.message, /not valid JSON/);
        const noSql = await post(JSON.stringify({ max_rows: 5 }), auth);
        assert.equal(noSql.status, 400);
        assert.match((await noSql.json()).error.message, /sql is required/);
        const capped = await post(JSON.stringify({ sql: "SELECT * FROM range(50)", max_rows: 7 }), auth);
        assert.equal(capped.status, 200);
        assert.equal(capped.headers.get("x-truncated"), "true");
        const body = await capped.json();
        assert.equal(body.truncated, true);
        assert.equal(body.rows.length, 7);
        assert.deepEqual(body.columns, [{ name: "range", type: "BIGINT" }]);
      });

      await t.step("the CLI with a wrong token (and no local credential) explains the 401", async () => {
        // Another data dir has no local credential: the CLI sends the token, which is wrong.
        const elsewhere = `data/test/${name}/elsewhere`;
        await Deno.mkdir(`${new URL("../../", import.meta.url).pathname}${elsewhere}`, { recursive: true });
        const result = await cli(file, ["--data", elsewhere, "SELECT 1"], { EVENTOPS_HTTP_TOKEN: "wrong" });
        assert.equal(result.code, 1);
        assert.match(result.stderr, /refused the query \(401\).*token is wrong.*local credential/);
      });

      await t.step("more rows than the cap: the first 10,000 and a note on stderr", async () => {
        const result = await cli(file, ["-f", "csv", "SELECT * FROM range(10005)"]);
        assert.equal(result.code, 0, result.stderr);
        assert.equal(result.stdout.trimEnd().split("\n").length, 10_001);
        assert.match(result.stderr, /only the first 10000 rows are shown/);
      });

      await t.step("unknown format and empty SQL exit 1", async () => {
        const format = await cli(file, ["-f", "xml", "SELECT 1"]);
        assert.equal(format.code, 1);
        assert.match(format.stderr, /unknown format "xml"; use one of table, csv, json/);
        const empty = await cli(file, ["  "]);
        assert.equal(empty.code, 1);
        assert.match(empty.stderr, /the SQL is empty/);
      });
    } finally {
      assert.equal(await agent.stop(), 0, agent.logs());
    }

    await t.step("after the agent stopped: the same answers from the files, read-only", async () => {
      await checkOutputs(file);
      await checkRefusals(file, dir);
      const after = await cli(file, ["-f", "json", "SELECT count(*) AS n FROM metrics_all"]);
      assert.deepEqual(JSON.parse(after.stdout), [{ n: 2 }]);
    });

    await t.step("no agent and no store: a clear message", async () => {
      const result = await runEventops([
        "query",
        "--config",
        file,
        "--data",
        `data/test/${name}/none`,
        "SELECT 1",
      ]);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /no agent answers on 127\.0\.0\.1:\d+ and there is no store in/);
    });

    await t.step("an agent without the api stage holds the store: the CLI says so", async () => {
      const headless = new Deno.Command(Deno.execPath(), {
        args: [
          ...await agentDenoArgs(),
          "run",
          "--config",
          file,
          "--stages",
          "normalize,enrich,features,rules,store",
        ],
        cwd: new URL("../../", import.meta.url).pathname,
        env: { NO_COLOR: "1", ...await agentEnv() },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let logs = "";
      const drained = (async () => {
        for await (const text of headless.stderr.pipeThrough(new TextDecoderStream())) logs += text;
      })();
      try {
        await eventually(
          () => Promise.resolve(logs.includes('"agent started"') ? true : undefined),
          60_000,
          "the agent without the api stage to start",
        );
        const result = await cli(file, ["SELECT 1"]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /held by another process, but no agent API answers/);
      } finally {
        headless.kill("SIGTERM");
        await headless.status;
        await drained;
      }
    });
  } finally {
    await removeTestDir(name);
  }
});
