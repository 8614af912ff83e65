/**
 * The device's own metrics (`collect.host`) through the real agent and broker: with it on, the
 * machine's CPU, memory and disk are queryable within an interval or two, under the configured tenant
 * and host, and a rule on them fires (off by default: tests/unit/sources/device_test.ts).
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";

type Point = { value: number; unit: string; tags: Record<string, string> };

const HOST = "device-e2e";

async function points(base: string, metric: string): Promise<Point[]> {
  return await eventually(
    async () => {
      const body = await (await fetch(`${base}/metrics/${metric}?tenant=local&host=${HOST}`)).json();
      return (body.points as Point[] | undefined)?.length ? body.points as Point[] : undefined;
    },
    30_000,
    `${metric} of ${HOST}`,
  );
}

Deno.test("collect.host: the machine's cpu, memory and disk are stored as events of its tenant and host, and a rule on them fires", async () => {
  const name = uniqueName("device");
  const dir = `data/test/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const rulesFile = `${dir}/rules.yaml`;
  // Any machine running this test uses some memory: the rule fires on the first sample.
  await Deno.writeTextFile(
    rulesFile,
    stringify({ rules: [{ name: "device_memory", metric: "mem_used", unit: "percent", warning: 0.001 }] }),
  );
  const { file, port, topics } = await writeTestConfig(name, {
    rules: rulesFile,
    collect: { host: { enabled: true, interval: "1s", host: HOST } },
  });
  const agent = await startAgent(file, port);
  try {
    const cpu = await points(agent.baseUrl, "cpu_load");
    assert.ok(cpu.every((p) => p.unit === "percent" && p.value >= 0 && p.value <= 100), JSON.stringify(cpu));
    assert.deepEqual(cpu[0].tags, { source: "device" });
    const memory = await points(agent.baseUrl, "mem_used");
    assert.ok(
      memory.every((p) => p.unit === "percent" && p.value > 0 && p.value < 100),
      JSON.stringify(memory),
    );
    const available = await points(agent.baseUrl, "mem_available");
    assert.ok(available[0].value > 1_000_000 && available[0].unit === "bytes");
    const disk = await points(agent.baseUrl, "disk_free");
    assert.ok(disk[0].value > 0 && disk[0].unit === "bytes");
    const rss = await points(agent.baseUrl, "agent_rss");
    assert.ok(rss[0].value > 10_000_000, `agent_rss ${rss[0].value}`);

    const alert = await eventually(
      async () => {
        const alerts = (await kcatConsumeAll(topics.alerts)).map((text) => JSON.parse(text));
        return alerts.find((a) => a.rule === "device_memory" && a.host === HOST && a.state === "firing");
      },
      30_000,
      "the device_memory alert",
    );
    assert.equal(alert.tenant, "local");
    assert.equal(alert.severity, "warning");
    const status = await (await fetch(`${agent.baseUrl}/prometheus`)).text();
    const produced = Number(
      /eventops_pipeline_events_total\{stage="device",kind="out"\} (\d+)/.exec(status)?.[1],
    );
    assert.ok(produced >= 5, `device events produced: ${produced}`);
    const dead = await kcatConsumeAll(topics.dlq);
    assert.deepEqual(dead, [], "no device event is dead-lettered");
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});
