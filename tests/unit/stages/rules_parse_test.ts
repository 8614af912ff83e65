/** Rule files: parsing, validation and its messages (`parseRules`). */
import assert from "node:assert/strict";
import { DEFAULT_RULES_YAML, defaultRules, parseRules } from "../../../stages/rules.ts";
import { SpecError } from "../../../lib/yaml_spec.ts";

function rules(yaml: string) {
  return parseRules(yaml, "rules.yaml");
}

Deno.test("parseRules", async (t) => {
  await t.step("built-in rules: the brief's thresholds", () => {
    const [rule] = defaultRules();
    assert.deepEqual([rule.name, rule.metric, rule.warning, rule.critical, rule.clear, rule.op, rule.forMs], [
      "cpu_high",
      "cpu_load",
      80,
      95,
      75,
      ">",
      0,
    ]);
    assert.ok(DEFAULT_RULES_YAML.includes("cpu_high"));
  });
  await t.step("an empty rule list is valid", () => assert.deepEqual(rules("rules: []"), []));
  const errors: [string, string, string | RegExp][] = [
    [
      "unknown key",
      "rules:\n  - name: a\n    metric: cpu_load\n    warning: 1\n    warn: 2\n",
      "rules.yaml:5:5: rules[0].warn: unknown key",
    ],
    [
      "unknown match key",
      "rules:\n  - name: a\n    metric: cpu_load\n    warning: 1\n    match: { tag: {} }\n",
      "rules.yaml:5:14: rules[0].match.tag: unknown key",
    ],
    [
      "no levels",
      "rules:\n  - name: a\n    metric: cpu_load\n",
      "rules.yaml:2:5: rules[0]: set warning, critical or both",
    ],
    [
      "critical below warning with >",
      "rules:\n  - { name: a, metric: cpu_load, warning: 90, critical: 80 }\n",
      'rules.yaml:2:57: rules[0].critical: critical (80) must be above warning (90) for op ">"',
    ],
    [
      "critical equal to warning",
      "rules:\n  - { name: a, metric: cpu_load, warning: 90, critical: 90 }\n",
      /critical \(90\) must be above warning \(90\)/,
    ],
    [
      "critical above warning with <",
      'rules:\n  - { name: a, metric: cpu_load, op: "<", warning: 10, critical: 20 }\n',
      /rules\[0\]\.critical: critical \(20\) must be below warning \(10\) for op "<"/,
    ],
    [
      "clear above warning with >",
      "rules:\n  - { name: a, metric: cpu_load, warning: 80, clear: 85 }\n",
      /rules\[0\]\.clear: clear \(85\) must be at or below warning \(80\) for op ">"/,
    ],
    [
      "clear below warning with <",
      'rules:\n  - { name: a, metric: cpu_load, op: "<", warning: 20, clear: 15 }\n',
      /rules\[0\]\.clear: clear \(15\) must be at or above warning \(20\) for op "</,
    ],
    [
      "clear above critical-only",
      "rules:\n  - { name: a, metric: cpu_load, critical: 80, clear: 85 }\n",
      /clear \(85\) must be at or below critical \(80\)/,
    ],
    [
      "bad op",
      'rules:\n  - { name: a, metric: cpu_load, warning: 1, op: "=" }\n',
      /rules\[0\]\.op: expected one of ">", ">=", "<", "<=", got "="/,
    ],
    [
      "warning not a number",
      "rules:\n  - { name: a, metric: cpu_load, warning: high }\n",
      /rules\[0\]\.warning: expected a number/,
    ],
    [
      "bad for",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, for: soon }\n",
      /rules\[0\]\.for: expected a duration/,
    ],
    [
      "metric not canonical",
      "rules:\n  - { name: a, metric: CPU.Load, warning: 1 }\n",
      /rules\[0\]\.metric: expected a canonical snake_case metric name like cpu_load/,
    ],
    [
      "bad name",
      "rules:\n  - { name: 'a b', metric: cpu_load, warning: 1 }\n",
      /rules\[0\]\.name: expected a name of letters/,
    ],
    [
      "duplicate names",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1 }\n  - { name: a, metric: cpu_load, warning: 2 }\n",
      "rules.yaml:3:13: rules[1].name: duplicate rule name a (also rules[0])",
    ],
    [
      "unknown placeholder",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, annotations: { s: '{{hots}}' } }\n",
      /rules\[0\]\.annotations\.s: unknown placeholder \{\{hots\}\}/,
    ],
    [
      "unknown map placeholder",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, annotations: { s: '{{env.x}}' } }\n",
      /unknown placeholder \{\{env\.x\}\}/,
    ],
    [
      "value feature without feature",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, value: feature }\n",
      /rules\[0\]\.feature: value: feature needs feature: \{ window, stat \}/,
    ],
    [
      "raw value and a feature",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, value: raw, feature: { window: 1m, stat: avg } }\n",
      /rules\[0\]\.feature: value: raw contradicts feature/,
    ],
    [
      "feature given twice",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, value: { feature: { window: 1m, stat: avg } }, feature: { window: 1m, stat: avg } }\n",
      /give the feature once/,
    ],
    [
      "bad stat",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, feature: { window: 1m, stat: mean } }\n",
      /rules\[0\]\.feature\.stat: expected one of "count", "avg"/,
    ],
    [
      "bad value",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, value: cooked }\n",
      /rules\[0\]\.value: expected "raw", "feature" or \{ feature: \{ window, stat \} \}/,
    ],
    [
      "bad window",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, feature: { window: 1x, stat: avg } }\n",
      /feature\.window: expected a duration/,
    ],
    ["rules missing", "{}\n", /rules\.yaml(:\d+:\d+)?: rules: missing \(expected a list\)/],
    ["not YAML", "rules: [\n", /^rules\.yaml: invalid YAML: /],
    [
      "empty match value",
      "rules:\n  - { name: a, metric: cpu_load, warning: 1, match: { tags: { env: '' } } }\n",
      /rules\[0\]\.match\.tags\.env: must not be empty/,
    ],
  ];
  for (const [name, yaml, expected] of errors) {
    await t.step(`error: ${name}`, () => {
      let error: unknown;
      try {
        rules(yaml);
      } catch (caught) {
        error = caught;
      }
      assert.ok(error instanceof SpecError, `expected a SpecError, got ${error}`);
      if (typeof expected === "string") assert.equal(error.message, expected);
      else assert.match(error.message, expected);
    });
  }
  await t.step("several problems are all reported", () => {
    assert.throws(
      () => rules("rules:\n  - { name: a, metric: X, warning: 9, critical: 1, bogus: 1 }\n"),
      (error: Error) => error.message.split("\n").length === 3,
    );
  });
});
