/**
 * Registration through the real registry: `eventops init` registers the agent's subjects idempotently
 * with BACKWARD compatibility (EVENTOPS_SCHEMA_REGISTRY_URL), `eventops schemas check` exits 0 when
 * compatible and 1 when not, `eventops schemas push` registers; an incompatible producer schema is
 * refused by the registry (409) through the real Python serializer.
 */
import assert from "node:assert/strict";
import { runEventops, uniqueName, writeTestConfig } from "../../../testing/agent.ts";
import { confluentProduce, startRegistry } from "../../../testing/schema_registry.ts";
import { briefEvent, RAW_AVRO_BREAKING, RAW_AVRO_V1, RAW_AVRO_V2 } from "./fixtures.ts";

const JSON_TYPE = { "Content-Type": "application/vnd.schemaregistry.v1+json" };

Deno.test("init registers the subjects once with BACKWARD; schemas check and push; incompatible refused", async () => {
  const registry = await startRegistry();
  try {
    const name = uniqueName("registry-subjects");
    const { file, topics } = await writeTestConfig(name);
    const env = { EVENTOPS_SCHEMA_REGISTRY_URL: registry.url };
    const subjects = [
      `${topics.raw}-value`,
      `${topics.enriched}-value`,
      `${topics.alerts}-value`,
      `${topics.dlq}-value`,
    ];

    const first = await runEventops(["init", "--config", file], env);
    assert.equal(first.code, 0, first.stderr);
    for (const subject of subjects) {
      assert.match(first.stdout, new RegExp(`registered +${subject} \\(id \\d+\\)`));
    }
    const again = await runEventops(["init", "--config", file], env);
    assert.equal(again.code, 0, again.stderr);
    for (const subject of subjects) assert.match(again.stdout, new RegExp(`exists +${subject}`));
    for (const subject of subjects) {
      const versions = await (await fetch(`${registry.url}/subjects/${subject}/versions`)).json();
      assert.deepEqual(versions, [1], `${subject} registered once`);
      const config = await (await fetch(`${registry.url}/config/${subject}`)).json();
      assert.equal(config.compatibilityLevel, "BACKWARD");
    }
    const check = await runEventops(["schemas", "check", "--config", file], env);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, new RegExp(`^compatible +${topics.alerts}-value`, "m"));
    const push = await runEventops(["schemas", "push", "--config", file], env);
    assert.equal(push.code, 0, push.stderr);

    // The registry's latest raw schema has `value` as a string (registered with the check off):
    // this build's (a number) cannot read that data, so check fails, and push is refused (409).
    await fetch(`${registry.url}/config/${topics.raw}-value`, {
      method: "PUT",
      headers: JSON_TYPE,
      body: JSON.stringify({ compatibility: "NONE" }),
    }).then((response) => response.body?.cancel());
    const stringValue = {
      type: "object",
      title: "RawEvent",
      properties: { value: { type: "string" } },
      required: ["value"],
    };
    const forced = await fetch(`${registry.url}/subjects/${topics.raw}-value/versions`, {
      method: "POST",
      headers: JSON_TYPE,
      body: JSON.stringify({ schemaType: "JSON", schema: JSON.stringify(stringValue) }),
    });
    assert.equal(forced.status, 200, await forced.clone().text());
    await fetch(`${registry.url}/config/${topics.raw}-value`, {
      method: "PUT",
      headers: JSON_TYPE,
      body: JSON.stringify({ compatibility: "BACKWARD" }),
    }).then((response) => response.body?.cancel());
    const incompatible = await runEventops(["schemas", "check", "--config", file], env);
    assert.equal(incompatible.code, 1, incompatible.stdout + incompatible.stderr);
    assert.match(incompatible.stdout, new RegExp(`incompatible +${topics.raw}-value`));
    assert.match(incompatible.stdout, new RegExp(`^compatible +${topics.alerts}-value`, "m"));
  } finally {
    await registry.stop();
  }
});

Deno.test("the registry takes a v2 with an optional field and refuses (409) an incompatible producer schema", async () => {
  const registry = await startRegistry();
  try {
    const topic = `${uniqueName("registry-409")}.raw`;
    const produce = (schema: unknown) =>
      confluentProduce({
        registry: registry.url,
        topic,
        format: "avro",
        schema: JSON.stringify(schema),
        events: [briefEvent("host-a", 85, 0)],
      });
    const v1 = await produce(RAW_AVRO_V1);
    const v2 = await produce(RAW_AVRO_V2);
    assert.ok(v2.schema_id > v1.schema_id);
    await assert.rejects(produce(RAW_AVRO_BREAKING), /409/);
    const versions = await (await fetch(`${registry.url}/subjects/${topic}-value/versions`)).json();
    assert.deepEqual(versions, [1, 2]);
  } finally {
    await registry.stop();
  }
});
