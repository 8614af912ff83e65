/**
 * Issue 22 (5), against the real agent with events stored through the broker and exported to
 * Parquet: a truncated part left `/readyz` ready while every query failed; a deleted part lost its
 * rows silently. Now `/readyz` reports the store readable and, degraded, the parts that are not
 * (with the files and what to do), queries answer over the intact parts, the agent logs an error per
 * part and exports gauges, and all of it holds after a restart.
 */
import assert from "node:assert/strict";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import {
  httpNumber,
  logLines,
  ndjsonMessages,
  produceMessages,
  removeTestDir,
  waitForRows,
} from "./store_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const DAY = 86_400_000;
/** Reads every value (a bare count(*) reads only the Parquet footers). */
const COUNT_VALUES = `SELECT count(*) FROM metrics_all WHERE "value" IS NOT NULL AND host IS NOT NULL`;

async function readyz(baseUrl: string) {
  const response = await fetch(`${baseUrl}/readyz`);
  return { status: response.status, body: await response.json() };
}

async function gauge(baseUrl: string, name: string): Promise<number | undefined> {
  const text = await (await fetch(`${baseUrl}/prometheus`)).text();
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.split(" ")[1]);
}

Deno.test("a truncated and a deleted Parquet part: reported by /readyz, the log and gauges; queries answer", async (t) => {
  const name = uniqueName("store-health");
  const { file, port, topics, dataDir } = await writeTestConfig(name, {
    store: { parquet: { export_after: "1s", interval: "1s", retention: "0s" } },
  });
  const parquetDir = `${ROOT}${dataDir}/parquet`;
  try {
    let agent = await startAgent(file, port);
    let stopped = false;
    try {
      const { messages, valid } = ndjsonMessages({
        events: 4_000,
        perMessage: 100,
        hosts: 4,
        startMs: Date.now() - 3 * DAY,
        stepMs: 240_000, // 1,000 per host over ~2.8 days: parts on three or four days
      });
      await produceMessages(topics.raw, messages);
      await waitForRows(agent.baseUrl, valid, 60_000);
      await eventually(
        async () =>
          (await httpNumber(agent.baseUrl, "SELECT count(*) FROM metrics")) === 0 ? true : undefined,
        60_000,
        "every row exported to Parquet",
      );
      const parts = (await (await fetch(`${agent.baseUrl}/query`, {
        method: "POST",
        headers: { Authorization: "Bearer test-token", "Content-Type": "application/json" },
        body: JSON.stringify({ sql: "SELECT path, rows FROM parquet_parts ORDER BY path" }),
      })).json()).rows as [string, number][];
      assert.ok(parts.length >= 3, `${parts.length} parts`);
      const healthy = await readyz(agent.baseUrl);
      assert.equal(healthy.status, 200);
      assert.deepEqual(
        [
          healthy.body.degraded,
          healthy.body.checks.store_readable.ok,
          healthy.body.checks.store_readable.damaged_parts,
        ],
        [false, true, 0],
      );

      const [truncated, truncatedRows] = parts[0];
      const [deleted, deletedRows] = parts[1];
      const size = (await Deno.stat(`${parquetDir}/${truncated}`)).size;
      await Deno.truncate(`${parquetDir}/${truncated}`, Math.floor(size / 2));
      await Deno.remove(`${parquetDir}/${deleted}`);

      await t.step("/readyz: ready, degraded, naming both files", async () => {
        const { status, body } = await readyz(agent.baseUrl);
        assert.equal(status, 200);
        assert.equal(body.ready, true);
        assert.equal(body.degraded, true);
        const check = body.checks.store_readable;
        assert.equal(check.ok, true);
        assert.equal(check.damaged_parts, 2);
        assert.equal(check.unreadable_rows, truncatedRows + deletedRows);
        assert.deepEqual(
          check.damaged.map((p: { path: string }) => p.path).sort(),
          [truncated, deleted].sort(),
        );
        assert.match(body.warnings[0], /^2 Parquet part\(s\) missing or damaged/);
        assert.ok(body.warnings[0].includes(`${deleted} (missing)`), body.warnings[0]);
        console.log(`store_readable probe: ${check.ms} ms for ${parts.length} parts`);
      });

      await t.step("queries answer over the intact parts", async () => {
        // Before: "No magic bytes found at end of file …" for every query over metrics_all.
        const rows = await eventually(
          async () => {
            const n = await httpNumber(agent.baseUrl, COUNT_VALUES);
            return n === valid - truncatedRows - deletedRows ? n : undefined;
          },
          30_000,
          "the intact rows",
        );
        assert.equal(rows, valid - truncatedRows - deletedRows);
        const response = await fetch(`${agent.baseUrl}/metrics/cpu_load?tenant=acme&from=-4d&limit=100000`);
        assert.equal(response.status, 200);
        assert.equal((await response.json()).points.length, rows);
      });

      await t.step("an error log line per part and the gauges", async () => {
        await eventually(
          async () =>
            (await gauge(agent.baseUrl, "eventops_store_parquet_damaged_parts")) === 2 ? true : undefined,
          30_000,
          "the gauge",
        );
        assert.equal(
          await gauge(agent.baseUrl, "eventops_store_parquet_unreadable_rows"),
          truncatedRows + deletedRows,
        );
        const lines = logLines(agent.logs()).filter((l) =>
          l.msg === "Parquet part missing or damaged; left out of the queries"
        );
        assert.deepEqual(lines.map((l) => l.path).sort(), [truncated, deleted].sort());
        assert.ok(lines.every((l) => l.level === "error"));
        const quarantined = lines.find((l) => l.path === truncated);
        assert.equal(quarantined?.quarantine, `quarantine/${truncated}`);
        assert.match(
          String(quarantined?.problem),
          /bytes, the manifest says \d+ \(truncated or overwritten\)$/,
        );
      });

      assert.equal(await agent.stop(), 0, agent.logs());
      stopped = true;
      agent = await startAgent(file, port);
      stopped = false;

      await t.step("after a restart: still reported", async () => {
        const { status, body } = await readyz(agent.baseUrl);
        assert.equal(status, 200);
        assert.equal(body.degraded, true);
        assert.equal(body.checks.store_readable.damaged_parts, 2);
        assert.ok(
          logLines(agent.logs()).some((l) =>
            l.msg === "Parquet parts recorded missing or damaged earlier are still unreadable" &&
            l.parts === 2
          ),
          agent.logs(),
        );
        assert.equal(await httpNumber(agent.baseUrl, COUNT_VALUES), valid - truncatedRows - deletedRows);
      });
    } finally {
      if (!stopped) assert.equal(await agent.stop(), 0, agent.logs());
    }
  } finally {
    await removeTestDir(name);
  }
});
