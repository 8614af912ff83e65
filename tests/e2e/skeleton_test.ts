/**
 * End to end through the real broker: the brief's kcat and curl examples, the DLQ, SSE alerts,
 * graceful shutdown and restart, bad config, the CLI.
 */
import assert from "node:assert/strict";
import { SEED_EVENTS } from "../../cli/seed_events.ts";
import { eventually, runEventops, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce } from "../../testing/kcat.ts";
import { readSse } from "../../testing/sse.ts";

type Point = { ts: string; value: number };

async function cpuPoints(baseUrl: string): Promise<Point[]> {
  const response = await fetch(`${baseUrl}/metrics/cpu?tenant=acme&host=host-a`);
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.metric, "cpu_load");
  return body.points;
}

/** Waits until GET /metrics/cpu returns both seed points. */
function seedPoints(baseUrl: string): Promise<Point[]> {
  return eventually(
    async () => {
      const found = await cpuPoints(baseUrl);
      return found.length >= 2 ? found : undefined;
    },
    30_000,
    "both seed points",
  );
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`seed events flow kcat -> agent -> DuckDB -> HTTP, bad input to the DLQ, SSE alerts (topology ${topology})`, async (t) => {
    const name = uniqueName("skeleton");
    const { file, port, topics } = await writeTestConfig(name, { topology });
    const agent = await startAgent(file, port);
    try {
      await t.step("the brief's kcat examples give both points through GET /metrics/cpu", async () => {
        await kcatProduce(topics.raw, [SEED_EVENTS[0]]);
        await kcatProduce(topics.raw, [SEED_EVENTS[1]]);
        const points = await seedPoints(agent.baseUrl);
        assert.deepEqual(points.map((point) => point.value), [85, 97]);
        assert.deepEqual(points.map((point) => point.ts), [
          "2025-10-21T10:00:00.000Z",
          "2025-10-21T10:05:00.000Z",
        ]);
        // local: one pass, nothing goes through the enriched topic; partitioned: both events do.
        const enriched = await kcatConsumeAll(topics.enriched);
        assert.equal(enriched.length > 0, topology === "partitioned", `${enriched.length} enriched messages`);
      });

      await t.step("GET /alerts/stream replays warning (85) then critical (97)", async () => {
        const events = await readSse(`${agent.baseUrl}/alerts/stream`, 2, 20_000);
        const alerts = events.filter((event) => event.event === "alert").map((event) =>
          JSON.parse(event.data)
        );
        assert.deepEqual(alerts.map((alert) => [alert.severity, alert.state, alert.value]), [
          ["warning", "firing", 85],
          ["critical", "firing", 97],
        ]);
      });

      await t.step(
        "a malformed message lands on the DLQ with a reason while the agent keeps running",
        async () => {
          await kcatProduce(topics.raw, [
            '{"tenant_id":"acme","host":"host-a","metric":"cpu_load","value":"high"}',
          ]);
          const records = await eventually(
            async () => {
              const found = (await kcatConsumeAll(topics.dlq)).map((text) => JSON.parse(text));
              return found.length >= 1 ? found : undefined;
            },
            30_000,
            "a DLQ record",
          );
          assert.equal(records[0].stage, "normalize");
          assert.match(records[0].reason, /value/);
          assert.match(records[0].original, /"value":"high"/);
          assert.equal(records[0].source.topic, topics.raw);
          const health = await fetch(`${agent.baseUrl}/healthz`);
          assert.equal(health.status, 200);
          await health.body?.cancel();
          assert.equal((await cpuPoints(agent.baseUrl)).length, 2);
        },
      );
    } finally {
      const code = await agent.stop();
      assert.equal(code, 0, `graceful stop exit code; logs:\n${agent.logs()}`);
    }

    await t.step("after a graceful stop and restart nothing is stored twice", async () => {
      const again = await startAgent(file, port);
      try {
        await kcatProduce(topics.raw, [
          '{"tenant_id":"acme","host":"host-a","metric":"cpu_load","value":50,"ts_event":"2025-10-21T10:10:00Z"}',
        ]);
        const points = await eventually(
          async () => {
            const found = await cpuPoints(again.baseUrl);
            return found.length >= 3 ? found : undefined;
          },
          30_000,
          "the third point",
        );
        assert.deepEqual(points.map((point) => point.value), [85, 97, 50]);
        // The alert state was rebuilt from the store: 50 resolves the critical, nothing is repeated.
        const alerts = await eventually(
          async () => {
            const found = (await kcatConsumeAll(topics.alerts)).map((text) => JSON.parse(text));
            return found.length >= 3 ? found : undefined;
          },
          30_000,
          "the resolved alert",
        );
        assert.deepEqual(alerts.map((alert) => [alert.severity, alert.state, alert.value]), [
          ["warning", "firing", 85],
          ["critical", "firing", 97],
          ["critical", "resolved", 50],
        ]);
      } finally {
        assert.equal(await again.stop(), 0);
      }
    });
  });
}

Deno.test("a bad config stops the agent at start with the file, the key path and what was expected", async () => {
  const name = uniqueName("badconfig");
  const dir = `data/test/${name}`;
  await Deno.mkdir(dir, { recursive: true });
  const file = `${dir}/eventops.yaml`;
  await Deno.writeTextFile(file, "http:\n  port: eighty\nkafka:\n  brokers: [nohostport]\n");
  const result = await runEventops(["run", "--config", file]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, new RegExp(`${file}.*http\\.port: .*expected number`));
  assert.match(result.stderr, /kafka\.brokers\.0: expected HOST:PORT/);
});

Deno.test("every command has --help, and version prints the version", async () => {
  for (const command of ["run", "init", "seed", "urls", "check", "query", "version"]) {
    const result = await runEventops([command, "--help"]);
    assert.equal(result.code, 0, `${command} --help: ${result.stderr}`);
    assert.match(result.stdout, new RegExp(`Usage: eventops ${command}`));
  }
  const version = await runEventops(["version"]);
  assert.match(version.stdout, /^eventops \d+\.\d+\.\d+ \(deno 2\.9\.\d+\)/);
});

Deno.test("a stateless worker thread that cannot start falls back to in-process; events still flow", async () => {
  const name = uniqueName("fallback");
  // The worker thread is the partitioned topology's (the default, auto, runs local on a lone agent).
  const { file, port, topics } = await writeTestConfig(name, { topology: "partitioned" });
  // A sandbox that cannot load the worker's module (as a build might not).
  const agent = await startAgent(file, port, [], {}, {
    denoFlags: ["--deny-read=./pipeline/stateless/worker.ts"],
  });
  try {
    assert.match(
      agent.logs(),
      /stateless worker thread did not start; running the stateless group in-process/,
    );
    await kcatProduce(topics.raw, SEED_EVENTS);
    const points = await seedPoints(agent.baseUrl);
    assert.deepEqual(points.map((point) => point.value), [85, 97]);
  } finally {
    assert.equal(await agent.stop(), 0);
  }
});
