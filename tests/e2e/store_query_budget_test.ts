/**
 * Issue 22 (3): one authenticated `POST /query {"sql":"SELECT repeat('x',1000000000)"}` took the agent
 * from 186 MB to 3.96 GB (and left it at 2.3 GB); `SELECT repeat('x', 100000) FROM range(2000)`
 * exhausted its V8 heap (the process died); a big aggregate joined to rows took 13 GB. Against the real agent, with events stored through the
 * broker: each budget answers with a JSON 413/422 naming it, and the agent's memory stays put.
 */
import assert from "node:assert/strict";
import { runEventops, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { ndjsonMessages, produceMessages, removeTestDir, TOKEN, waitForRows } from "./store_helpers.ts";

/** VmRSS and VmHWM of a process, bytes (read with cat: Deno refuses /proc to a sandboxed test). */
async function memoryOf(pid: number): Promise<{ rss: number; peak: number }> {
  const output = await new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).output();
  const text = new TextDecoder().decode(output.stdout);
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1]) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

async function postQuery(baseUrl: string, sql: string) {
  const response = await fetch(`${baseUrl}/query`, {
    method: "POST",
    headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
    body: JSON.stringify({ sql }),
  });
  const text = await response.text();
  return { status: response.status, bytes: text.length, body: JSON.parse(text) };
}

const MB = 1024 ** 2;

Deno.test("POST /query: budgets refuse or stop what would exhaust the agent's memory", async (t) => {
  const name = uniqueName("store-query-budget");
  const { file, port, topics } = await writeTestConfig(name, {
    store: {
      parquet: { retention: "0s", interval: "1h" },
      query: { timeout: "2s", max_result_bytes: "64KiB" },
    },
  });
  try {
    const agent = await startAgent(file, port);
    try {
      const { messages, valid } = ndjsonMessages({
        events: 2_000,
        perMessage: 50,
        hosts: 4,
        startMs: Date.now() - 600_000,
        stepMs: 1_000,
      });
      await produceMessages(topics.raw, messages);
      await waitForRows(agent.baseUrl, valid, 60_000);
      const pid = agent.process.pid;
      const before = await memoryOf(pid);

      await t.step("the reproduction is refused before DuckDB allocates anything", async () => {
        const reply = await postQuery(agent.baseUrl, "SELECT repeat('x',1000000000)");
        assert.equal(reply.status, 422, JSON.stringify(reply.body));
        assert.deepEqual(reply.body.error.details, {
          budget: "value_bytes",
          setting: "store.query.max_value_bytes",
          limit: MB,
          function: "repeat",
          position: 8,
        });
        assert.match(
          reply.body.error.message,
          /^repeat\(\) at character 8 could build a value of up to 953\.7 MiB; the limit is 1 MiB \(store\.query\.max_value_bytes\)\. Use a smaller count/,
        );
        const after = await memoryOf(pid);
        assert.ok(after.peak - before.peak < 32 * MB, `peak grew from ${before.peak} to ${after.peak}`);
        assert.ok(after.rss - before.rss < 32 * MB, `resident set grew from ${before.rss} to ${after.rss}`);
      });

      await t.step("a result larger than the agent's heap is refused, the agent lives on", async () => {
        // Before: 200 MB of strings converted for the answer exhausted the V8 heap and killed the agent.
        const reply = await postQuery(agent.baseUrl, "SELECT repeat('x', 100000) FROM range(2000)");
        assert.equal(reply.status, 422, JSON.stringify(reply.body));
        assert.equal(reply.body.error.details.budget, "value_bytes");
        assert.match(reply.body.error.message, /the limit is 32 KiB per row .* or in a SELECT without FROM$/);
        const copied = await postQuery(
          agent.baseUrl,
          "SELECT s FROM (SELECT string_agg(range::VARCHAR, ',') AS s FROM range(1000000)) a, range(2000)",
        );
        assert.equal(copied.status, 422, JSON.stringify(copied.body));
        assert.match(copied.body.error.message, /copies a value of unbounded size .* into many rows/);
        const health = await fetch(`${agent.baseUrl}/healthz`);
        assert.equal(health.status, 200);
        await health.body?.cancel();
      });

      await t.step("SELECT * FROM metrics_all with no limit: the rows within max_result_bytes", async () => {
        const reply = await postQuery(agent.baseUrl, "SELECT * FROM metrics_all");
        assert.equal(reply.status, 200);
        assert.equal(reply.body.truncated, true);
        assert.equal(reply.body.truncated_by, "max_result_bytes");
        assert.ok(
          reply.body.rows.length > 50 && reply.body.rows.length < valid,
          `${reply.body.rows.length} rows`,
        );
        assert.ok(reply.bytes < 96 * 1024, `${reply.bytes} bytes`);
      });

      await t.step("a single row over max_result_bytes is a 413", async () => {
        const reply = await postQuery(
          agent.baseUrl,
          "SELECT string_agg(host, ',') FROM metrics_all, range(10)",
        );
        assert.equal(reply.status, 413, JSON.stringify(reply.body));
        assert.equal(reply.body.error.details.budget, "result_bytes");
        assert.match(
          reply.body.error.message,
          /over store\.query\.max_result_bytes \(64 KiB\); select fewer/,
        );
      });

      await t.step("string_agg over range(3e8): DuckDB's memory limit, named", async () => {
        const reply = await postQuery(
          agent.baseUrl,
          "SELECT length(string_agg('x', '')) FROM range(300000000)",
        );
        assert.equal(reply.status, 422, JSON.stringify(reply.body));
        assert.deepEqual(reply.body.error.details, {
          budget: "memory",
          setting: "store.memory_limit",
          limit: 128e6,
        });
      });

      await t.step("a cross join running past the timeout is interrupted", async () => {
        const reply = await postQuery(
          agent.baseUrl,
          "SELECT count(*) FROM range(100000) a, range(100000) b, range(1000) c",
        );
        assert.equal(reply.status, 422, JSON.stringify(reply.body));
        assert.deepEqual(reply.body.error.details, {
          budget: "timeout",
          setting: "store.query.timeout",
          limit: 2000,
        });
      });

      await t.step("eventops query prints the refusal", async () => {
        const result = await runEventops(["query", "--config", file, "SELECT length(range(300000000))"]);
        assert.equal(result.code, 1);
        assert.match(result.stderr, /range\(\) at character 15 could build a value of up to 4\.5 GiB/);
      });

      const end = await memoryOf(pid);
      console.log(
        `agent memory: before ${(before.rss / MB).toFixed(0)} MB (peak ${
          (before.peak / MB).toFixed(0)
        } MB), ` +
          `after ${(end.rss / MB).toFixed(0)} MB (peak ${(end.peak / MB).toFixed(0)} MB)`,
      );
      assert.ok(end.peak < before.peak + 256 * MB, `peak ${end.peak}`);
      assert.ok(end.rss < before.rss + 64 * MB, `resident set after the queries: ${end.rss}`);
      const count = await postQuery(agent.baseUrl, "SELECT count(*) FROM metrics_all");
      assert.deepEqual(count.body.rows, [[valid]]);
    } finally {
      assert.equal(await agent.stop(), 0, agent.logs());
    }
  } finally {
    await removeTestDir(name);
  }
});
