/**
 * The query API's filters and groups through the real broker (issue 18, item 7): `tag.<key>` and
 * `ctx.<key>` filters on `GET /metrics/{metric}`, `group_by` host, tag or inventory context with
 * `step` buckets, and the percentiles p50/p90/p99; bad filters answer a JSON 400 saying what to fix.
 */
import assert from "node:assert/strict";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatProduce } from "../../testing/kcat.ts";

type Row = { ts: string; value: number; tenant: string; host?: string; group?: string | null };

function raw(host: string, env: string, value: number, minute: number): string {
  return JSON.stringify({
    tenant_id: "acme",
    host,
    metric: "cpu_load",
    value,
    ts_event: new Date(Date.UTC(2025, 9, 21, 10, minute, 0)).toISOString(),
    unit: "percent",
    tags: { env },
  });
}

Deno.test("GET /metrics/{metric}: tag and ctx filters, group_by host/tag/ctx with step, p50/p90/p99", async () => {
  const name = uniqueName("filters");
  const dir = `data/test/${name}`;
  const { file, port, topics } = await writeTestConfig(name, { inventory: `${dir}/inventory.yaml` });
  await Deno.writeTextFile(
    `${dir}/inventory.yaml`,
    "hosts:\n  - { tenant: acme, host: h1, site: plant-1 }\n  - { tenant: acme, host: h2, site: plant-1 }\n" +
      "  - { tenant: acme, host: h3, site: plant-2 }\n",
  );
  const agent = await startAgent(file, port);
  try {
    const lines: string[] = [];
    for (let minute = 0; minute < 10; minute++) {
      lines.push(raw("h1", "prod", 10 + minute, minute)); // 10..19
      lines.push(raw("h2", "dev", 20 + minute, minute)); // 20..29
      lines.push(raw("h3", "prod", 30 + minute, minute)); // 30..39
    }
    await kcatProduce(topics.raw, lines, "acme");
    const get = async (query: string) => {
      const response = await fetch(`${agent.baseUrl}/metrics/cpu_load?${query}`);
      return { status: response.status, body: await response.json() };
    };
    await eventually(async () => (await get("")).body.count === 30 ? true : undefined, 30_000, "30 stored");

    const prodPlant1 = await get("tag.env=prod&ctx.site=plant-1");
    assert.equal(prodPlant1.status, 200);
    assert.deepEqual(
      (prodPlant1.body.points as Row[]).map((p) => [p.host, p.value]),
      [...Array(10).keys()].map((m) => ["h1", 10 + m]),
    );
    assert.deepEqual(prodPlant1.body.filters, { "tag.env": "prod", "ctx.site": "plant-1" });

    const bySite = await get("group_by=ctx.site&step=1h&agg=p50");
    assert.equal(bySite.status, 200);
    // plant-1: h1 and h2, 10..29 -> nearest-rank median 19; plant-2: 30..39 -> 34.
    assert.deepEqual((bySite.body.points as Row[]).map((p) => [p.ts, p.group, p.value]), [
      ["2025-10-21T10:00:00.000Z", "plant-1", 19],
      ["2025-10-21T10:00:00.000Z", "plant-2", 34],
    ]);
    assert.equal(bySite.body.group_by, "ctx.site");

    const byEnv = await get("group_by=tag.env&step=5m&agg=p90&ctx.site=plant-1");
    assert.deepEqual((byEnv.body.points as Row[]).map((p) => [p.ts.slice(11, 16), p.group, p.value]), [
      ["10:00", "dev", 24],
      ["10:00", "prod", 14],
      ["10:05", "dev", 29],
      ["10:05", "prod", 19],
    ]);
    const byHost = await get("group_by=host&agg=p99&tag.env=prod");
    assert.deepEqual((byHost.body.points as Row[]).map((p) => [p.host, p.value]), [["h1", 19], ["h3", 39]]);

    const csv = await fetch(`${agent.baseUrl}/metrics/cpu_load?group_by=ctx.site&step=1h&format=csv`);
    assert.equal((await csv.text()).split("\r\n")[0], "ts,tenant,ctx.site,metric,agg,value");

    for (
      const [query, message] of [
        ["tag.=prod", /"tag\." is not a filter: write tag\.<key>=value or ctx\.<key>=value/],
        ["ctx.site=", /ctx\.site must be 1 to 256 characters/],
        ["group_by=tenant", /group_by must be host, tag\.<key> or ctx\.<key>/],
        ["agg=p42", /agg/],
        ["tags.env=prod", /unknown parameter "tags\.env"/],
      ] as const
    ) {
      const { status, body } = await get(query);
      assert.equal(status, 400, query);
      assert.match(body.error.message, message, query);
    }

    const openapi = await (await fetch(`${agent.baseUrl}/openapi.json`)).json();
    const params = openapi.paths["/metrics/{metric}"].get.parameters as { name: string; schema: unknown }[];
    assert.ok(params.some((p) => p.name === "group_by"));
    assert.deepEqual(params.find((p) => p.name === "filters")?.schema, {
      type: "object",
      maxProperties: 8,
      propertyNames: { pattern: "^(tag|ctx)\\.[A-Za-z0-9_][A-Za-z0-9_.:/-]{0,63}$" },
      additionalProperties: { type: "string", minLength: 1, maxLength: 256 },
    });
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});
