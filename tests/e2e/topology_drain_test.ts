/**
 * Changing topology loses nothing (issue 21): events a partitioned run left in `events.enriched`
 * that the stateful group had not stored are stored when the agent restarts `local` (or `auto`,
 * alone): the local topology reads only the raw topic, whose committed positions are already past
 * them, so it drains `events.enriched` with the stateful group first.
 */
import assert from "node:assert/strict";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatProduce } from "../../testing/kcat.ts";

function raw(host: string, minute: number): string {
  return JSON.stringify({
    tenant_id: "acme",
    host,
    metric: "cpu_load",
    value: minute,
    ts_event: new Date(Date.UTC(2025, 9, 21, 10, minute, 0)).toISOString(),
    unit: "percent",
  });
}

/** Events normalize took in, from the agent's Prometheus endpoint. */
async function normalizedIn(baseUrl: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/prometheus`)).text();
  const line = text.split("\n").find((candidate) =>
    candidate.startsWith("eventops_pipeline_events_total{") && candidate.includes('stage="normalize"') &&
    candidate.includes('kind="in"')
  );
  return line ? Number(line.split(" ").at(-1)) : 0;
}

/** The stored points of `host`, once there are at least `count`. */
async function storedCount(baseUrl: string, host: string, count: number): Promise<number> {
  return await eventually(
    async () => {
      const response = await fetch(`${baseUrl}/metrics/cpu_load?tenant=acme&host=${host}&limit=1000`);
      const body = await response.json() as { count: number };
      return body.count >= count ? body.count : undefined;
    },
    60_000,
    `${count} stored points of ${host}`,
  );
}

for (const topology of ["local", "auto"] as const) {
  Deno.test(`partitioned, then ${topology}: what events.enriched held is stored once, then local runs`, async () => {
    const name = uniqueName(`drain-${topology}`);
    const { file, port, topics } = await writeTestConfig(name, {
      topology: "partitioned",
      stateless_thread: false,
    });
    const events = Array.from({ length: 40 }, (_, minute) => raw("host-d", minute));
    // A partitioned agent running only normalize and enrich (and the API): the events reach
    // events.enriched, the stateful group never sees them.
    let agent = await startAgent(file, port, ["--stages", "normalize,enrich,api"]);
    try {
      await kcatProduce(topics.raw, events, "host-d");
      await eventually(
        async () => (await normalizedIn(agent.baseUrl)) >= events.length ? true : undefined,
        30_000,
        "the stateless group to take the 40 events",
      );
      const before = await fetch(`${agent.baseUrl}/metrics/cpu_load?tenant=acme&host=host-d`);
      const body = await before.json() as { count?: number };
      assert.ok(before.status === 404 || body.count === 0, `nothing stored yet: ${JSON.stringify(body)}`);
    } finally {
      assert.equal(await agent.stop(), 0);
    }
    agent = await startAgent(file, port, ["--topology", topology]);
    try {
      assert.equal(await storedCount(agent.baseUrl, "host-d", events.length), events.length);
      assert.match(agent.logs(), /events\.enriched holds events not stored yet/);
      assert.match(agent.logs(), /events\.enriched drained/);
      assert.match(agent.logs(), /"running":"local"/);
      // Then the local topology takes the raw topic from where the partitioned run left it.
      await kcatProduce(topics.raw, [raw("host-d", 50)], "host-d");
      assert.equal(await storedCount(agent.baseUrl, "host-d", events.length + 1), events.length + 1);
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });
}
