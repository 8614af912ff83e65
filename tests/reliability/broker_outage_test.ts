/**
 * Broker outages, with a broker of the test's own that it stops and starts:
 *
 * - `run` started while the broker is down serves HTTP, answers `/readyz` 503 "waiting for the
 *   broker at …", and starts consuming once the broker is up;
 * - the broker killed (SIGKILL) for {@link OUTAGE_MS} in the middle of a backlog: the consumer groups lose
 *   their streams, reconnect by themselves once it is back, and every event is stored exactly once
 *   (checked by event id against the offsets the broker gave the producer);
 * - with no broker at all, `run` gives up after `kafka.connect_timeout` with exit code 1.
 */
import assert from "node:assert/strict";
import {
  eventually,
  freePort,
  runEventops,
  startAgent,
  uniqueName,
  writeTestConfig,
} from "../../testing/agent.ts";
import type { RunningAgent } from "../../testing/agent.ts";
import { httpNumber, logLines, removeTestDir } from "../e2e/store_helpers.ts";
import { DedicatedBroker } from "./broker.ts";
import { checkStoredIds, type ExpectedEvents, produceTracked, trackedWorkload } from "./helpers.ts";

/** How long the broker stays down mid-stream. */
const OUTAGE_MS = 20_000;
/** Consumption must resume within this after the broker is back (the README states it). */
const RESUME_BOUND_MS = 30_000;
const EVENTS = 400_000;

type Readiness = { ready: boolean; reasons: string[]; checks: Record<string, unknown> };

async function readiness(baseUrl: string): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${baseUrl}/readyz`);
  return { status: response.status, body: await response.json() };
}

Deno.test("broker outages: run waits for the broker; a stop mid-stream heals by itself, nothing lost or duplicated", async (t) => {
  const broker = await DedicatedBroker.create();
  const name = uniqueName("outage");
  const { file, port, topics } = await writeTestConfig(name, {
    kafka: { brokers: [broker.address], connect_timeout: "5m", progress_timeout: "15s" },
  });
  let agent: RunningAgent | undefined;
  try {
    await t.step(
      "started before the broker: HTTP is served, /readyz 503 says it waits for the broker",
      async () => {
        agent = await startAgent(file, port, [], {}, { waitReady: false });
        const waiting = await eventually(
          async () => {
            const { status, body } = await readiness(agent!.baseUrl);
            // Still waiting 3 s later (it used to exit after ~1 s).
            const reason = body.reasons.find((text) => /waiting for the broker at/.test(text));
            return status === 503 && reason && /for ([3-9]|\d\d+) s/.test(reason) ? body : undefined;
          },
          30_000,
          "/readyz 503 waiting for the broker",
        );
        assert.match(waiting.reasons.join("\n"), new RegExp(`waiting for the broker at ${broker.address}`));
        assert.equal((await fetch(`${agent!.baseUrl}/healthz`)).status, 200);
      },
    );

    await t.step("the broker starts: the agent creates its topics and becomes ready", async () => {
      await broker.start();
      await eventually(
        async () => (await readiness(agent!.baseUrl)).status === 200 || undefined,
        60_000,
        "ready",
      );
      const lines = logLines(agent!.logs()).map((line) => String(line.msg));
      assert.ok(lines.includes("broker reachable; starting"), lines.join("\n"));
    });

    const expected: ExpectedEvents = new Map();
    let storedAtStop = 0;
    await t.step(
      `a backlog of ${EVENTS} events; the broker is killed mid-stream for ${OUTAGE_MS / 1000} s`,
      async () => {
        const workload = trackedWorkload(EVENTS, {
          perMessage: 100,
          hosts: 30,
          partitions: 3,
          startMs: Date.now() - 3_600_000,
        });
        // The whole backlog is in the topic before the agent consumes any of it: produced while the
        // agent is stopped (with the agent consuming as it is produced, a fast agent on a slow machine
        // had stored all of it before the kill, and the outage tested nothing).
        assert.equal(await agent!.stop(), 0);
        await produceTracked(broker.address, topics.raw, workload, expected);
        agent = await startAgent(file, port, [], {}, { waitReady: false });
        await eventually(
          async () => {
            const response = await fetch(`${agent!.baseUrl}/healthz`).catch(() => undefined);
            await response?.body?.cancel();
            return response?.ok || undefined;
          },
          30_000,
          "the restarted agent serving HTTP",
        );
        // Kill the broker as soon as some events are stored (polled tightly: the agent drains fast).
        const deadline = Date.now() + 60_000;
        while ((await httpNumber(agent!.baseUrl, "SELECT count(*) FROM metrics")) < EVENTS * 0.05) {
          assert.ok(Date.now() < deadline, "nothing stored after 60 s");
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await broker.kill();
        storedAtStop = await httpNumber(agent!.baseUrl, "SELECT count(*) FROM metrics");
        assert.ok(storedAtStop < EVENTS, `all ${storedAtStop} events were stored before the broker stopped`);
        const down = await eventually(
          async () => {
            const { status, body } = await readiness(agent!.baseUrl);
            return status === 503 ? body : undefined;
          },
          30_000,
          "/readyz 503 with the broker down",
        );
        assert.match(down.reasons.join("\n"), /broker not reachable/);
        await eventually(
          () => Promise.resolve(/consumer lost its stream/.test(agent!.logs()) || undefined),
          30_000,
          "a consumer to notice the outage",
        );
        await new Promise((resolve) => setTimeout(resolve, OUTAGE_MS));
      },
    );

    await t.step(
      `the broker is back: consumption resumes within ${RESUME_BOUND_MS / 1000} s, every event stored once`,
      async () => {
        const before = await httpNumber(agent!.baseUrl, "SELECT count(*) FROM metrics");
        await broker.start();
        const backAt = Date.now();
        await eventually(
          async () =>
            (await httpNumber(agent!.baseUrl, "SELECT count(*) FROM metrics")) > before || undefined,
          RESUME_BOUND_MS,
          "consumption to resume",
        );
        const resumeMs = Date.now() - backAt;
        await eventually(
          async () =>
            (await httpNumber(agent!.baseUrl, "SELECT count(*) FROM metrics")) >= EVENTS || undefined,
          120_000,
          "every event stored",
        );
        const allMs = Date.now() - backAt;
        const check = await checkStoredIds(agent!.baseUrl, topics.raw, expected);
        assert.deepEqual(check, {
          stored: EVENTS,
          expected: EVENTS,
          missing: 0,
          duplicates: 0,
          unexpected: 0,
        });
        const ready = await eventually(
          async () => {
            const { status, body } = await readiness(agent!.baseUrl);
            return status === 200 ? body : undefined;
          },
          30_000,
          "ready again",
        );
        const groups = (ready.checks.consumers as { groups: { reconnects: number; lag: number }[] }).groups;
        assert.ok(groups.some((group) => group.reconnects >= 1), JSON.stringify(groups));
        const logs = logLines(agent!.logs()).map((line) => String(line.msg));
        assert.ok(logs.includes("consumer reconnected; consuming again from the committed offsets"));
        console.log(
          `reliability figures: outage ${
            OUTAGE_MS / 1000
          } s with ${storedAtStop} of ${EVENTS} events stored; ` +
            `consumption resumed ${(resumeMs / 1000).toFixed(1)} s after the broker was back, ` +
            `all stored after ${(allMs / 1000).toFixed(1)} s; ${JSON.stringify(check)}`,
        );
      },
    );
  } finally {
    await agent?.stop();
    await broker.destroy();
    await removeTestDir(name);
  }
});

Deno.test("no broker at all: run gives up after kafka.connect_timeout with exit code 1 and says why", async () => {
  const name = uniqueName("no-broker");
  const nowhere = `127.0.0.1:${await freePort()}`;
  const { file } = await writeTestConfig(name, { kafka: { brokers: [nowhere], connect_timeout: "3s" } });
  try {
    const started = Date.now();
    const result = await runEventops(["run", "--config", file]);
    const seconds = (Date.now() - started) / 1000;
    assert.equal(result.code, 1, result.stderr);
    assert.match(
      result.stderr,
      new RegExp(`the broker at ${nowhere} did not answer within 3s \\(kafka.connect_timeout\\)`),
    );
    assert.match(result.stderr, /broker not reachable; waiting for it/);
    assert.ok(seconds >= 3, `gave up after ${seconds} s, before the 3 s timeout`);
  } finally {
    await removeTestDir(name);
  }
});
