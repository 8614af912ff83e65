/**
 * Issue 4's "done when": one million events through the real broker (raw topic -> normalize ->
 * enrich -> events.enriched -> store) are stored exactly once.
 */
import assert from "node:assert/strict";
import { runEventops, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import {
  assertExactlyOnce,
  cliQuery,
  EXACTLY_ONCE_SQL,
  logLines,
  ndjsonMessages,
  OUT_OF_ORDER_SQL,
  produceMessages,
  removeTestDir,
  waitForRows,
} from "./store_helpers.ts";

const EVENTS = 1_000_000;

Deno.test("1,000,000 events through the broker are stored exactly once", async () => {
  const name = uniqueName("store-million");
  const { file, port, topics } = await writeTestConfig(name, { log_level: "info" });
  try {
    const init = await runEventops(["init", "--config", file]);
    assert.equal(init.code, 0, init.stderr);
    // 1,000 NDJSON messages of 1,000 events, 20 hosts, recent event times (stay hot).
    const generated = ndjsonMessages({
      events: EVENTS,
      perMessage: 1_000,
      hosts: 20,
      startMs: Date.now() - 15 * 60_000,
      stepMs: 10,
      value: (n) => (n % 1000 === 500 ? 90 : n % 1000 === 501 ? 60 : 40 + (n % 20)),
    });
    let started = performance.now();
    await produceMessages(topics.raw, generated.messages);
    const produceS = (performance.now() - started) / 1000;

    started = performance.now();
    const agent = await startAgent(file, port);
    try {
      await waitForRows(agent.baseUrl, EVENTS, 600_000);
      const storeS = (performance.now() - started) / 1000;
      console.log(
        `produced ${EVENTS} events in ${produceS.toFixed(1)} s; agent start to all stored ${
          storeS.toFixed(1)
        } s ` +
          `(${Math.round(EVENTS / storeS)} events/s end to end)`,
      );
      const [row] = await cliQuery(file, EXACTLY_ONCE_SQL);
      assertExactlyOnce(row, EVENTS, 1);
      const [order] = await cliQuery(file, OUT_OF_ORDER_SQL);
      assert.equal(order.late, 0, "events of a series stored out of order");
    } finally {
      assert.equal(await agent.stop(), 0, agent.logs());
      const errors = logLines(agent.logs()).filter((line) => line.level === "error");
      assert.deepEqual(errors, [], JSON.stringify(errors.slice(0, 3)));
    }
    // And once more from the files, with the agent stopped.
    const [row] = await cliQuery(file, EXACTLY_ONCE_SQL);
    assertExactlyOnce(row, EVENTS, 1);
  } finally {
    await removeTestDir(name);
  }
});
