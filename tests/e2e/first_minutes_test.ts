/**
 * What a user hits in the first minutes (issue 18), through the real agent, broker and store:
 * `eventops query` on the agent's machine without a configured token (the local credential), `POST
 * /ingest` answering per item with the reason the DLQ carries, and a quiet log (no line per request).
 */
import assert from "node:assert/strict";
import {
  eventually,
  freePort,
  runEventops,
  startAgent,
  uniqueName,
  writeTestConfig,
} from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";
import { removeTestDir } from "./store_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const TOKEN = "first-minutes-token";
const GOOD = {
  tenant_id: "acme",
  host: "host-a",
  metric: "cpu_load",
  value: 85,
  ts_event: new Date().toISOString(),
  unit: "percent",
};

Deno.test("first minutes: local credential, per-item ingest answers, quiet access log", async (t) => {
  const name = uniqueName("first");
  const port = freePort();
  // The file has no token (as the demo); the agent gets one from its environment, the CLI does not.
  const { file, dataDir, topics } = await writeTestConfig(name, {
    http: { host: "127.0.0.1", port, token: "" },
  });
  const agent = await startAgent(file, port, [], { EVENTOPS_HTTP_TOKEN: TOKEN });
  try {
    await t.step("the agent made its local credential, readable by its user only", async () => {
      const info = await Deno.stat(`${ROOT}${dataDir}/local.credential`);
      assert.equal((info.mode ?? 0) & 0o777, 0o600);
      assert.match(await Deno.readTextFile(`${ROOT}${dataDir}/local.credential`), /^[0-9a-f]{64}\n$/);
    });

    await t.step("eventops query on this machine works without the token, through the agent", async () => {
      const result = await runEventops(["query", "--config", file, "SELECT 41 + 1 AS answer"]);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /^answer\n------\n {4}42\n\(1 row\)\n$/);
    });

    await t.step("without the credential a query is refused as a query, not as a write", async () => {
      const res = await fetch(`${agent.baseUrl}/query`, { method: "POST", body: '{"sql":"SELECT 1"}' });
      assert.equal(res.status, 401);
      const message = (await res.json()).error.message;
      assert.match(message, /^SQL queries need the API token/);
      assert.doesNotMatch(message, /write/);
    });

    await t.step(
      "POST /ingest answers each item; a rejected one is on the DLQ with the same reason",
      async () => {
        const bad = { ...GOOD, value: "85", host: `${name}-bad` };
        const res = await fetch(`${agent.baseUrl}/ingest`, {
          method: "POST",
          headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
          body: JSON.stringify([GOOD, bad]),
        });
        assert.equal(res.status, 207);
        const body = await res.json();
        assert.equal(body.results[0].status, "accepted");
        assert.equal(body.results[1].status, "rejected");
        assert.equal(body.results[1].dlq, true);
        const reason: string = body.results[1].error;
        assert.match(reason, /^value: expected a finite number, got "85"/);
        const letter = await eventually(
          async () => {
            const letters = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
            return letters.find((l) => String(l.original).includes(`${name}-bad`));
          },
          30_000,
          "the dead letter",
        );
        assert.equal(letter.reason, reason);
        assert.equal(letter.stage, "normalize");
        assert.equal(String(letter.source.offset), body.results[1].offset);
      },
    );

    await t.step("requests are not logged at info by default; start and state changes are", () => {
      const lines = agent.logs().split("\n").filter((line) => line.startsWith("{")).map((line) =>
        JSON.parse(line)
      );
      assert.ok(lines.some((line) => line.msg === "listening" && line.level === "info"));
      assert.deepEqual(lines.filter((line) => line.msg === "http" || line.msg === "query"), []);
    });
  } finally {
    await agent.stop();
    await removeTestDir(name);
  }
});

Deno.test("retention: older events are refused with the reason; an alert whose data expired resolves", async (t) => {
  const name = uniqueName("retain");
  const port = freePort();
  const { file, topics } = await writeTestConfig(name, {
    http: { host: "127.0.0.1", port, token: TOKEN },
    store: { parquet: { retention: "5s", interval: "1h" } },
  });
  const agent = await startAgent(file, port);
  const ingest = (events: unknown[]) =>
    fetch(`${agent.baseUrl}/ingest`, {
      method: "POST",
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: JSON.stringify(events),
    }).then((res) => res.json());
  try {
    await t.step(
      "the brief's 2025 event is refused with the retention as the reason, and dead-lettered",
      async () => {
        const body = await ingest([{ ...GOOD, host: `${name}-old`, ts_event: "2025-10-21T10:00:00Z" }]);
        assert.equal(body.results[0].status, "rejected");
        assert.match(
          body.results[0].error,
          /^ts_event 2025-10-21T10:00:00\.000Z is .* old \(max age 5s, the store's retention store\.parquet\.retention/,
        );
        const letter = await eventually(
          async () => {
            const letters = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
            return letters.find((l) => String(l.original).includes(`${name}-old`));
          },
          30_000,
          "the dead letter",
        );
        assert.equal(letter.reason, body.results[0].error);
      },
    );

    await t.step(
      "a firing alert resolves as expired once its series has no data within the retention",
      async () => {
        const body = await ingest([{ ...GOOD, value: 97, ts_event: new Date().toISOString() }]);
        assert.equal(body.results[0].status, "accepted", JSON.stringify(body));
        const alertsOf = async () => (await kcatConsumeAll(topics.alerts)).map((text) => JSON.parse(text));
        await eventually(async () =>
          (await alertsOf()).find((a) => a.host === "host-a" && a.state === "firing")
        );
        // Other traffic keeps batches flowing; the alert of host-a expires 5 s after its last event.
        const resolved = await eventually(
          async () => {
            await ingest([{ ...GOOD, host: `${name}-other`, value: 10, ts_event: new Date().toISOString() }]);
            return (await alertsOf()).find((a) => a.host === "host-a" && a.state === "resolved");
          },
          60_000,
          "the expired alert",
        );
        assert.match(resolved.annotations.expired, /no data since the store's retention \(5s/);
        assert.equal(resolved.severity, "critical");
      },
    );
  } finally {
    await agent.stop();
    await removeTestDir(name);
  }
});
