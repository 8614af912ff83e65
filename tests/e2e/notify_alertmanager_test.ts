/**
 * A real Alertmanager (v0.28.1, built from the Go module proxy by scripts/install-alertmanager.sh)
 * receives the seed's warning, then its critical, then the resolution, as Prometheus would push
 * them: visible through Alertmanager's own API, and in the notifications Alertmanager itself sends
 * (to a test receiver) — whose payload is the one our webhooks mimic, key for key.
 */
import assert from "node:assert/strict";
import { SEED_EVENTS } from "../../cli/seed_events.ts";
import { eventually } from "../../testing/agent.ts";
import { amtool, startAlertmanager } from "../../testing/alertmanager.ts";
import { startReceiver } from "../../testing/receiver.ts";
import {
  assertPayload,
  event,
  notifySetup,
  type Payload,
  produce,
  startNotifyAgent,
  until,
} from "./notify_helpers.ts";

interface AmAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  status: { state: string };
}

Deno.test("a real Alertmanager gets the seed's warning, then critical, then resolved", async () => {
  const amReceiver = startReceiver();
  const hook = startReceiver();
  const setup = await notifySetup("notify-am", {
    route: { receiver: "placeholder" },
    receivers: [{ name: "placeholder" }],
  });
  const am = await startAlertmanager(setup.dir, {
    route: {
      receiver: "rec",
      group_by: ["alertname"],
      group_wait: "1s",
      group_interval: "1s",
      repeat_interval: "1h",
    },
    receivers: [{
      name: "rec",
      webhook_configs: [{ url: `${amReceiver.url}/from-alertmanager`, send_resolved: true }],
    }],
  });
  // Alertmanager for the alerts, and our own webhook beside it (continue) to compare payloads.
  await Deno.writeTextFile(
    setup.notifyFile,
    JSON.stringify({
      route: {
        receiver: "am",
        group_by: ["alertname"],
        group_wait: "0s",
        group_interval: "1s",
        routes: [{ receiver: "am", continue: true }, { receiver: "hook" }],
      },
      receivers: [
        { name: "am", alertmanager_configs: [{ url: am.url, resend_interval: "1m" }] },
        { name: "hook", webhook_configs: [{ url: `${hook.url}/hook` }] },
      ],
    }),
  );
  const agent = await startNotifyAgent(setup);
  const activeInAm = async (): Promise<AmAlert[]> => {
    const response = await fetch(`${am.url}/api/v2/alerts?filter=alertname%3D%22cpu_high%22`);
    assert.equal(response.status, 200);
    return await response.json() as AmAlert[];
  };
  try {
    // The seed's two events, as `eventops seed` sends them, one after the other.
    const [warning, critical] = SEED_EVENTS;
    await produce(setup, [warning]);
    const firstSeen = await eventually(
      async () => {
        const alerts = await activeInAm();
        return alerts.length === 1 && alerts[0].labels.severity === "warning" ? alerts[0] : undefined;
      },
      30_000,
      "the warning in Alertmanager",
    );
    assert.equal(firstSeen.status.state, "active");
    assert.equal(firstSeen.labels.tenant, "acme");
    assert.equal(firstSeen.labels.host, "host-a");
    assert.equal(firstSeen.startsAt, "2025-10-21T10:00:00.000Z");
    assert.ok(Date.parse(firstSeen.endsAt) > Date.now() + 3 * 60_000, "ends 4 resend intervals ahead");
    assert.match(firstSeen.annotations.summary, /85%/);

    await produce(setup, [critical]);
    await eventually(
      async () => {
        const alerts = await activeInAm();
        return alerts.length === 1 && alerts[0].labels.severity === "critical" ? true : undefined;
      },
      30_000,
      "only the critical active in Alertmanager (the warning ended)",
    );
    await until(() => hook.accepted().length >= 2 ? true : undefined, "our webhook's critical");

    await produce(setup, [event("host-a", 50, "2025-10-21T10:10:00Z")]);
    await eventually(
      async () => (await activeInAm()).length === 0 ? true : undefined,
      30_000,
      "resolved in Alertmanager",
    );

    // Alertmanager's own notifications: firing then resolved, for the severities it saw.
    const fromAm = await until(() => {
      const payloads = amReceiver.accepted().map((r) => r.json as Payload);
      return payloads.some((p) => p.status === "resolved" && p.alerts.every((a) => a.status === "resolved"))
        ? payloads
        : undefined;
    }, "Alertmanager's resolved notification");
    assert.ok(
      fromAm.some((p) => p.alerts.some((a) => a.labels.severity === "warning" && a.status === "firing")),
    );
    // Our webhook payload has exactly Alertmanager's keys, in its order (assertPayload checks both
    // against the same lists): the real thing validates the lists.
    for (const payload of fromAm) assertPayload(payload);
    await until(() => hook.accepted().length >= 3 ? true : undefined, "our webhook's three");
    const ours = hook.accepted().map((r) => assertPayload(r.json));
    assert.deepEqual(ours.map((p) => `${p.status}:${p.alerts[0].labels.severity}`), [
      "firing:warning",
      "firing:critical",
      "resolved:critical",
    ]);
    assert.deepEqual(
      Object.keys(ours[0].alerts[0].labels).sort(),
      Object.keys(fromAm[0].alerts[0].labels).sort(),
    );

    // amtool, Alertmanager's CLI, manages the agent's silences through Alertmanager's paths.
    const added = await amtool(
      agent.baseUrl,
      ["silence", "add", "host=host-z", "--comment=amtool test", "--duration=1h"],
      "test-token",
    );
    assert.equal(added.code, 0, added.stderr);
    const id = added.stdout.trim();
    const listed = await amtool(agent.baseUrl, ["silence", "query", "host=host-z"]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, new RegExp(`${id}\\s+host="host-z"`));
    const expired = await amtool(agent.baseUrl, ["silence", "expire", id], "test-token");
    assert.equal(expired.code, 0, expired.stderr);
    const after = await (await fetch(`${agent.baseUrl}/silences/${id}`)).json();
    assert.equal(after.status.state, "expired");
    const refused = await amtool(agent.baseUrl, ["silence", "add", "host=host-z", "--comment=no token"]);
    assert.notEqual(refused.code, 0, "writes need the token");
  } catch (error) {
    console.error(agent.logs().split("\n").filter((l) => /notif|alertmanager|error/i.test(l)).join("\n"));
    console.error(am.logs());
    console.error(await (await fetch(`${am.url}/api/v2/alerts`)).text());
    console.error(await (await fetch(`${agent.baseUrl}/notifications`)).text());
    console.error(await (await fetch(`${agent.baseUrl}/alerts`)).text());
    throw error;
  } finally {
    await agent.stop();
    await am.stop();
    await amReceiver.close();
    await hook.close();
  }
});
