import assert from "node:assert/strict";
import { parseInventory } from "../../../stages/inventory.ts";
import { lineDiff, runRuleTests } from "../../../stages/rule_tests.ts";
import { DEFAULT_RULES_YAML } from "../../../stages/rules.ts";
import { SpecError } from "../../../lib/yaml_spec.ts";
import { featureOptions } from "./helpers.ts";

const FIXTURE = new URL("../../fixtures/rules/seed.test.yaml", import.meta.url);

const SEED_INPUT = `
    input:
      - { tenant_id: acme, host: host-a, metric: cpu_load, value: 85, ts_event: "2025-10-21T10:00:00Z" }
      - { tenant_id: acme, host: host-a, metric: cpu_load, value: 97, ts_event: "2025-10-21T10:05:00Z" }`;

Deno.test("the seed fixture passes against the built-in rules", () => {
  const result = runRuleTests(DEFAULT_RULES_YAML, Deno.readTextFileSync(FIXTURE), {
    testsFile: "seed.test.yaml",
  });
  assert.deepEqual(result, { passed: 3, failed: [] });
});

Deno.test("failures come with a readable diff", async (t) => {
  await t.step("a wrong value and a missing alert", () => {
    const tests = `
tests:
  - name: wrong
${SEED_INPUT}
    expect:
      - { rule: cpu_high, host: host-a, state: firing, severity: warning, value: 85 }
      - { rule: cpu_high, host: host-a, state: firing, severity: critical, value: 96 }
      - { rule: cpu_high, host: host-a, state: resolved, severity: critical }
`;
    assert.deepEqual(runRuleTests(DEFAULT_RULES_YAML, tests), {
      passed: 0,
      failed: [{
        test: "wrong",
        diff: [
          "--- expected",
          "+++ got",
          "  rule=cpu_high host=host-a state=firing severity=warning value=85",
          "- rule=cpu_high host=host-a state=firing severity=critical value=96",
          "- rule=cpu_high host=host-a state=resolved severity=critical",
          "+ rule=cpu_high host=host-a state=firing severity=critical value=97",
        ].join("\n"),
      }],
    });
  });
  await t.step("an unexpected alert and a rejected input", () => {
    const tests = `
tests:
  - name: extra
${SEED_INPUT}
      - { tenant_id: acme, host: host-a, metric: cpu_load, value: "x", ts_event: "2025-10-21T10:06:00Z" }
    expect:
      - { rule: cpu_high, state: firing, severity: warning }
`;
    const [failure] = runRuleTests(DEFAULT_RULES_YAML, tests).failed;
    assert.equal(
      failure.diff,
      [
        "--- expected",
        "+++ got",
        "  rule=cpu_high state=firing severity=warning",
        "+ rule=cpu_high host=host-a state=firing severity=critical value=97",
        '+ input[2] rejected: value: expected a finite number, got "x"',
      ].join("\n"),
    );
  });
  await t.step("passing and failing tests are counted separately", () => {
    const tests = `
tests:
  - name: ok
${SEED_INPUT}
    expect:
      - { rule: cpu_high, state: firing, severity: warning }
      - { rule: cpu_high, state: firing, severity: critical, threshold: 95 }
  - name: no alerts expected
${SEED_INPUT}
`;
    const result = runRuleTests(DEFAULT_RULES_YAML, tests);
    assert.equal(result.passed, 1);
    assert.deepEqual(result.failed.map((f) => f.test), ["no alerts expected"]);
  });
});

Deno.test("options: inventory, features, own rules", () => {
  const rules = `
rules:
  - name: web_avg
    metric: cpu_load
    match: { ctx: { role: web } }
    feature: { window: 30s, stat: avg }
    warning: 90
`;
  const tests = `
tests:
  - name: only web hosts, on the 30s average
    input:
      - { tenant_id: acme, host: web-1, metric: cpu_load, value: 95, ts_event: "2025-10-21T10:00:00Z" }
      - { tenant_id: acme, host: db-1, metric: cpu_load, value: 99, ts_event: "2025-10-21T10:00:00Z" }
      - { tenant_id: acme, host: web-1, metric: cpu_load, value: 70, ts_event: "2025-10-21T10:00:10Z" }
      - { tenant_id: acme, host: web-1, metric: cpu_load, value: 99, ts_event: "2025-10-21T10:00:45Z" }
    expect:
      - { rule: web_avg, host: web-1, state: firing, severity: warning, value: 95 }
      - { rule: web_avg, host: web-1, state: resolved, severity: warning, value: 82.5 }
      - { rule: web_avg, host: web-1, state: firing, severity: warning, value: 99 }
`;
  const inventory = parseInventory("hosts:\n  - { host: 'web-*', role: web }\n", "inventory.yaml");
  const result = runRuleTests(rules, tests, { inventory, features: featureOptions({ windows: ["30s"] }) });
  assert.deepEqual(result, { passed: 1, failed: [] });
});

Deno.test("invalid files throw a SpecError naming the file", () => {
  assert.throws(() => runRuleTests("rules: 5", "tests: []", { rulesFile: "r.yaml" }), (e: Error) => {
    return e instanceof SpecError && e.message.startsWith("r.yaml:1:8: rules: expected a list");
  });
  assert.throws(
    () =>
      runRuleTests(DEFAULT_RULES_YAML, "tests:\n  - name: x\n    input: []\n    expected: []\n", {
        testsFile: "t.yaml",
      }),
    (e: Error) =>
      e instanceof SpecError && /t\.yaml:\d+:\d+: tests\[0\]\.expected: unknown key/.test(e.message),
  );
});

Deno.test("lineDiff", async (t) => {
  const cases: [string[], string[], string[]][] = [
    [[], [], []],
    [["a"], ["a"], ["  a"]],
    [["a", "b"], ["a"], ["  a", "- b"]],
    [["a"], ["a", "b"], ["  a", "+ b"]],
    [["a", "b", "c"], ["a", "x", "c"], ["  a", "- b", "+ x", "  c"]],
    [["x"], ["y"], ["- x", "+ y"]],
  ];
  for (const [expected, got, lines] of cases) {
    await t.step(`${expected} vs ${got}`, () => {
      assert.equal(lineDiff(expected, got), ["--- expected", "+++ got", ...lines].join("\n"));
    });
  }
});
