/**
 * A bad notification file: `eventops check` and `eventops run` stop with the file, the line, the key
 * path and what was expected; rule tests say which receivers an alert routes to.
 */
import assert from "node:assert/strict";
import { runEventops, uniqueName, writeTestConfig } from "../../testing/agent.ts";

const BAD = `route:
  receiver: ops
  group_by: [alertname]
  routes:
    - matchers: ['severity=="critical"']
      receiver: pager
receivers:
  - name: ops
    webhook_configs:
      - url: http://127.0.0.1:5678/hook
        http_config: { authorization: { credentials_env: EVENTOPS_NOTIFY_MISSING_TOKEN } }
`;

Deno.test("an invalid notification file stops check and run with file, line, key path and expectation", async () => {
  const name = uniqueName("notify-bad");
  const dir = `data/test/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(`${dir}/notify.yaml`, BAD);
  const { file } = await writeTestConfig(name, { notify: `${dir}/notify.yaml` });
  const check = await runEventops(["check", "--config", file]);
  assert.equal(check.code, 2, check.stdout + check.stderr);
  assert.match(
    check.stderr,
    new RegExp(`${dir}/notify\\.yaml:5:18: route\\.routes\\[0\\]\\.matchers\\[0\\]: quote the value`),
  );
  // The matcher fixed, the route names a receiver that does not exist: check and run refuse it.
  await Deno.writeTextFile(`${dir}/notify.yaml`, BAD.replace('"critical"', "critical"));
  const missing = new RegExp(
    `${dir}/notify\\.yaml:6:17: route\\.routes\\[0\\]\\.receiver: no receiver named \\\\?"pager`,
  );
  const again = await runEventops(["check", "--config", file]);
  assert.equal(again.code, 2);
  assert.match(again.stderr, missing);
  const run = await runEventops(["run", "--config", file]);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, missing);

  // Fixed routes, but the token's variable is not set: refused the same way, naming the variable.
  await Deno.writeTextFile(
    `${dir}/notify.yaml`,
    BAD.replace('"critical"', "critical").replace("pager", "ops"),
  );
  const secret = await runEventops(["check", "--config", file]);
  assert.equal(secret.code, 2);
  assert.match(
    secret.stderr,
    /notify\.yaml:11:\d+: receivers\[0\]\.webhook_configs\[0\]\.http_config\.authorization\.credentials_env: EVENTOPS_NOTIFY_MISSING_TOKEN is not set/,
  );
  const withToken = await runEventops(["check", "--config", file], {
    EVENTOPS_NOTIFY_MISSING_TOKEN: "t0ken-value",
  });
  assert.equal(withToken.code, 0, withToken.stderr);
  assert.ok(
    !withToken.stdout.includes("t0ken-value") && !withToken.stderr.includes("t0ken-value"),
    "never printed",
  );
});

Deno.test("rule tests assert the receivers an alert routes to, and show them in the diff", async () => {
  const name = uniqueName("notify-routes");
  const dir = `data/test/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  await Deno.writeTextFile(
    `${dir}/notify.yaml`,
    `route:
  receiver: ops
  routes: [{ matchers: ['severity="critical"', 'tenant="acme"'], receiver: pager }]
receivers: [{ name: ops }, { name: pager }]
`,
  );
  await Deno.writeTextFile(
    `${dir}/routes.test.yaml`,
    `tests:
  - name: critical pages
    input:
      - { tenant_id: acme, host: h, metric: cpu_load, value: 85, ts_event: "2025-10-21T10:00:00Z" }
      - { tenant_id: acme, host: h, metric: cpu_load, value: 97, ts_event: "2025-10-21T10:01:00Z" }
    expect:
      - { rule: cpu_high, state: firing, severity: warning, receivers: [ops] }
      - { rule: cpu_high, state: firing, severity: critical, receivers: [ops] }
`,
  );
  const { file } = await writeTestConfig(name, { notify: `${dir}/notify.yaml` });
  const result = await runEventops(["check", "--config", file, `${dir}/routes.test.yaml`]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /- rule=cpu_high state=firing severity=critical receivers=ops/);
  assert.match(result.stderr, /\+ rule=cpu_high state=firing severity=critical receivers=pager/);
  assert.match(result.stdout, /1 passed|0 passed, 1 failed/);
});
