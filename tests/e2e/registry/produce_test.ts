/**
 * Writing the wire format (`schema_registry.produce`): the alerts and dead letters the agent writes
 * carry their registered schema id, and the real Python confluent-kafka deserializer, given no schema,
 * decodes them (Avro and JSON Schema), through the real broker and the real registry.
 */
import assert from "node:assert/strict";
import { eventually, startAgent, uniqueName, writeTestConfig } from "../../../testing/agent.ts";
import { kcatConsumeAll, kcatProduce } from "../../../testing/kcat.ts";
import { confluentConsume, startRegistry } from "../../../testing/schema_registry.ts";
import { briefEvent } from "./fixtures.ts";

for (const format of ["avro", "json"] as const) {
  Deno.test(`produce: ${format}: alerts and dead letters framed with their schema id, decoded downstream without configuration`, async () => {
    const registry = await startRegistry();
    const name = uniqueName(`registry-produce-${format}`);
    const { file, port, topics } = await writeTestConfig(name, {
      schema_registry: { url: registry.url, produce: format },
    });
    const agent = await startAgent(file, port);
    try {
      await kcatProduce(topics.raw, [
        JSON.stringify(briefEvent("host-a", 85, 0)),
        JSON.stringify(briefEvent("host-a", 97, 5)),
        '{"tenant_id": "acme", "host": "host-a"',
      ], "host-a");
      const alerts = await confluentConsume({
        registry: registry.url,
        topic: topics.alerts,
        format,
        count: 2,
      });
      assert.deepEqual(alerts.map((alert) => [alert.severity, alert.state, alert.value]), [
        ["warning", "firing", 85],
        ["critical", "firing", 97],
      ]);
      assert.equal(alerts[0].ends_at, null);
      const [dead] = await confluentConsume({ registry: registry.url, topic: topics.dlq, format, count: 1 });
      assert.equal(dead.stage, "normalize");
      assert.match(String(dead.reason), /JSON/);
      const subjects: string[] = await (await fetch(`${registry.url}/subjects`)).json();
      assert.deepEqual(subjects.sort(), [`${topics.alerts}-value`, `${topics.dlq}-value`].sort());
      const latest = await (await fetch(`${registry.url}/subjects/${topics.alerts}-value/versions/latest`))
        .json();
      assert.equal(latest.schemaType ?? "AVRO", format === "avro" ? "AVRO" : "JSON");
      // The stored alerts are the same as without framing.
      const listed = await eventually(
        async () => {
          const body = await (await fetch(`${agent.baseUrl}/alerts`)).json();
          return body.alerts.length === 2 ? body.alerts : undefined;
        },
        30_000,
        "2 stored alerts",
      );
      assert.equal(listed.length, 2);
      const raw = await kcatConsumeAll(topics.alerts);
      assert.equal(raw.length, 2);
    } finally {
      assert.equal(await agent.stop(), 0);
      await registry.stop();
    }
  });
}
