/**
 * Issue 22 (4): an event with `"tags":{"s":"\udfff"}` (a lone surrogate: valid JSON, not valid
 * Unicode) was stored, then `GET /metrics/<m>?tenant=<t>` answered 500 for the whole tenant and
 * metric. Through the broker: the element goes to the DLQ with the field named, its neighbours are
 * stored; and a store an older agent wrote with such a text in it reads fine (200). Also `from=-1000000d`
 * (before year 1) is a 400 naming the valid range, and `from=0001-01-01` reads.
 */
import assert from "node:assert/strict";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce } from "../../testing/kcat.ts";
import { openStore } from "../../store/open.ts";
import { StoreWriter } from "../../store/writer.ts";
import { makeEvents, RESOURCES, storeAsOlderAgent } from "../store/helpers.ts";
import { removeTestDir } from "./store_helpers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

Deno.test("a lone surrogate in a tag goes to the DLQ; reads of its tenant and metric answer 200", async () => {
  const name = uniqueName("store-surrogate");
  const { file, port, topics, dataDir } = await writeTestConfig(name, {
    store: { parquet: { retention: "0s", interval: "1h" } },
  });
  const tenant = "acme";
  const startMs = Date.now() - 60_000;
  try {
    // The store as an agent before the fix left it: one series' tags hold `{"s":"\udfff"}`.
    const older = await openStore(`${ROOT}${dataDir}`, RESOURCES);
    const writer = await StoreWriter.open(older);
    await writer.writeBatch(
      makeEvents(3, { tenants: [tenant], hosts: ["old"], metrics: ["cpu_load"], baseTs: startMs }),
      [],
    );
    await storeAsOlderAgent(older, startMs);
    await writer.close();
    older.close();

    const agent = await startAgent(file, port);
    try {
      const event = (host: string, tags: string, offsetMs: number) =>
        `{"tenant_id":"${tenant}","host":"${host}","metric":"cpu_load","value":42,` +
        `"ts_event":${startMs + offsetMs},"tags":${tags}}`;
      const lone = event("new", '{"s":"\\udfff"}', 1_000);
      const pair = event("new", '{"s":"\\ud83d\\ude00"}', 2_000);
      await kcatProduce(topics.raw, [lone, pair]);

      const dlq = await eventually(
        async () => {
          const records = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
          return records.length > 0 ? records : undefined;
        },
        30_000,
        "the DLQ record",
      );
      assert.equal(dlq.length, 1);
      assert.equal(dlq[0].original, lone);
      assert.equal(dlq[0].stage, "normalize");
      assert.match(
        dlq[0].reason,
        /^tags\.s: lone surrogate "\\udfff" at character 1, not valid Unicode; send the character itself or a complete surrogate pair$/,
      );

      const points = await eventually(
        async () => {
          const response = await fetch(`${agent.baseUrl}/metrics/cpu_load?tenant=${tenant}&from=-1h`);
          // Before the fix: 500 ("Malformed JSON ... invalid high surrogate in string").
          assert.equal(response.status, 200, await response.clone().text());
          const body = await response.json();
          return body.points.length === 4 ? body.points : undefined;
        },
        30_000,
        "the stored points",
      );
      const hosts = points.map((p: { host: string }) => p.host).sort();
      assert.deepEqual(hosts, ["new", "old", "old", "old"]);
      const newest = points.find((p: { host: string }) => p.host === "new");
      assert.deepEqual(newest.tags, { s: "😀" });
      assert.ok(
        points.some((p: { tags: Record<string, string> }) => p.tags.s === "\ufffd"),
        "the older agent's text reads with U+FFFD",
      );
      // Issue 22 (4) too: a range starting before year 1 answered 500 ("invalid date field format").
      // The API now refuses it with a 400 naming the valid range (api/times.ts); the farthest time it
      // allows reaches the store and reads.
      const far = await fetch(`${agent.baseUrl}/metrics/cpu_load?tenant=${tenant}&from=-1000000d`);
      assert.equal(far.status, 400, await far.clone().text());
      assert.match((await far.json()).error.message, /out of range: .*0001-01-01T00:00:00Z to 9999-12-31/);
      const farthest = await fetch(`${agent.baseUrl}/metrics/cpu_load?tenant=${tenant}&from=0001-01-01`);
      assert.equal(farthest.status, 200, await farthest.clone().text());
      assert.equal((await farthest.json()).points.length, 4);
    } finally {
      assert.equal(await agent.stop(), 0, agent.logs());
    }
  } finally {
    await removeTestDir(name);
  }
});
