/**
 * Rules and stored units through the real agent and broker: `mem` sent as percent by one source and
 * as GB by another becomes `mem_used` in two units; a rule on it without a unit is refused by a
 * reload (the previous rules kept), by `eventops check` and at start; with `unit: percent` it loads,
 * and only the percent readings are tested.
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { eventually, runEventops, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatProduce } from "../../testing/kcat.ts";

const CPU_ONLY = { rules: [{ name: "cpu_high", metric: "cpu_load", warning: 80 }] };
const MEM_NO_UNIT = { rules: [{ name: "mem_high", metric: "mem_used", warning: 80 }] };
const MEM_PERCENT = { rules: [{ name: "mem_high", metric: "mem_used", warning: 80, unit: "percent" }] };

function mem(value: number, unit: string, ts: string): string {
  return JSON.stringify({ tenant_id: "acme", host: "host-a", metric: "mem", value, unit, ts_event: ts });
}

Deno.test("a rule on a metric stored in two units is refused until it states its unit; then only that unit is tested", async () => {
  const name = uniqueName("rule-units");
  const dir = `data/test/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const rulesFile = `${dir}/rules.yaml`;
  await Deno.writeTextFile(rulesFile, stringify(CPU_ONLY));
  const { file, port, topics } = await writeTestConfig(name, { rules: rulesFile });
  const agent = await startAgent(file, port);
  try {
    await kcatProduce(topics.raw, [
      mem(45, "percent", "2025-10-21T10:00:00Z"),
      mem(3.2, "GB", "2025-10-21T10:00:01Z"),
    ], "u");
    await eventually(
      async () => {
        const rows = await (await fetch(`${agent.baseUrl}/metrics/mem_used`)).json();
        return rows.points?.length === 2 ? true : undefined;
      },
      30_000,
      "both mem readings stored",
    );

    // A reload with a rule that cannot be compared in one unit is refused; the previous rules stay.
    await Deno.writeTextFile(rulesFile, stringify(MEM_NO_UNIT));
    await eventually(
      () =>
        Promise.resolve(/reload failed; keeping the previous version/.test(agent.logs()) ? true : undefined),
      30_000,
      "the reload refused",
    );
    assert.match(agent.logs(), /rule mem_high: mem_used is stored in 2 units \(bytes, percent\)/);
    const rules = await (await fetch(`${agent.baseUrl}/rules`)).json();
    assert.deepEqual(rules.rules.map((r: { name: string }) => r.name), ["cpu_high"]);
    // `eventops check` says the same (through the running agent's read-only query).
    const check = await runEventops(["check", "--config", file]);
    assert.equal(check.code, 2, check.stdout);
    assert.match(check.stderr, /rule mem_high: mem_used is stored in 2 units/);

    // With its unit it loads; a GB reading over 80 is not compared, a percent one is.
    await Deno.writeTextFile(rulesFile, stringify(MEM_PERCENT));
    await eventually(
      async () => {
        const body = await (await fetch(`${agent.baseUrl}/rules`)).json();
        return body.rules[0]?.name === "mem_high" ? body.rules[0] : undefined;
      },
      30_000,
      "the rules with a unit loaded",
    );
    await kcatProduce(topics.raw, [
      mem(90, "GB", "2025-10-21T10:01:00Z"),
      mem(85, "percent", "2025-10-21T10:01:01Z"),
    ], "u");
    const alerts = await eventually(
      async () => {
        const body = await (await fetch(`${agent.baseUrl}/alerts`)).json();
        return body.count >= 1 ? body.alerts : undefined;
      },
      30_000,
      "the percent reading's alert",
    );
    assert.equal(alerts.length, 1, "the GB reading (processed first) gave none");
    assert.equal(alerts[0].value, 85);
    assert.equal((await runEventops(["check", "--config", file])).code, 0);
  } finally {
    assert.equal(await agent.stop(), 0);
  }

  // At start, the same rule without a unit stops the agent with the reason.
  await Deno.writeTextFile(rulesFile, stringify(MEM_NO_UNIT));
  const refused = await runEventops(["run", "--config", file]);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /rule mem_high: mem_used is stored in 2 units/);
});
