/**
 * 100,000 series in one remote-write request through the real agent, broker and DuckDB: the
 * receiver answers 204, its events go to the raw topic in produce requests that fit it, and every
 * sample is stored exactly once; with a NaN sample in the same request, that one is dead-lettered.
 */
import assert from "node:assert/strict";
import { eventually, freePort, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";
import { encodeRemoteWrite } from "../../sources/prometheus.ts";

const TOKEN = "test-token";
const SERIES = 100_000;

Deno.test("collect: 100k series in one remote-write request are stored once each", async () => {
  const name = uniqueName("collect-bulk");
  const port = await freePort();
  const { file, topics } = await writeTestConfig(name, {
    http: { host: "127.0.0.1", port, token: TOKEN, max_body_bytes: 16 * 1024 * 1024 },
  });
  const agent = await startAgent(file, port);
  try {
    const ts = String(Date.now() - 60_000);
    const series = Array.from({ length: SERIES }, (_, i) => ({
      labels: [{ name: "__name__", value: "bulk_value" }, { name: "host", value: `h${i % 100}` }, {
        name: "shard",
        value: String(i),
      }],
      samples: [{ value: i, timestamp: ts }],
    }));
    series.push({
      labels: [{ name: "__name__", value: "bulk_nan" }, { name: "host", value: "h0" }],
      samples: [{ value: NaN, timestamp: ts }],
    });
    const body = encodeRemoteWrite(series);
    const response = await fetch(`${agent.baseUrl}/api/v1/write?tenant=bulk`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Encoding": "snappy" },
      body: new Uint8Array(body),
    });
    const answer = await response.json();
    assert.equal(response.status, 400, JSON.stringify(answer).slice(0, 500));
    assert.deepEqual([answer.accepted, answer.rejected], [SERIES, 1]);
    assert.match(answer.errors[0], /bulk_nan\) sample 0 is NaN/);

    const counted = await eventually(
      async () => {
        const result = await fetch(`${agent.baseUrl}/query`, {
          method: "POST",
          headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
          body: JSON.stringify({
            sql: 'SELECT count(*) AS n, count(DISTINCT "value") AS d, sum("value") AS s FROM metrics ' +
              "WHERE tenant = 'bulk' AND metric = 'bulk_value'",
          }),
        });
        const rows = (await result.json()).rows as [number, number, number][];
        return Number(rows[0][0]) >= SERIES ? rows[0] : undefined;
      },
      180_000,
      `${SERIES} rows stored`,
    );
    assert.deepEqual(counted.map(Number), [SERIES, SERIES, (SERIES * (SERIES - 1)) / 2]);
    const letters = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
    assert.deepEqual(letters.map((l) => [l.stage, l.source.topic]), [["collect", "POST /api/v1/write"]]);
  } finally {
    await agent.stop();
  }
});
