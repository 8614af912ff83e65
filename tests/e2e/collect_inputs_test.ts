/**
 * `inputs` through the real agent and broker: a topic of Influx line protocol (what Telegraf's
 * `outputs.kafka` writes with `data_format = "influx"`) is read by the stateless group; its lines are
 * stored once each under the input's tenant, a line that cannot be converted is dead-lettered with
 * the reason, and a restart stores nothing twice (ids are the input topic's positions).
 */
import assert from "node:assert/strict";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { stringify } from "yaml";
import { kcatConsumeAll, kcatProduceRaw } from "../../testing/kcat.ts";

type Point = { ts: string; value: number; tags: Record<string, string> };

async function points(base: string, metric: string, count: number): Promise<Point[]> {
  return await eventually(
    async () => {
      const body = await (await fetch(`${base}/metrics/${metric}?tenant=acme&host=pi-1`)).json();
      const found = (body.points as Point[] | undefined) ?? [];
      return found.length >= count ? found : undefined;
    },
    30_000,
    `${count} points of ${metric}`,
  );
}

Deno.test("inputs: an influx topic's lines are stored once each under the input's tenant, bad lines dead-lettered, across a restart", async () => {
  const name = uniqueName("inputs");
  const topic = `${name}.influx`;
  const { file, port, topics } = await writeTestConfig(name, {
    inputs: [{ topic, format: "influx", tenant: "acme", precision: "ms" }],
  });
  const t0 = Date.now() - 60_000;
  const encode = (text: string) => new TextEncoder().encode(text);
  // Created by the first message (the broker auto-creates topics), as a user's existing topic.
  await kcatProduceRaw(
    topic,
    encode(`mem,host=pi-1,site=lab used_percent=41.5 ${t0}\nmem,host=pi-1 used_percent=42.5 ${t0 + 1000}`),
  );
  await kcatProduceRaw(topic, encode(`mem,host=pi-1 used_percent="high" ${t0 + 2000}`));
  let agent = await startAgent(file, port);
  try {
    const first = await points(agent.baseUrl, "mem_used_percent", 2);
    assert.deepEqual(first.map((p) => p.value).sort(), [41.5, 42.5]);
    const dead = await eventually(
      async () => {
        const letters = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
        return letters.length > 0 ? letters : undefined;
      },
      30_000,
      "the dead letter of the string field",
    );
    assert.equal(dead.length, 1);
    assert.equal(dead[0].stage, "input");
    assert.equal(dead[0].source.topic, topic);
    assert.match(dead[0].reason, /line 1: field "used_percent" is a string/);

    assert.equal(await agent.stop(), 0);
    agent = await startAgent(file, port);
    await kcatProduceRaw(topic, encode(`mem,host=pi-1 used_percent=43.5 ${t0 + 3000}`));
    const after = await points(agent.baseUrl, "mem_used_percent", 3);
    assert.deepEqual(after.map((p) => p.value).sort(), [41.5, 42.5, 43.5], "each line stored exactly once");
    assert.equal((await kcatConsumeAll(topics.dlq)).length, 1, "the bad line dead-lettered once");
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});

Deno.test("inputs: a JSON topic of a foreign shape is stored by its mapping and alertable; a mapping error names the path in the DLQ", async () => {
  const name = uniqueName("inputs-json");
  const topic = `${name}.json`;
  const dir = `data/test/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const rulesFile = `${dir}/rules.yaml`;
  await Deno.writeTextFile(
    rulesFile,
    stringify({ rules: [{ name: "hot_board", metric: "temp", warning: 70 }] }),
  );
  const { file, port, topics } = await writeTestConfig(name, {
    rules: rulesFile,
    inputs: [{
      topic,
      format: "json",
      tenant: "acme",
      mapping: { host: "device.id", fields: "readings", time: "at", tags: { site: "device.site" } },
    }],
  });
  const at = new Date(Date.now() - 30_000).toISOString();
  const encode = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
  await kcatProduceRaw(
    topic,
    encode({ device: { id: "pi-1", site: "lab" }, at, readings: { temp: 81.5, fan: 3 } }),
  );
  await kcatProduceRaw(topic, encode({ device: {}, at, readings: { temp: 20 } }));
  const agent = await startAgent(file, port);
  try {
    const temp = await points(agent.baseUrl, "temp", 1);
    assert.deepEqual(temp.map((p) => [p.value, p.tags]), [[81.5, { site: "lab" }]]);
    assert.deepEqual((await points(agent.baseUrl, "fan", 1)).map((p) => p.value), [3]);
    const alert = await eventually(
      async () => {
        const alerts = (await kcatConsumeAll(topics.alerts)).map((text) => JSON.parse(text));
        return alerts.find((a) => a.rule === "hot_board" && a.host === "pi-1" && a.state === "firing");
      },
      30_000,
      "the hot_board alert",
    );
    assert.equal(alert.tenant, "acme");
    const dead = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
    assert.deepEqual(dead.map((d) => [d.stage, d.reason]), [
      ["input", "message: host at device.id: expected a non-empty string, found nothing"],
    ]);
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});

Deno.test("inputs: an inputs topic the broker does not have stops the start with a message naming it", async () => {
  const name = uniqueName("inputs-missing");
  const topic = `${name}.influx`;
  const { file, port } = await writeTestConfig(name, {
    inputs: [{ topic, format: "influx", tenant: "acme" }],
  });
  await assert.rejects(
    () => startAgent(file, port),
    (error: Error) =>
      error.message.includes(`inputs: topic ${topic} does not exist on the broker; create it`),
  );
});
