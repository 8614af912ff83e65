/** The metric families' one declaration: valid, registered by key, and the README's list made from it. */
import assert from "node:assert/strict";
import { MemoryCounters, PIPELINE_COUNTERS } from "../../../telemetry/counters.ts";
import { withMetricFamilies } from "../../../telemetry/doc.ts";
import { FAMILIES, type FamilyKey, registerFamily } from "../../../telemetry/families.ts";
import { Registry } from "../../../telemetry/registry.ts";
import { denoFmt } from "../../../testing/deno_fmt.ts";

const ROOT = new URL("../../../", import.meta.url).pathname;

Deno.test("families: every declared family registers under its name, type and labels", () => {
  const registry = new Registry();
  const names = new Set<string>();
  for (const key of Object.keys(FAMILIES) as FamilyKey[]) {
    const family = registerFamily(registry, key);
    assert.equal(family.name, FAMILIES[key].name);
    assert.equal(family.type, FAMILIES[key].type);
    assert.ok(!names.has(family.name), `${family.name} declared twice`);
    names.add(family.name);
    assert.equal(registerFamily(registry, key), family, "registering again finds the same family");
  }
  assert.equal(registry.render().match(/^# TYPE /gm)?.length, names.size);
});

Deno.test("counters: each declared stage and kind is one series of eventops_pipeline_events_total", () => {
  const registry = new Registry();
  const counters = new MemoryCounters(registry);
  for (const [stage, kinds] of Object.entries(PIPELINE_COUNTERS)) {
    for (const kind of kinds) counters.add(stage as "normalize", kind as "in", 1);
  }
  const series = registry.render().split("\n").filter((line) =>
    line.startsWith("eventops_pipeline_events_total{")
  );
  assert.equal(series.length, Object.values(PIPELINE_COUNTERS).flat().length);
  assert.ok(
    series.includes('eventops_pipeline_events_total{stage="normalize",kind="in"} 1'),
    series.join("\n"),
  );
  assert.equal(counters.snapshot()["produce.dlq"], 1);
});

Deno.test("README: the list of metric families is the one generated from telemetry/ (deno task docs:metrics)", async () => {
  const readme = await Deno.readTextFile(`${ROOT}README.md`);
  assert.equal(
    readme,
    await denoFmt(withMetricFamilies(readme), "md"),
    "README.md is stale: run deno task docs:metrics",
  );
});

Deno.test("families: the agent registers families only through their declaration (no counter, gauge or histogram defined elsewhere)", async () => {
  const output = await new Deno.Command("git", { args: ["ls-files", "*.ts"], cwd: ROOT }).output();
  const production = new TextDecoder().decode(output.stdout).split("\n").filter((path) =>
    /^(agent|api|cli|config|enriched|kafka|lib|model|pipeline|stages|store)\//.test(path) ||
    path === "main.ts"
  );
  assert.ok(production.length > 100, `${production.length} modules`);
  const defining: string[] = [];
  for (const path of production) {
    const text = await Deno.readTextFile(`${ROOT}${path}`);
    if (/\.(counter|gauge|histogram)\(\s*\{/.test(text)) defining.push(path);
  }
  assert.deepEqual(defining, [], "declare the family in telemetry/families.ts and register it by key");
});
