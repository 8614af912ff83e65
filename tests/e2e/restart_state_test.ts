/**
 * A restart changes no decision (issue 18, item 5; both topologies): the stateful stages rebuild each series'
 * lateness watermark, feature windows and rule state from the store at start, so an event an hour
 * older than its series' newest is ignored as late after a restart, as it is without one.
 */
import assert from "node:assert/strict";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce } from "../../testing/kcat.ts";

function raw(host: string, value: number, hour: number, minute = 0): string {
  return JSON.stringify({
    tenant_id: "acme",
    host,
    metric: "cpu_load",
    value,
    ts_event: new Date(Date.UTC(2025, 9, 21, hour, minute, 0)).toISOString(),
    unit: "percent",
  });
}

type AlertRecord = { host: string; severity: string; state: string; value: number };

/** `severity/state@value` of the alerts of `host` on the topic, once `last` is among them. */
async function alertsOf(topic: string, host: string, last: string): Promise<string[]> {
  return await eventually(
    async () => {
      const found = (await kcatConsumeAll(topic)).map((text) => JSON.parse(text) as AlertRecord)
        .filter((alert) => alert.host === host).map((a) => `${a.severity}/${a.state}@${a.value}`);
      return found.includes(last) ? found : undefined;
    },
    30_000,
    `alert ${last} of ${host}`,
  );
}

/** Waits until the store holds `count` events of `host`. */
async function stored(baseUrl: string, host: string, count: number): Promise<void> {
  await eventually(
    async () => {
      const response = await fetch(`${baseUrl}/metrics/cpu_load?tenant=acme&host=${host}`);
      const body = await response.json() as { count: number };
      return body.count >= count ? true : undefined;
    },
    30_000,
    `${count} stored events of ${host}`,
  );
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`a restart changes no decision: an event 1 h older than its series' newest stays late (topology ${topology})`, async () => {
    const name = uniqueName(`restart-state-${topology}`);
    const { file, port, topics } = await writeTestConfig(name, { topology });
    // Without a restart: 50 at 10:00 and 11:00, then 99 at 10:00 (late: ignored), then 85 at 11:01.
    let agent = await startAgent(file, port);
    try {
      await kcatProduce(topics.raw, [raw("host-c", 50, 10), raw("host-c", 50, 11)], "host-c");
      await kcatProduce(topics.raw, [raw("host-c", 99, 10), raw("host-c", 85, 11, 1)], "host-c");
      // The same sequence with a restart before the late event.
      await kcatProduce(topics.raw, [raw("host-a", 50, 10), raw("host-a", 50, 11)], "host-a");
      await stored(agent.baseUrl, "host-a", 2);
      assert.deepEqual(await alertsOf(topics.alerts, "host-c", "warning/firing@85"), ["warning/firing@85"]);
    } finally {
      assert.equal(await agent.stop(), 0);
    }
    agent = await startAgent(file, port);
    try {
      await kcatProduce(topics.raw, [raw("host-a", 99, 10), raw("host-a", 85, 11, 1)], "host-a");
      assert.deepEqual(
        await alertsOf(topics.alerts, "host-a", "warning/firing@85"),
        ["warning/firing@85"],
        "the late 99 is ignored after the restart too (it fired a critical alert before the rebuild)",
      );
      assert.match(agent.logs(), /rebuilt series state from the store/);
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });
}
