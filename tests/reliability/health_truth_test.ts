/**
 * Health tells the truth. The DLQ topic is deleted under the running agent: every batch with a bad
 * event then fails to produce (UNKNOWN_TOPIC_OR_PARTITION, retried forever, as with a topic removed
 * by mistake), so the stateless group is stuck while the broker and the store are fine. The agent
 * must say so: `/readyz` 503 naming the group, its real lag from the broker and how long it made no
 * progress; the same numbers in `/status` and `/prometheus`. Restarted (which recreates the topic),
 * it reads the pending messages as lag at once, not 0, then drains them.
 */
import assert from "node:assert/strict";
import { Admin } from "@platformatic/kafka";
import { BROKERS, eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import type { RunningAgent } from "../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce } from "../../testing/kcat.ts";
import { removeTestDir } from "../e2e/store_helpers.ts";

const MESSAGES = 300;

type Group = {
  group: string;
  ok: boolean;
  state: string;
  lag: number | null;
  reason?: string;
  idle_s: number;
};
type Readiness = {
  ready: boolean;
  reasons: string[];
  checks: { consumers: { ok: boolean; groups: Group[] } };
};

async function readiness(baseUrl: string): Promise<{ status: number; body: Readiness }> {
  const response = await fetch(`${baseUrl}/readyz`);
  return { status: response.status, body: await response.json() };
}

/** The value of one Prometheus sample, `name{group="<group>"}` (or `name{group="<group>",topic="<topic>"}`). */
function sample(text: string, name: string, group: string, topic?: string): number | undefined {
  const labels = topic === undefined ? `group="${group}"` : `group="${group}",topic="${topic}"`;
  const line = text.split("\n").find((row) => row.startsWith(`${name}{${labels}}`));
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

Deno.test("health: a stuck group is not ready, with its real lag from the broker, also right after a restart", async (t) => {
  const name = uniqueName("health");
  const { file, port, topics } = await writeTestConfig(name, { kafka: { progress_timeout: "3s" } });
  const stateless = `${name}-stateless`;
  const admin = new Admin({ clientId: "health-admin", bootstrapBrokers: [BROKERS], strict: false });
  let agent: RunningAgent | undefined;
  // Valid JSON objects that are not events: every one goes to the DLQ.
  const bad = Array.from(
    { length: MESSAGES },
    (_, i) => JSON.stringify({ tenant_id: "acme", host: "stuck", seq: i }),
  );
  try {
    const stuck = async () => {
      const body = await eventually(
        async () => {
          const { status, body } = await readiness(agent!.baseUrl);
          return status === 503 &&
              body.reasons.some((reason) => reason.includes(`${stateless}: ${MESSAGES} messages`))
            ? body
            : undefined;
        },
        60_000,
        "/readyz 503 naming the stuck group",
      );
      const group = body.checks.consumers.groups.find((entry) => entry.group === stateless)!;
      assert.equal(group.ok, false);
      assert.equal(group.state, "consuming");
      assert.equal(group.lag, MESSAGES);
      assert.match(
        group.reason ?? "",
        new RegExp(
          `${MESSAGES} messages pending and no batch handled for \\d+\\.\\d s \\(kafka.progress_timeout 3s\\)`,
        ),
      );
      assert.match(
        group.reason ?? "",
        /the batch fails: Unknown topic .*\.dlq/,
      );
      return group;
    };

    await t.step(
      "stuck: /readyz 503 with the group's lag and idle time; /status and /prometheus agree",
      async () => {
        agent = await startAgent(file, port);
        await admin.deleteTopics({ topics: [topics.dlq] });
        await eventually(
          async () => !(await admin.listTopics()).includes(topics.dlq) || undefined,
          30_000,
          "the DLQ topic deleted",
        );
        await kcatProduce(topics.raw, bad, "stuck");
        const group = await stuck();
        assert.ok(group.idle_s >= 3, JSON.stringify(group));
        const status = await (await fetch(`${agent.baseUrl}/status`)).json();
        assert.ok(status.consumer_lag >= MESSAGES, JSON.stringify(status));
        assert.equal(status.consumers.find((entry: Group) => entry.group === stateless).lag, MESSAGES);
        const metrics = await (await fetch(`${agent.baseUrl}/prometheus`)).text();
        assert.equal(sample(metrics, "eventops_consumer_lag", stateless, topics.raw), MESSAGES);
        assert.equal(sample(metrics, "eventops_consumer_consuming", stateless), 1);
        const progress = sample(metrics, "eventops_consumer_last_progress_timestamp_seconds", stateless) ?? 0;
        assert.ok(Date.now() / 1000 - progress >= 3, `last progress ${progress}`);
      },
    );

    await t.step(
      "restarted (the topic is recreated): the lag reads the pending messages at once, then drains",
      async () => {
        await agent!.stop();
        agent = await startAgent(file, port, [], {}, { waitReady: false });
        const lag = await eventually(
          async () => {
            const { body } = await readiness(agent!.baseUrl);
            return body.checks.consumers.groups.find((entry) => entry.group === stateless)?.lag ?? undefined;
          },
          60_000,
          "the first lag reading",
        );
        assert.equal(lag, MESSAGES);
        await eventually(
          async () => (await kcatConsumeAll(topics.dlq)).length >= MESSAGES || undefined,
          60_000,
          "the dead letters",
        );
        const ready = await eventually(
          async () => {
            const { status, body } = await readiness(agent!.baseUrl);
            return status === 200 && body.checks.consumers.groups.every((group) => group.lag === 0)
              ? body
              : undefined;
          },
          30_000,
          "ready with lag 0",
        );
        assert.equal(ready.checks.consumers.ok, true);
      },
    );
  } finally {
    await agent?.stop();
    await admin.close();
    await removeTestDir(name);
  }
});
