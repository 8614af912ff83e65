/** `eventops check`: config, inventory and rules validation and rule tests, as a user runs it. */
import assert from "node:assert/strict";
import { runEventops, uniqueName } from "../../testing/agent.ts";

Deno.test("check passes the example config, inventory, rules and rule tests", async () => {
  const result = await runEventops([
    "check",
    "--config",
    "config/check-example.yaml",
    "config/rules.test.yaml",
  ]);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout, /ok {3}rules config\/rules\.yaml: 3 rule\(s\)/);
  assert.match(result.stdout, /ok {3}notify config\/notify\.yaml: 3 receiver\(s\), 1 inhibit rule\(s\)/);
  assert.match(result.stdout, /config\/rules\.test\.yaml: 4 passed, 0 failed/);
});

Deno.test("check config/rules.test.yaml, as the rules file's header says, passes with the default config", async () => {
  // The tests file names its rules and inventory: no --config needed (issue 18, item 3).
  const result = await runEventops(["check", "config/rules.test.yaml"]);
  assert.equal(result.code, 0, result.stdout + result.stderr);
  assert.match(
    result.stdout,
    // (with a store in ./data, from a demo run before, the units are checked against it too)
    /ok {3}rules config\/rules\.yaml: 3 rule\(s\)(, units checked against the store \(\d+ metric\(s\)\))? \(named by config\/rules\.test\.yaml\)/,
  );
  assert.match(result.stdout, /config\/rules\.test\.yaml: 4 passed, 0 failed/);
});

Deno.test("check fails a rule test with a readable diff and exit code 1", async () => {
  const dir = `data/test/${uniqueName("check")}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/wrong.test.yaml`,
    `tests:
  - name: expects a critical that never comes
    input:
      - { tenant_id: acme, host: h, metric: cpu_load, value: 85, ts_event: "2025-10-21T10:00:00Z" }
    expect:
      - { rule: cpu_high, host: h, state: firing, severity: critical }
`,
  );
  const result = await runEventops(["check", `${dir}/wrong.test.yaml`]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /FAIL .*wrong\.test\.yaml: expects a critical that never comes/);
  assert.match(result.stderr, /- rule=cpu_high host=h state=firing severity=critical/);
  assert.match(result.stderr, /\+ rule=cpu_high host=h state=firing severity=warning/);
});

Deno.test("check rejects an invalid rules file with the file, the key path and the expectation", async () => {
  const dir = `data/test/${uniqueName("check")}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/rules.yaml`,
    "rules:\n  - name: r\n    metric: cpu_load\n    warning: 90\n    critical: 80\n",
  );
  await Deno.writeTextFile(`${dir}/eventops.yaml`, `rules: ${dir}/rules.yaml\n`);
  const result = await runEventops(["check", "--config", `${dir}/eventops.yaml`]);
  assert.equal(result.code, 2);
  assert.match(
    result.stderr,
    new RegExp(`${dir}/rules\\.yaml:5:15: rules\\[0\\]\\.critical.*must be above warning`),
  );
});
