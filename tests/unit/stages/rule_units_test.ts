/** Rules and units: levels written in a unit, events in another dimension not tested, stored units checked. */
import assert from "node:assert/strict";
import { checkRuleUnits, storedUnitsOf } from "../../../stages/rule_units.ts";
import { parseRules, RuleEngine } from "../../../stages/rules.ts";
import { envelope, T0 } from "./helpers.ts";

const DISK = `
rules:
  - name: disk_free_low
    metric: disk_free
    op: "<"
    unit: GB
    warning: 5
    critical: 1
    clear: 6
    annotations: { summary: "{{value}} {{unit}} free (< {{threshold}} {{unit}})" }
`;

Deno.test("a rule's levels in its unit: compared with stored values, shown in it; other dimensions not tested", () => {
  const [rule] = parseRules(DISK, "rules.yaml");
  assert.deepEqual([rule.warning, rule.critical, rule.clear], [5e9, 1e9, 6e9]);
  assert.equal(rule.unit?.canonical, "bytes");
  const engine = new RuleEngine([rule]);
  const disk = (ts: number, value: number, unit: string) =>
    envelope({ metric: "disk_free", ts, value, unit, tags: {}, ctx: {} });
  // A percent reading of the same metric is not compared with GB levels.
  assert.deepEqual(engine.evaluate(disk(T0, 3, "percent"), undefined), []);
  const [fired] = engine.evaluate(disk(T0 + 1_000, 4e9, "bytes"), undefined);
  assert.equal(fired.severity, "warning");
  assert.equal(fired.value, 4e9, "alerts carry the stored value");
  assert.equal(fired.threshold, 5e9);
  assert.equal(fired.annotations.summary, "4 GB free (< 5 GB)");
  const [critical] = engine.evaluate(disk(T0 + 2_000, 0.5e9, "bytes"), undefined);
  assert.equal(critical.severity, "critical");
  assert.equal(critical.annotations.summary, "0.5 GB free (< 1 GB)");
});

Deno.test("rule units: unknown units and units on unitless features are refused with the key", () => {
  assert.throws(
    () => parseRules(DISK.replace("unit: GB", "unit: furlongs"), "r.yaml"),
    /rules\[0\]\.unit: unknown unit/,
  );
  const zscore = `
rules:
  - { name: z, metric: cpu_load, value: { feature: { window: 5m, stat: zscore } }, warning: 3, unit: percent }
`;
  assert.throws(() => parseRules(zscore, "r.yaml"), /rules\[0\]\.unit: a zscore has no unit/);
});

Deno.test("stored units: a metric in two units needs a rule unit; a rule unit must match a stored one", () => {
  const rules = parseRules(
    `
rules:
  - { name: mem_high, metric: mem_used, warning: 80 }
  - { name: mem_pct, metric: mem_used, warning: 80, unit: "%" }
  - { name: mem_bytes, metric: mem_used, warning: 8, unit: GiB }
  - { name: disk, metric: disk_free, op: "<", warning: 5, unit: GB }
  - { name: cpu_high, metric: cpu_load, warning: 80 }
`,
    "r.yaml",
  );
  const stored = storedUnitsOf([["mem_used", "percent"], ["mem_used", "bytes"], ["disk_free", "percent"], [
    "cpu_load",
    "percent",
  ], ["mem_used", "bytes"]]);
  assert.deepEqual(stored.get("mem_used"), ["bytes", "percent"]);
  const problems = checkRuleUnits(rules, stored);
  assert.equal(problems.length, 2, problems.join("\n"));
  assert.match(
    problems[0],
    /rule mem_high: mem_used is stored in 2 units \(bytes, percent\).*state the unit/,
  );
  assert.match(problems[1], /rule disk: its levels are in GB \(bytes\) but disk_free is stored in percent/);
  assert.deepEqual(checkRuleUnits(rules, new Map()), [], "nothing stored yet: nothing to check");
});

Deno.test("rule units: events sent without a unit beside ones with a unit do not refuse a rule (the agent still starts)", () => {
  // Reproduces the agent refusing to start with its built-in rules once cpu_load had been stored both
  // without a unit and in percent: a missing unit is no second dimension, so nothing is refused.
  const [cpuHigh] = parseRules(
    "rules:\n  - { name: cpu_high, metric: cpu_load, op: '>', warning: 85, critical: 95 }\n",
    "r.yaml",
  );
  const unitless = storedUnitsOf([["cpu_load", ""], ["cpu_load", "percent"]]);
  assert.deepEqual(checkRuleUnits([cpuHigh], unitless), []);
  const [inPercent] = parseRules(
    "rules:\n  - { name: p, metric: cpu_load, op: '>', unit: percent, warning: 85 }\n",
    "r.yaml",
  );
  assert.deepEqual(checkRuleUnits([inPercent], storedUnitsOf([["cpu_load", ""]])), []);
  // Two real units still refuse it.
  const twoUnits = storedUnitsOf([["cpu_load", "percent"], ["cpu_load", "bytes"], ["cpu_load", ""]]);
  assert.match(checkRuleUnits([cpuHigh], twoUnits).join("\n"), /stored in 2 units \(bytes, percent\)/);
});
