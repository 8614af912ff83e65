/**
 * Crash safety through the real broker: the agent is SIGKILLed while it stores a stream, restarted,
 * and every valid event ends up stored exactly once, with no alert stored twice or repeated.
 */
import assert from "node:assert/strict";
import { runEventops, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";
import {
  assertExactlyOnce,
  cliQuery,
  EXACTLY_ONCE_SQL,
  httpNumber,
  httpQuery,
  ndjsonMessages,
  OUT_OF_ORDER_SQL,
  produceMessages,
  removeTestDir,
  waitForRows,
} from "./store_helpers.ts";

const EVENTS = 200_000;
const HOSTS = 20;

Deno.test("SIGKILL while storing, restart: every event stored once, alerts not duplicated", async (t) => {
  const name = uniqueName("store-crash");
  const { file, port, topics } = await writeTestConfig(name);
  try {
    const init = await runEventops(["init", "--config", file]);
    assert.equal(init.code, 0, init.stderr);
    // Per host: 40..59, with a warning (85), a critical (97) and a resolve (50) every 100 events:
    // exactly 3 alert transitions per 100 events of a host.
    const generated = ndjsonMessages({
      events: EVENTS,
      perMessage: 500,
      hosts: HOSTS,
      startMs: Date.now() - 30 * 60_000,
      stepMs: 50,
      value: (n) => (n % 100 === 10 ? 85 : n % 100 === 11 ? 97 : n % 100 === 12 ? 50 : 40 + (n % 20)),
      invalidEvery: 50,
    });
    const expectedAlerts = (EVENTS / 100) * 3;
    await produceMessages(topics.raw, generated.messages);

    let atKill = 0;
    await t.step("SIGKILL once some but not all events are stored", async () => {
      const agent = await startAgent(file, port);
      try {
        const deadline = Date.now() + 120_000;
        for (;;) {
          const n = await httpNumber(agent.baseUrl, "SELECT count(*) FROM metrics");
          if (n >= EVENTS * 0.2) {
            assert.ok(n < EVENTS, `all ${n} events were stored before the kill; produce more`);
            break;
          }
          assert.ok(Date.now() < deadline, `only ${n} events stored after 120 s`);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        atKill = await httpNumber(agent.baseUrl, "SELECT count(*) FROM metrics");
      } finally {
        await agent.kill();
      }
      assert.equal(agent.process.pid > 0, true);
      console.log(`killed with ${atKill} of ${EVENTS} events stored`);
    });

    await t.step("the committed rows survive the kill (direct read-only open replays the WAL)", async () => {
      const [row] = await cliQuery(file, "SELECT count(*) AS n, count(DISTINCT id) AS d FROM metrics");
      assert.ok(Number(row.n) >= atKill, `${row.n} rows after the kill, ${atKill} seen before`);
      assert.equal(row.n, row.d);
      assert.ok(Number(row.n) < EVENTS);
    });

    await t.step("after the restart every valid event is stored exactly once", async () => {
      const agent = await startAgent(file, port);
      try {
        await waitForRows(agent.baseUrl, EVENTS, 180_000);
        // Rules see a series in order only if the stateless stage kept it in order on events.enriched.
        const late = await httpNumber(agent.baseUrl, OUT_OF_ORDER_SQL);
        assert.equal(late, 0, `${late} events reached the store after a later event of their series`);
        const reply = await httpQuery(agent.baseUrl, EXACTLY_ONCE_SQL);
        const row = Object.fromEntries(reply.columns.map((c, i) => [c.name, reply.rows[0][i]]));
        assertExactlyOnce(row, EVENTS, expectedAlerts);
        assert.equal(row.alerts, expectedAlerts);
        // Per host: 10,000 events and 300 transitions, alternating warning -> critical -> resolved.
        const perHost = await httpQuery(
          agent.baseUrl,
          `SELECT host, count(*) FROM metrics_all GROUP BY host HAVING count(*) <> ${EVENTS / HOSTS}`,
        );
        assert.deepEqual(perHost.rows, []);
        const order = await httpQuery(
          agent.baseUrl,
          `SELECT count(*) FROM (
             SELECT state, severity, lag(state) OVER w AS ps, lag(severity) OVER w AS pv FROM alerts
             WINDOW w AS (PARTITION BY fingerprint ORDER BY ts, seq))
           WHERE ps IS NOT NULL AND NOT (
             (ps = 'firing' AND pv = 'warning' AND state = 'firing' AND severity = 'critical') OR
             (ps = 'firing' AND pv = 'critical' AND state = 'resolved') OR
             (ps = 'resolved' AND state = 'firing' AND severity = 'warning'))`,
        );
        assert.deepEqual(order.rows, [[0]], "alert transitions out of order");
      } finally {
        assert.equal(await agent.stop(), 0);
      }
      const dlq = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
      assert.ok(
        dlq.length >= generated.invalid,
        `${dlq.length} DLQ records, ${generated.invalid} invalid lines`,
      );
      const [row] = await cliQuery(file, EXACTLY_ONCE_SQL);
      assertExactlyOnce(row, EVENTS, expectedAlerts);
    });
  } finally {
    await removeTestDir(name);
  }
});
