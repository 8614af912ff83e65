/**
 * Cold storage through the running agent: old events move to hive-partitioned Parquet, stay
 * queryable (one view over hot rows and files), small parts are compacted, and retention deletes them.
 */
import assert from "node:assert/strict";
import { eventually, runEventops, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import {
  cliQuery,
  httpNumber,
  httpQuery,
  logLines,
  ndjsonMessages,
  produceMessages,
  removeTestDir,
  waitForRows,
} from "./store_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DAY1 = "tenant=acme/metric=cpu_load/date=2025-10-21";
const DAY2 = "tenant=acme/metric=cpu_load/date=2025-10-22";
const BULK = 100_000;

async function partFiles(dir: string): Promise<string[]> {
  try {
    return (await Array.fromAsync(Deno.readDir(dir)))
      .filter((entry) => entry.isFile && entry.name.endsWith(".parquet"))
      .map((entry) => entry.name)
      .sort();
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}

type Points = { count: number; points: { ts: string; host: string }[] };

async function points(baseUrl: string, query = ""): Promise<Points> {
  const response = await fetch(`${baseUrl}/metrics/cpu_load?limit=100000${query}`);
  assert.equal(response.status, 200);
  return await response.json();
}

function parquetConfig(retention: string): Record<string, unknown> {
  return {
    store: { parquet: { export_after: "1m", interval: "1s", compact_min_parts: 2, retention } },
  };
}

Deno.test("parquet through the agent: export, one view over hot + cold, compaction, retention", async (t) => {
  const name = uniqueName("store-parquet");
  let { file, port, topics, dataDir } = await writeTestConfig(name, parquetConfig("0s"));
  const parquetDir = `${ROOT}${dataDir}/parquet`;
  const day1 = `${parquetDir}/${DAY1}`;
  try {
    const init = await runEventops(["init", "--config", file]);
    assert.equal(init.code, 0, init.stderr);
    let agent = await startAgent(file, port);
    try {
      await t.step("old events are exported to part-0001.parquet; recent ones stay hot", async () => {
        // One message of 500 events on 2025-10-21 (one batch, one export), and 100 recent events.
        const old = ndjsonMessages({
          events: 500,
          perMessage: 500,
          hosts: 1,
          startMs: Date.UTC(2025, 9, 21, 10),
          stepMs: 1_000,
        });
        const live = ndjsonMessages({
          events: 100,
          perMessage: 100,
          hosts: 1,
          hostPrefix: "live",
          startMs: Date.now() - 5_000,
          stepMs: 10,
        });
        await produceMessages(topics.raw, [...old.messages, ...live.messages]);
        await eventually(
          async () => ((await exists(`${day1}/part-0001.parquet`)) ? true : undefined),
          30_000,
          `${day1}/part-0001.parquet`,
        );
        await waitForRows(agent.baseUrl, 600, 30_000);
        assert.deepEqual(await partFiles(day1), ["part-0001.parquet"]);
        const tiers = await httpQuery(
          agent.baseUrl,
          "SELECT tier, count(*) FROM metrics_all GROUP BY tier ORDER BY tier",
        );
        assert.deepEqual(tiers.rows, [["cold", 500], ["hot", 100]]);
        assert.equal(await httpNumber(agent.baseUrl, "SELECT count(*) FROM metrics"), 100);
      });

      await t.step("eventops query reads the Parquet file inside the data-dir sandbox", async () => {
        const [row] = await cliQuery(
          file,
          `SELECT count(*) AS n, min(ts) AS first, max(ts) AS last, count(DISTINCT src_offset) AS messages
           FROM read_parquet('${day1}/*.parquet')`,
        );
        assert.deepEqual(row, {
          n: 500,
          first: "2025-10-21T10:00:00.000Z",
          last: "2025-10-21T10:08:19.000Z",
          messages: 1,
        });
        const [manifest] = await cliQuery(file, "SELECT path, rows FROM parquet_parts");
        assert.deepEqual(manifest, { path: `${DAY1}/part-0001.parquet`, rows: 500 });
      });

      await t.step("GET /metrics/cpu_load returns hot and cold points as one series", async () => {
        const all = await points(agent.baseUrl);
        assert.equal(all.count, 600);
        const cold = await points(agent.baseUrl, "&host=h000");
        assert.equal(cold.count, 500);
        assert.equal(cold.points[0].ts, "2025-10-21T10:00:00.000Z");
        const ranged = await points(agent.baseUrl, "&from=2025-10-21T10:05:00Z&to=2025-10-21T10:06:00Z");
        assert.equal(ranged.count, 60);
      });

      await t.step("a second export for the same day is compacted with the first", async () => {
        const more = ndjsonMessages({
          events: 500,
          perMessage: 500,
          hosts: 1,
          startMs: Date.UTC(2025, 9, 21, 12),
          stepMs: 1_000,
        });
        await produceMessages(topics.raw, more.messages);
        const files = await eventually(
          async () => {
            const found = await partFiles(day1);
            const rows = await httpNumber(
              agent.baseUrl,
              `SELECT coalesce(sum(rows), 0) FROM parquet_parts WHERE path LIKE '${DAY1}/%'`,
            );
            return found.length === 1 && found[0] !== "part-0001.parquet" && rows === 1000
              ? found
              : undefined;
          },
          30_000,
          "one compacted part with 1000 rows",
        );
        assert.match(files[0], /^part-\d{4}\.parquet$/);
        const [row] = await cliQuery(
          file,
          `SELECT count(*) AS n, count(DISTINCT src_offset || ':' || src_index) AS ids FROM read_parquet('${day1}/*.parquet')`,
        );
        assert.deepEqual(row, { n: 1000, ids: 1000 });
        assert.equal((await points(agent.baseUrl, "&host=h000")).count, 1000);
        const compacted = logLines(agent.logs()).filter((line) =>
          line.msg === "parquet maintenance" &&
          (line.compacted as { files?: number } | undefined)?.files === 1
        );
        assert.ok(compacted.length >= 1, "a maintenance log line reports the compaction");
      });

      await t.step(`bulk: ${BULK} old events are exported (rate in the log)`, async () => {
        const bulk = ndjsonMessages({
          events: BULK,
          perMessage: 1_000,
          hosts: 20,
          startMs: Date.UTC(2025, 9, 22, 0),
          stepMs: 500,
        });
        await produceMessages(topics.raw, bulk.messages);
        const expected = 1_100 + BULK;
        await waitForRows(agent.baseUrl, expected, 120_000);
        await eventually(
          async () =>
            (await httpNumber(
                agent.baseUrl,
                "SELECT count(*) FROM metrics WHERE ts < TIMESTAMPTZ '2026-01-01'",
              )) ===
                0
              ? true
              : undefined,
          30_000,
          "every old row exported",
        );
        const tiers = await httpQuery(
          agent.baseUrl,
          "SELECT tier, count(*) FROM metrics_all GROUP BY tier ORDER BY tier",
        );
        assert.deepEqual(tiers.rows, [["cold", 1_000 + BULK], ["hot", 100]]);
        // The maintenance log line follows the commit (after compaction and retention ran too).
        const { rows, ms } = await eventually(
          () => {
            let rows = 0;
            let ms = 0;
            for (const line of logLines(agent.logs())) {
              const exported = line.exported as { rows?: number; ms?: number } | undefined;
              if (line.msg === "parquet maintenance" && exported?.rows) {
                rows += exported.rows;
                ms += exported.ms ?? 0;
              }
            }
            return Promise.resolve(rows === 1_000 + BULK ? { rows, ms } : undefined);
          },
          10_000,
          "maintenance log lines for every exported row",
        );
        console.log(
          `exported ${rows} rows to Parquet in ${Math.round(ms)} ms (${
            Math.round(rows / (ms / 1000))
          } rows/s)`,
        );
        assert.ok((await partFiles(`${parquetDir}/${DAY2}`)).length >= 1);
      });
    } finally {
      assert.equal(await agent.stop(), 0, agent.logs());
    }

    await t.step(
      "retention deletes the 2025 partitions; their points are gone, recent ones stay",
      async () => {
        ({ file, port } = await writeTestConfig(name, parquetConfig("30d")));
        agent = await startAgent(file, port);
        try {
          await eventually(
            async () => (!(await exists(day1)) && !(await exists(`${parquetDir}/${DAY2}`))
              ? true
              : undefined),
            30_000,
            "the 2025 partitions removed",
          );
          assert.equal(await httpNumber(agent.baseUrl, "SELECT count(*) FROM metrics_all"), 100);
          assert.equal(
            await httpNumber(
              agent.baseUrl,
              "SELECT count(*) FROM parquet_parts WHERE date < DATE '2026-01-01'",
            ),
            0,
          );
          assert.equal(
            await httpNumber(
              agent.baseUrl,
              "SELECT count(*) FROM exported_keys WHERE date < DATE '2026-01-01'",
            ),
            0,
          );
          const left = await points(agent.baseUrl);
          assert.equal(left.count, 100);
          assert.ok(left.points.every((point) => point.host === "live000"));
          assert.equal((await points(agent.baseUrl, "&host=h000")).count, 0);
          const removed = logLines(agent.logs()).filter((line) =>
            line.msg === "parquet maintenance" &&
            ((line.removed as { partitions?: number } | undefined)?.partitions ?? 0) > 0
          );
          assert.ok(removed.length >= 1, "a maintenance log line reports the retention");
        } finally {
          assert.equal(await agent.stop(), 0, agent.logs());
        }
      },
    );
  } finally {
    await removeTestDir(name);
  }
});
