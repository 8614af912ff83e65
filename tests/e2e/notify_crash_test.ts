/**
 * kill -9 of the agent between an alert and its delivery loses nothing (real agent, broker, DuckDB,
 * HTTP receiver):
 *
 * 1. killed while the notification is not even made (the group waits `group_wait`): the alert in the
 *    store is the outbox; after the restart its group is rebuilt and notified;
 * 2. killed while the notification waits in the outbox (the receiver is down): delivered after the
 *    restart, with the same id;
 * 3. killed while the request is in flight (the receiver holds it): sent again after the restart with
 *    the same id — at least once, and the `Idempotency-Key` lets the receiver drop the repeat.
 */
import assert from "node:assert/strict";
import { eventually } from "../../testing/agent.ts";
import { startReceiver } from "../../testing/receiver.ts";
import {
  assertPayload,
  event,
  getJson,
  notifications,
  notificationsReach,
  notifySetup,
  produce,
  startNotifyAgent,
  until,
} from "./notify_helpers.ts";

Deno.test("kill -9 between alert and delivery: delivered after the restart, none lost, same id", async () => {
  const receiver = startReceiver();
  const setup = await notifySetup(
    "notify-crash",
    {
      route: {
        receiver: "hook",
        group_by: ["host"],
        group_wait: "2s",
        group_interval: "1s",
        repeat_interval: "1h",
      },
      receivers: [{ name: "hook", webhook_configs: [{ url: `${receiver.url}/hook` }] }],
      delivery: { initial_backoff: "200ms", max_backoff: "1s", max_age: "1h" },
    },
    undefined,
    { kafka: { session_timeout: "6s" } },
  ); // a killed member leaves the group sooner
  let agent = await startNotifyAgent(setup);
  try {
    // 1. An alert of now: its group waits 2 s. Killed as soon as the alert is stored.
    await produce(setup, [event("host-a", 85, new Date().toISOString())]);
    await eventually(
      async () => {
        const body = await getJson<{ count: number }>(agent, "/alerts?state=firing");
        return body.count === 1 ? true : undefined;
      },
      30_000,
      "host-a's alert stored",
    );
    assert.equal((await notifications(agent)).length, 0, "not notified yet (group_wait)");
    await agent.kill();
    agent = await startNotifyAgent(setup);
    await until(() => receiver.accepted().length === 1 ? true : undefined, "host-a after restart");
    const first = assertPayload(receiver.accepted()[0].json);
    assert.equal(first.groupKey, '{}:{host="host-a"}');
    assert.equal(first.alerts[0].labels.severity, "warning");

    // 2. The receiver is down: the notification waits in the outbox; killed there.
    await receiver.down();
    await produce(setup, [event("host-b", 85, "2025-10-21T10:00:00Z")]);
    const pending = await eventually(
      async () => {
        const rows = (await notifications(agent)).filter((n) => n.status === "pending" && n.attempts >= 1);
        return rows.length === 1 ? rows[0] : undefined;
      },
      30_000,
      "host-b's notification pending",
    );
    await agent.kill();
    receiver.up();
    agent = await startNotifyAgent(setup);
    await until(() => receiver.accepted().length === 2 ? true : undefined, "host-b after restart");
    assert.equal(
      receiver.accepted()[1].headers["idempotency-key"],
      pending.id,
      "the stored notification, same id",
    );
    assert.equal(assertPayload(receiver.accepted()[1].json).groupKey, '{}:{host="host-b"}');

    // 3. Killed while the receiver holds the request: sent again after the restart, same id.
    const held = receiver.holdNext();
    await produce(setup, [event("host-b", 97, "2025-10-21T10:05:00Z")]);
    const { request, release } = await held;
    await agent.kill();
    release();
    agent = await startNotifyAgent(setup);
    const again = await until(() => {
      const same = receiver.accepted().filter((r) =>
        r.headers["idempotency-key"] === request.headers["idempotency-key"]
      );
      return same.length === 2 ? same : undefined;
    }, "the interrupted notification sent again");
    assert.equal(again[1].body, again[0].body, "the same payload");
    const rows = await notificationsReach(agent, 3, "three notifications");
    await eventually(
      async () => {
        const now = await notifications(agent);
        return now.every((n) => n.status === "delivered") ? true : undefined;
      },
      30_000,
      "every notification delivered",
    );
    assert.equal(rows.length, 3, "none lost, none made twice");
    assert.deepEqual(
      [...new Set(receiver.accepted().map((r) => r.headers["idempotency-key"]))].sort(),
      rows.map((n) => n.id).sort(),
    );
  } finally {
    await agent.stop();
    await receiver.close();
  }
});
