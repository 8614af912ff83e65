/**
 * A monotonic counter's rate as a feature, end to end: an OTLP monotonic sum (`POST /v1/metrics`,
 * JSON, with explicit point times) whose counter restarts once is stored as a counter, and a rule on
 * its `counter_rate` over 1m fires with the increase per second counted across the reset (the plain
 * `rate`, last minus first, is negative there and would not fire).
 */
import assert from "node:assert/strict";
import { stringify } from "yaml";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll } from "../../testing/kcat.ts";

/** An OTLP JSON request of one monotonic cumulative sum with the given points. */
function counterRequest(points: [number, number][]) {
  return {
    resourceMetrics: [{
      resource: { attributes: [{ key: "host.name", value: { stringValue: "app-1" } }] },
      scopeMetrics: [{
        metrics: [{
          name: "http.requests",
          sum: {
            isMonotonic: true,
            aggregationTemporality: 2,
            dataPoints: points.map(([ms, value]) => ({
              timeUnixNano: String(BigInt(ms) * 1_000_000n),
              asInt: String(value),
            })),
          },
        }],
      }],
    }],
  };
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`features: counter_rate of an OTLP monotonic sum counts a restart as a reset and a rule on it fires (topology ${topology})`, async () => {
    const name = uniqueName(`counter-rate-${topology}`);
    const dir = `data/test/${name}`;
    await Deno.mkdir(dir, { recursive: true });
    const rulesFile = `${dir}/rules.yaml`;
    await Deno.writeTextFile(
      rulesFile,
      stringify({
        rules: [{
          name: "requests_fast",
          metric: "http_requests",
          value: { feature: { window: "1m", stat: "counter_rate" } },
          warning: 5,
        }],
      }),
    );
    const { file, port, topics } = await writeTestConfig(name, { topology, rules: rulesFile });
    const agent = await startAgent(file, port);
    try {
      const t0 = Date.now() - 60_000;
      // +30, the process restarts (-> 40: +40), +160: 230 over 30 s = 7.67/s; first to last: -800.
      const points: [number, number][] = [[t0, 1000], [t0 + 10_000, 1030], [t0 + 20_000, 40], [
        t0 + 30_000,
        200,
      ]];
      const response = await fetch(`${agent.baseUrl}/v1/metrics?tenant=acme`, {
        method: "POST",
        headers: { Authorization: "Bearer test-token", "Content-Type": "application/json" },
        body: JSON.stringify(counterRequest(points)),
      });
      assert.equal(response.status, 200, await response.text());
      const alert = await eventually(
        async () => {
          const alerts = (await kcatConsumeAll(topics.alerts)).map((text) => JSON.parse(text));
          return alerts.find((a) => a.rule === "requests_fast" && a.state === "firing");
        },
        30_000,
        "the requests_fast alert",
      );
      assert.equal(alert.host, "app-1");
      assert.equal(alert.severity, "warning");
      assert.ok(Math.abs(alert.value - 230 / 30) < 1e-9, `counter_rate ${alert.value}, expected 230/30`);
      const stored = await (await fetch(`${agent.baseUrl}/metrics/http_requests?tenant=acme&host=app-1`))
        .json();
      assert.deepEqual(
        stored.points.map((
          p: { value: number; tags: Record<string, string> },
        ) => [p.value, p.tags.otel_type]),
        points.map(([, value]) => [value, "counter"]),
      );
    } finally {
      assert.equal(await agent.stop(), 0);
    }
  });
}
