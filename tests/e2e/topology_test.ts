/**
 * `topology: auto` through the real broker: one agent runs local (nothing on the enriched topic),
 * then a second agent joins the groups and both switch to partitioned: every event is stored
 * exactly once across the two, each host alerts once (no series' state split between two agents in
 * local), and the enriched topic carries the events from then on. `topology: local` with a second
 * agent refuses batches instead (it never processes a part of the raw topic).
 */
import assert from "node:assert/strict";
import { BROKERS, eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce } from "../../testing/kcat.ts";

function raw(host: string, value: number, minute: number): string {
  const ts = new Date(Date.UTC(2025, 9, 21, 10, minute, 0)).toISOString();
  return JSON.stringify({
    tenant_id: "acme",
    host,
    metric: "cpu_load",
    value,
    ts_event: ts,
    unit: "percent",
  });
}

/** Rows stored per host by each agent (`GET /metrics`). */
async function rowsByHost(baseUrls: string[]): Promise<Map<string, number>[]> {
  return await Promise.all(baseUrls.map(async (baseUrl) => {
    // Each agent's own store (X-EventOps-Forwarded: no fan-out over the other agent).
    const catalog = await (await fetch(`${baseUrl}/metrics`, { headers: { "X-EventOps-Forwarded": "1" } }))
      .json();
    return new Map(
      (catalog.series as { host: string; rows: number }[]).map((series) => [series.host, series.rows]),
    );
  }));
}

/** What `/status` says of the consumers: topic and partitions. */
async function consumersOf(baseUrl: string): Promise<{ topic: string; partitions: number[] | null }[]> {
  return (await (await fetch(`${baseUrl}/status`)).json()).consumers;
}

/** The second agent's config: same topics and groups, its own store and client id. */
async function secondConfig(name: string, topics: Record<string, string>, topology: string) {
  return await writeTestConfig(`${name}-b`, {
    data_dir: `data/test/${name}/b`,
    topology,
    topics,
    kafka: {
      brokers: [BROKERS],
      client_id: `${name}-b`,
      group_stateless: `${name}-stateless`,
      group_stateful: `${name}-stateful`,
      batch_max_wait: "50ms",
      session_timeout: "10s",
    },
  });
}

Deno.test("topology auto: local while alone, partitioned for both once a second agent joins; exactly once", async () => {
  const name = uniqueName("auto");
  const first = await writeTestConfig(name, { topology: "auto", data_dir: `data/test/${name}/a` });
  const hosts = Array.from({ length: 24 }, (_, index) => `node-${index}`);
  const a = await startAgent(first.file, first.port);
  let b: Awaited<ReturnType<typeof startAgent>> | undefined;
  try {
    // Alone: local. The first half of every host's events is stored, none went through the enriched topic.
    for (const host of hosts) {
      await kcatProduce(
        first.topics.raw,
        Array.from({ length: 25 }, (_, minute) => raw(host, 20, minute)),
        host,
      );
    }
    await eventually(
      async () => {
        const [rows] = await rowsByHost([a.baseUrl]);
        return hosts.every((host) => rows.get(host) === 25) ? true : undefined;
      },
      60_000,
      "the first half stored by the first agent",
    );
    assert.deepEqual(await kcatConsumeAll(first.topics.enriched), [], "local: no enriched round trip");
    assert.deepEqual((await consumersOf(a.baseUrl)).map((consumer) => consumer.topic), [first.topics.raw]);

    // A second agent joins: both end up partitioned, each owning a part of the raw and enriched topics.
    const second = await secondConfig(name, first.topics, "auto");
    b = await startAgent(second.file, second.port);
    const agents = [a, b];
    await eventually(
      async () => {
        const all = await Promise.all(agents.map((agent) => consumersOf(agent.baseUrl)));
        return [first.topics.raw, first.topics.enriched].every((topic) => {
          const owned = all.map((consumers) =>
            consumers.find((consumer) => consumer.topic === topic)?.partitions ?? []
          );
          return owned.every((partitions) => partitions.length > 0) &&
            !owned[0].some((partition) => owned[1].includes(partition));
        });
      },
      60_000,
      "both agents partitioned, the groups' partitions split",
    );
    assert.match(a.logs(), /switching to partitioned/);
    assert.match(b.logs(), /switching to partitioned/);

    // The second half: minute 30 is critical for every host.
    for (const host of hosts) {
      const events = Array.from({ length: 25 }, (_, index) => raw(host, index === 5 ? 99 : 20, 25 + index));
      await kcatProduce(first.topics.raw, events, host);
    }
    const rows = await eventually(
      async () => {
        const both = await rowsByHost(agents.map((agent) => agent.baseUrl));
        const total = both.flatMap((perAgent) => [...perAgent.values()]).reduce((sum, n) => sum + n, 0);
        return total >= hosts.length * 50 ? both : undefined;
      },
      60_000,
      "every event stored",
    );
    for (const host of hosts) {
      const stored = (rows[0].get(host) ?? 0) + (rows[1].get(host) ?? 0);
      assert.equal(stored, 50, `${host}: no lost or repeated event`);
    }
    assert.ok((await kcatConsumeAll(first.topics.enriched)).length > 0, "partitioned: the enriched hop");
    const alerts = (await kcatConsumeAll(first.topics.alerts)).map((text) => JSON.parse(text));
    const firing = alerts.filter((alert) => alert.state === "firing" && alert.severity === "critical");
    assert.equal(firing.length, hosts.length, "one critical per host, no duplicate alert");
  } finally {
    assert.deepEqual(await Promise.all([a.stop(), b?.stop() ?? 0]), [0, 0]);
  }
});

Deno.test("topology local refuses batches while a second agent shares the raw topic, and says why", async () => {
  const name = uniqueName("local2");
  const first = await writeTestConfig(name, { topology: "local", data_dir: `data/test/${name}/a` });
  const second = await secondConfig(name, first.topics, "local");
  const a = await startAgent(first.file, first.port);
  const b = await startAgent(second.file, second.port);
  try {
    await eventually(
      async () => {
        const all = await Promise.all([a, b].map((agent) => consumersOf(agent.baseUrl)));
        return all.every((consumers) => (consumers[0]?.partitions ?? []).length > 0) ? true : undefined;
      },
      60_000,
      "both agents own raw partitions",
    );
    for (let index = 0; index < 12; index++) {
      await kcatProduce(first.topics.raw, [raw(`node-${index}`, 20, 0)], `node-${index}`);
    }
    await eventually(
      () => /another agent shares the raw topic's group/.test(a.logs() + b.logs()) ? true : undefined,
      30_000,
      "the refusal logged",
    );
    await eventually(
      () => /topology local needs every partition/.test(a.logs() + b.logs()) ? true : undefined,
      30_000,
      "a batch refused with the reason",
    );
    const rows = await rowsByHost([a.baseUrl, b.baseUrl]);
    assert.equal(rows[0].size + rows[1].size, 0, "nothing stored from a part of the raw topic");
  } finally {
    await b.stop();
  }
  // Alone again, the first agent owns the topic and stores every event once.
  try {
    await eventually(
      async () => {
        const [rows] = await rowsByHost([a.baseUrl]);
        return rows.size === 12 && [...rows.values()].every((n) => n === 1) ? true : undefined;
      },
      60_000,
      "every event stored once after the second agent left",
    );
  } finally {
    assert.equal(await a.stop(), 0);
  }
});
