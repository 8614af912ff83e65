/**
 * SIGKILL loop: the agent is killed (no graceful stop) three times while it drains a backlog that
 * keeps growing (a producer adds to it between the kills), restarted each time, and in the end the
 * store holds every event exactly once (by event id, against the offsets the broker gave the
 * producer).
 */
import assert from "node:assert/strict";
import { BROKERS, runEventops, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { httpNumber, removeTestDir, waitForRows } from "../e2e/store_helpers.ts";
import { checkStoredIds, type ExpectedEvents, produceTracked, trackedWorkload } from "./helpers.ts";

const BACKLOG = 1_000_000;
const KILLS = 3;
/** Events added to the backlog after each kill. */
const MORE = 50_000;

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`SIGKILL loop: killed ${KILLS} times mid-stream, restarted, every event stored exactly once (topology ${topology})`, async () => {
    const name = uniqueName("sigkill");
    const { file, port, topics } = await writeTestConfig(name, { topology });
    try {
      const init = await runEventops(["init", "--config", file]);
      assert.equal(init.code, 0, init.stderr);
      const startMs = Date.now() - 3_600_000;
      const expected: ExpectedEvents = new Map();
      await produceTracked(
        BROKERS,
        topics.raw,
        trackedWorkload(BACKLOG, { perMessage: 200, hosts: 30, partitions: 3, startMs }),
        expected,
      );
      let total = BACKLOG;
      const atKills: number[] = [];
      for (let kill = 1; kill <= KILLS; kill++) {
        const agent = await startAgent(file, port);
        try {
          const target = (total * kill) / (KILLS + 1);
          for (;;) {
            const stored = await httpNumber(agent.baseUrl, "SELECT count(*) FROM metrics");
            if (stored >= target) break;
            await new Promise((resolve) => setTimeout(resolve, 50));
          }
        } finally {
          await agent.kill();
        }
        // The rows committed before the kill, read from the files by a fresh process.
        const after = await runEventops([
          "query",
          "--config",
          file,
          "--format",
          "csv",
          "SELECT count(*) FROM metrics",
        ]);
        const stored = Number(after.stdout.trim().split("\n").at(-1));
        atKills.push(stored);
        assert.ok(stored < total, `all ${stored} events were stored before kill ${kill}`);
        // More events arrive while the agent is down, for hosts of their own.
        await produceTracked(
          BROKERS,
          topics.raw,
          trackedWorkload(MORE, { perMessage: 100, hosts: 10, partitions: 3, startMs, prefix: `k${kill}-` }),
          expected,
        );
        total += MORE;
      }
      const agent = await startAgent(file, port);
      try {
        await waitForRows(agent.baseUrl, total, 180_000);
        const check = await checkStoredIds(agent.baseUrl, topics.raw, expected);
        assert.deepEqual(check, { stored: total, expected: total, missing: 0, duplicates: 0, unexpected: 0 });
        console.log(
          `reliability figures: SIGKILL x${KILLS} with ${atKills.join(", ")} of the events stored; ` +
            `${total} events in the end: ${JSON.stringify(check)}`,
        );
      } finally {
        assert.equal(await agent.stop(), 0);
      }
    } finally {
      await removeTestDir(name);
    }
  });
}
