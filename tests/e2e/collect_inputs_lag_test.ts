/**
 * The `inputs` topics' consumer lag through the real agent and broker: `/readyz`, `/status` and
 * `/prometheus` report each input topic's lag next to the raw topic's, and a group stuck on an input
 * topic is not ready. The group is made stuck as `tests/reliability/health_truth_test.ts` does it:
 * the DLQ topic is deleted, so a batch with a line that cannot be converted cannot be dead-lettered
 * and is retried.
 */
import assert from "node:assert/strict";
import { Admin } from "@platformatic/kafka";
import { BROKERS, eventually, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";
import { kcatProduce } from "../../testing/kcat.ts";

const PENDING = 5;

interface InputLag {
  topic: string;
  lag: number | null;
  assigned_lag: number | null;
  partitions: number[] | null;
}
interface Group {
  group: string;
  topic: string;
  lag: number | null;
  inputs: InputLag[];
  reason?: string;
}

/** The value of `eventops_consumer_lag{group, topic}` in a Prometheus text. */
function lagSample(text: string, group: string, topic: string): number | undefined {
  const line = text.split("\n").find((row) =>
    row.startsWith(`eventops_consumer_lag{group="${group}",topic="${topic}"}`)
  );
  return line === undefined ? undefined : Number(line.split(" ").at(-1));
}

for (const topology of ["partitioned", "local"] as const) {
  Deno.test(`inputs: each input topic's lag in /readyz, /status and /prometheus; stuck on an input topic is not ready (topology ${topology})`, async () => {
    const name = uniqueName(`inputs-lag-${topology}`);
    const input = `${name}.influx`;
    const quiet = `${name}.quiet`;
    const { file, port, topics } = await writeTestConfig(name, {
      topology,
      kafka: { progress_timeout: "3s" },
      inputs: [
        { topic: input, format: "influx", tenant: "acme" },
        { topic: quiet, format: "influx", tenant: "acme" },
      ],
    });
    const group = `${name}-stateless`;
    // The input topics exist before the agent starts; one good line is consumed first.
    await kcatProduce(input, ["room,host=pi-1 temperature=21.5 1761048000000000000"]);
    await kcatProduce(quiet, ["room,host=pi-1 humidity=40 1761048000000000000"]);
    const admin = new Admin({ clientId: `${name}-admin`, bootstrapBrokers: [BROKERS], strict: false });
    const agent = await startAgent(file, port);
    try {
      const inputsOf = async (): Promise<Group | undefined> => {
        const status = await (await fetch(`${agent.baseUrl}/status`)).json();
        return (status.consumers as Group[]).find((entry) => entry.group === group);
      };
      const drained = await eventually(
        async () => {
          const found = await inputsOf();
          return found?.inputs.every((entry) => entry.lag === 0) ? found : undefined;
        },
        30_000,
        "both input topics read to their end",
      );
      assert.equal(drained.topic, topics.raw);
      assert.deepEqual(drained.inputs.map((entry) => entry.topic), [input, quiet]);
      // A lone agent is assigned every partition of each input topic.
      const partitions = drained.inputs[0].partitions ?? [];
      assert.ok(partitions.length > 0);

      await admin.deleteTopics({ topics: [topics.dlq] });
      await eventually(
        async () => !(await admin.listTopics()).includes(topics.dlq) || undefined,
        30_000,
        "the DLQ topic deleted",
      );
      // Lines that are not Influx: their dead letters cannot be written, so the batch is retried.
      await kcatProduce(input, Array.from({ length: PENDING }, (_, i) => `not influx ${i}`));

      const readiness = await eventually(
        async () => {
          const response = await fetch(`${agent.baseUrl}/readyz`);
          const body = await response.json();
          const stuck = (body.checks.consumers.groups as Group[]).find((entry) => entry.group === group);
          return response.status === 503 && stuck?.inputs[0].lag === PENDING ? stuck : undefined;
        },
        60_000,
        `/readyz 503 with ${PENDING} pending on ${input}`,
      );
      assert.equal(readiness.lag, 0, "nothing pending on the raw topic");
      assert.deepEqual(readiness.inputs, [
        { topic: input, lag: PENDING, assigned_lag: PENDING, partitions },
        { topic: quiet, lag: 0, assigned_lag: 0, partitions: drained.inputs[1].partitions },
      ]);
      assert.match(
        readiness.reason ?? "",
        new RegExp(`consumer group ${group}: ${PENDING} messages pending`),
      );

      const status = await (await fetch(`${agent.baseUrl}/status`)).json();
      assert.ok(
        status.consumer_lag >= PENDING,
        `consumer_lag ${status.consumer_lag} counts the input topics`,
      );
      const metrics = await (await fetch(`${agent.baseUrl}/prometheus`)).text();
      assert.equal(lagSample(metrics, group, input), PENDING);
      assert.equal(lagSample(metrics, group, quiet), 0);
      assert.equal(lagSample(metrics, group, topics.raw), 0);
    } finally {
      await agent.stop();
      await admin.close();
    }
  });
}
