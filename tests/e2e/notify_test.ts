/**
 * Alert delivery end to end: events produced with kcat through the real broker, the real agent
 * (its sandbox), DuckDB and a real HTTP receiver. A receiver that refuses requests and then is down
 * gets every notification afterwards, grouped, in order, as Alertmanager's webhook payload v4;
 * silences created over the API stop notifications for matching alerts only and survive a restart;
 * inhibition; a receiver that does not resolve or answers garbage is retried and counted.
 */
import assert from "node:assert/strict";
import { eventually } from "../../testing/agent.ts";
import { startGarbageServer, startReceiver } from "../../testing/receiver.ts";
import {
  assertPayload,
  event,
  getJson,
  notifications,
  notificationsReach,
  notifySetup,
  type Payload,
  produce,
  promValue,
  startNotifyAgent,
  until,
  write,
} from "./notify_helpers.ts";

const FAST_DELIVERY = { initial_backoff: "200ms", max_backoff: "1s", max_age: "1h", timeout: "2s" };

interface ActiveAlert {
  fingerprint: string;
  host: string;
  rule: string;
  severity: string;
  silenced_by: string[];
  inhibited_by: string | null;
  acked: { acked_by: string } | null;
  receivers: string[];
}

Deno.test("a receiver that refuses, then is down, gets every notification afterwards: grouped per group_by, in order, payload v4", async () => {
  const receiver = startReceiver();
  const setup = await notifySetup("notify-outage", {
    route: {
      receiver: "hook",
      group_by: ["host"],
      group_wait: "0s",
      group_interval: "1s",
      repeat_interval: "1h",
    },
    receivers: [{ name: "hook", webhook_configs: [{ url: `${receiver.url}/hook` }] }],
    delivery: FAST_DELIVERY,
  });
  const agent = await startNotifyAgent(setup);
  try {
    // The receiver refuses the first two requests (503): retried with the same id.
    receiver.refuseNext(2);
    await produce(setup, [
      event("host-a", 85, "2025-10-21T10:00:00Z"),
      event("host-b", 85, "2025-10-21T10:00:00Z"),
    ]);
    await until(() => receiver.accepted().length >= 2 ? true : undefined, "both warnings");
    const refused = receiver.requests.filter((r) => r.status === 503).map((r) =>
      r.headers["idempotency-key"]
    );
    assert.equal(refused.length, 2);
    const acceptedIds = receiver.accepted().map((r) => r.headers["idempotency-key"]);
    for (const id of refused) {
      assert.ok(acceptedIds.includes(id), "a refused notification comes again with its id");
    }
    assert.ok(await promValue(agent, "eventops_notifications_retries_total", { receiver: "hook" }) >= 2);

    // Down: each change makes a notification that waits in the store (in order per group).
    await receiver.down();
    let made = (await notifications(agent)).length;
    for (
      const line of [
        event("host-a", 97, "2025-10-21T10:05:00Z"), // host-a escalates
        event("host-b", 50, "2025-10-21T10:05:00Z"), // host-b resolves
        event("host-a", 50, "2025-10-21T10:10:00Z"), // host-a resolves
      ]
    ) {
      await produce(setup, [line]);
      made = (await notificationsReach(agent, made + 1, `the notification of ${line}`)).length;
    }
    const waiting = await eventually(
      async () => {
        const rows = (await notifications(agent)).filter((n) => n.status === "pending");
        return rows.length === 3 && rows.some((n) => n.attempts >= 2) ? rows : undefined;
      },
      30_000,
      "three notifications pending and retried while the receiver is down",
    );
    assert.ok(
      waiting.some((n) => /ECONNREFUSED|onnection refused|os error 111/i.test(n.last_error ?? "")),
      JSON.stringify(waiting),
    );
    await eventually(
      async () => await promValue(agent, "eventops_notifications_queue_depth") === 3 ? true : undefined,
      10_000,
      "the queue depth gauge at 3",
    );
    assert.ok(await promValue(agent, "eventops_notifications_oldest_pending_seconds") > 0);
    assert.equal(
      (await fetch(`${agent.baseUrl}/readyz`)).status,
      200,
      "ingestion and the agent are not affected",
    );

    // Back: everything arrives, each group in order.
    receiver.up();
    await eventually(
      async () => {
        const rows = await notifications(agent);
        return rows.length === 5 && rows.every((n) => n.status === "delivered") ? true : undefined;
      },
      30_000,
      "all five notifications delivered",
    );
    const payloads = receiver.accepted().map((r) => assertPayload(r.json));
    const byGroup = new Map<string, Payload[]>();
    for (const payload of payloads) {
      byGroup.set(payload.groupKey, [...byGroup.get(payload.groupKey) ?? [], payload]);
    }
    const story = (key: string) =>
      (byGroup.get(key) ?? []).map((p) =>
        `${p.status}:${p.alerts.map((a) => `${a.labels.severity}/${a.status}`)}`
      );
    assert.deepEqual(story('{}:{host="host-a"}'), [
      "firing:warning/firing",
      "firing:critical/firing",
      "resolved:critical/resolved",
    ]);
    assert.deepEqual(story('{}:{host="host-b"}'), ["firing:warning/firing", "resolved:warning/resolved"]);
    for (const payload of payloads) {
      assert.equal(payload.receiver, "hook");
      assert.deepEqual(payload.groupLabels, { host: payload.alerts[0].labels.host });
      assert.equal(payload.alerts[0].labels.alertname, "cpu_high");
      assert.equal(payload.externalURL, `http://127.0.0.1:${setup.port}`);
      assert.equal(
        payload.alerts[0].generatorURL,
        `${payload.externalURL}/alerts?rule=cpu_high&tenant=acme&host=${payload.alerts[0].labels.host}`,
      );
    }
    const delivered = new Set(receiver.accepted().map((r) => r.headers["idempotency-key"]));
    assert.equal(delivered.size, 5, "each notification delivered once");
    assert.deepEqual([...delivered].sort(), (await notifications(agent)).map((n) => n.id).sort());
    assert.equal(await promValue(agent, "eventops_notifications_sent_total", { receiver: "hook" }), 5);
    await eventually(
      async () => await promValue(agent, "eventops_notifications_queue_depth") === 0 ? true : undefined,
      10_000,
      "the queue depth gauge at 0",
    );
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

Deno.test("silences over the API: matching alerts are stored and shown but not notified, others are; they survive a restart", async () => {
  const receiver = startReceiver();
  const setup = await notifySetup("notify-silence", {
    route: {
      receiver: "hook",
      group_by: ["host"],
      group_wait: "0s",
      group_interval: "1s",
      repeat_interval: "1h",
    },
    receivers: [{ name: "hook", webhook_configs: [{ url: `${receiver.url}/hook` }] }],
    delivery: FAST_DELIVERY,
  });
  let agent = await startNotifyAgent(setup);
  try {
    const now = Date.now();
    const silence = {
      matchers: [{ name: "host", value: "host-a", isRegex: false, isEqual: true }],
      startsAt: new Date(now).toISOString(),
      endsAt: new Date(now + 3_600_000).toISOString(),
      createdBy: "e2e",
      comment: "maintenance of host-a",
    };
    const unauthorized = await fetch(`${agent.baseUrl}/silences`, {
      method: "POST",
      body: JSON.stringify(silence),
    });
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();
    const bad = await write(agent, "POST", "/silences", { ...silence, matchers: [] });
    assert.equal(bad.status, 400);
    assert.match(String((bad.body.error as { message: string }).message), /at least one matcher/);
    const created = await write(agent, "POST", "/silences", silence);
    assert.equal(created.status, 200);
    const id = created.body.silenceID as string;
    assert.match(id, /^[0-9a-f-]{36}$/);

    await produce(setup, [
      event("host-a", 85, "2025-10-21T10:00:00Z"),
      event("host-b", 85, "2025-10-21T10:00:00Z"),
    ]);
    await until(() => receiver.accepted().length >= 1 ? true : undefined, "host-b notified");
    const active = await getJson<{ alerts: ActiveAlert[] }>(agent, "/alerts/active");
    assert.deepEqual(active.alerts.map((a) => [a.host, a.silenced_by]).sort(), [["host-a", [id]], [
      "host-b",
      [],
    ]]);
    assert.deepEqual(receiver.accepted().map((r) => (r.json as Payload).groupKey), ['{}:{host="host-b"}']);

    // Restart: the silence is still there and still mutes host-a (its escalation is not notified).
    assert.equal(await agent.stop(), 0);
    agent = await startNotifyAgent(setup);
    const silences = await getJson<{ id: string; status: { state: string } }[]>(agent, "/silences");
    assert.deepEqual(silences.map((s) => [s.id, s.status.state]), [[id, "active"]]);
    const sameViaAmPath = await getJson<{ id: string }>(agent, `/api/v2/silence/${id}`);
    assert.equal(sameViaAmPath.id, id);
    // host-a escalates, then host-b (one partition: in this order): by the time host-b's critical is
    // delivered, host-a's group was flushed too — silenced, nothing sent.
    await produce(setup, [
      event("host-a", 97, "2025-10-21T10:05:00Z"),
      event("host-b", 97, "2025-10-21T10:05:00Z"),
    ]);
    await until(() => receiver.accepted().length >= 2 ? true : undefined, "host-b critical");
    assert.deepEqual(
      receiver.accepted().map((r) =>
        `${(r.json as Payload).groupKey} ${(r.json as Payload).alerts[0].labels.severity}`
      ),
      ['{}:{host="host-b"} warning', '{}:{host="host-b"} critical'],
    );
    // Expired: host-a is notified at its group's next flush.
    const expired = await write(agent, "DELETE", `/silences/${id}`);
    assert.equal(expired.status, 200);
    await until(() => receiver.accepted().length >= 3 ? true : undefined, "host-a after the silence");
    const last = receiver.accepted()[2].json as Payload;
    assert.equal(last.groupKey, '{}:{host="host-a"}');
    assert.equal(last.alerts[0].labels.severity, "critical");
    const after = await getJson<{ status: { state: string } }[]>(agent, "/silences");
    assert.equal(after[0].status.state, "expired");
    assert.equal((await write(agent, "DELETE", "/silences/no-such-silence")).status, 404);
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

Deno.test("inhibition: a critical alert mutes warnings of the same tenant and host, not of others; acknowledgement", async () => {
  const receiver = startReceiver();
  const setup = await notifySetup(
    "notify-inhibit",
    {
      route: {
        receiver: "hook",
        group_by: ["alertname"],
        group_wait: "0s",
        group_interval: "1s",
        repeat_interval: "1h",
      },
      inhibit_rules: [{
        source_matchers: ['severity="critical"'],
        target_matchers: ['severity="warning"'],
        equal: ["tenant", "host"],
      }],
      receivers: [{ name: "hook", webhook_configs: [{ url: `${receiver.url}/hook` }] }],
      delivery: FAST_DELIVERY,
    },
    {
      rules: [
        { name: "cpu_high", metric: "cpu_load", warning: 80, critical: 95 },
        { name: "mem_high", metric: "mem_used", warning: 80, for: "0s", clear: 70 },
      ],
    },
  );
  const agent = await startNotifyAgent(setup);
  try {
    await produce(setup, [
      event("host-a", 97, "2025-10-21T10:00:00Z", "cpu_load"),
      event("host-a", 85, "2025-10-21T10:00:01Z", "mem_used"),
      event("host-b", 85, "2025-10-21T10:00:01Z", "mem_used"),
    ]);
    const groups = () => receiver.accepted().map((r) => r.json as Payload);
    await until(() => groups().length >= 2 ? true : undefined, "cpu and mem notified");
    const mem = groups().find((p) => p.groupKey === '{}:{alertname="mem_high"}')!;
    assert.deepEqual(mem.alerts.map((a) => a.labels.host), ["host-b"], "host-a's warning is inhibited");
    const active = await getJson<{ alerts: ActiveAlert[] }>(agent, "/alerts/active");
    const cpuA = active.alerts.find((a) => a.rule === "cpu_high")!;
    const memA = active.alerts.find((a) => a.rule === "mem_high" && a.host === "host-a")!;
    assert.equal(memA.inhibited_by, cpuA.fingerprint);
    assert.equal(active.alerts[0].severity, "critical", "most severe first");
    assert.deepEqual(cpuA.receivers, ["hook"]);
    assert.equal(
      await promValue(agent, "eventops_alerts_firing", { rule: "mem_high", severity: "warning" }),
      2,
    );
    assert.equal(
      await promValue(agent, "eventops_alerts_firing", { rule: "cpu_high", severity: "critical" }),
      1,
    );

    // Acknowledge host-b's warning; unknown fingerprints are 404.
    const memB = active.alerts.find((a) => a.rule === "mem_high" && a.host === "host-b")!;
    const acked = await write(agent, "POST", `/alerts/${memB.fingerprint}/ack`, {
      by: "alice",
      comment: "on it",
    });
    assert.equal(acked.status, 200);
    assert.equal((await write(agent, "POST", "/alerts/0000000000000000/ack")).status, 404);
    const after = await getJson<{ alerts: ActiveAlert[] }>(agent, "/alerts/active");
    assert.equal(after.alerts.find((a) => a.fingerprint === memB.fingerprint)?.acked?.acked_by, "alice");

    // The source resolves: host-a's warning is notified with its group at the next flush.
    await produce(setup, [event("host-a", 50, "2025-10-21T10:01:00Z", "cpu_load")]);
    await until(() => {
      const latest = groups().filter((p) => p.groupKey === '{}:{alertname="mem_high"}').at(-1)!;
      return latest.alerts.some((a) => a.labels.host === "host-a") ? latest : undefined;
    }, "host-a's warning after the critical resolved");

    // /rules shows every field of each rule.
    const rules = await getJson<{ rules: Record<string, unknown>[] }>(agent, "/rules");
    const memRule = rules.rules.find((r) => r.name === "mem_high")!;
    assert.equal(memRule.for, "0s");
    assert.equal(memRule.clear, 70);
    assert.deepEqual(memRule.match, {});
    assert.equal(memRule.op, ">");
  } finally {
    await agent.stop();
    await receiver.close();
  }
});

Deno.test("a receiver that does not resolve or answers garbage is retried and counted; nothing crashes", async () => {
  const garbage = startGarbageServer();
  const setup = await notifySetup("notify-garbage", {
    route: {
      receiver: "garbage",
      group_wait: "0s",
      routes: [{ receiver: "nowhere", continue: true }, { receiver: "garbage" }],
    },
    receivers: [
      // "redpanda" is allowed by the sandbox (the compose service) and does not resolve here.
      { name: "nowhere", webhook_configs: [{ url: "http://redpanda/hook" }] },
      { name: "garbage", webhook_configs: [{ url: `http://127.0.0.1:${garbage.port}/hook` }] },
    ],
    delivery: FAST_DELIVERY,
  });
  const agent = await startNotifyAgent(setup);
  try {
    await produce(setup, [event("host-a", 85, "2025-10-21T10:00:00Z")]);
    await eventually(
      async () => {
        const nowhere = await promValue(agent, "eventops_notifications_retries_total", {
          receiver: "nowhere",
        });
        const bad = await promValue(agent, "eventops_notifications_retries_total", { receiver: "garbage" });
        return nowhere >= 2 && bad >= 2 && garbage.connections() >= 2 ? true : undefined;
      },
      30_000,
      "both receivers retried",
    );
    const rows = await notifications(agent);
    assert.equal(rows.length, 2);
    assert.match(rows.find((n) => n.receiver === "nowhere")!.last_error ?? "", /dns error|lookup/i);
    for (const row of rows) {
      assert.equal(row.status, "pending");
      assert.ok(row.last_error && row.last_error.length > 0, JSON.stringify(row));
      assert.ok(!row.last_error.includes("http://"), "no URL in errors");
    }
    assert.equal((await fetch(`${agent.baseUrl}/readyz`)).status, 200);
    assert.match(agent.logs(), /notification delivery failed; will retry/);
  } finally {
    await agent.stop();
    garbage.close();
  }
});

Deno.test("a notification not delivered within delivery.max_age is given up and recorded as failed", async () => {
  // A loopback port nothing listens on: every attempt is refused.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const setup = await notifySetup("notify-max-age", {
    route: { receiver: "gone", group_wait: "0s" },
    receivers: [{ name: "gone", webhook_configs: [{ url: `http://127.0.0.1:${port}/hook` }] }],
    delivery: { ...FAST_DELIVERY, max_age: "2s" },
  });
  const agent = await startNotifyAgent(setup);
  try {
    await produce(setup, [event("host-a", 85, "2025-10-21T10:00:00Z")]);
    const [row] = await eventually(
      async () => {
        const rows = await notifications(agent);
        return rows.length === 1 && rows[0].status === "failed" ? rows : undefined;
      },
      30_000,
      "the notification recorded as failed",
    );
    assert.match(row.last_error ?? "", /given up after \d+ attempts \(delivery\.max_age\)/);
    assert.ok(row.attempts >= 2, `retried before giving up: ${row.attempts} attempts`);
    assert.equal(await promValue(agent, "eventops_notifications_failed_total", { receiver: "gone" }), 1);
    // The queue gauges are set at most twice a second.
    await eventually(
      async () => await promValue(agent, "eventops_notifications_queue_depth") === 0,
      10_000,
      "an empty queue",
    );
    assert.match(agent.logs(), /notification not delivered; recorded as failed/);
  } finally {
    await agent.stop();
  }
});
