/** Framing the alerts and dead letters (`schema_registry.produce`), with a stand-in registry. */
import assert from "node:assert/strict";
import avro from "avsc";
import { ConfigSchema } from "../../../config/schema.ts";
import { framingSender, MessageFramer } from "../../../registry/framing.ts";
import { payloadOf, schemaIdOf } from "../../../registry/wire.ts";
import type { SchemaToRegister } from "../../../registry/client.ts";

function registry(known: Record<string, number>, down = false) {
  const registered: string[] = [];
  return {
    registered,
    lookup: (subject: string, _schema: SchemaToRegister) =>
      down ? Promise.reject(new Error("down")) : Promise.resolve(known[subject]),
    register: (subject: string, _schema: SchemaToRegister) => {
      registered.push(subject);
      return Promise.resolve(100 + registered.length);
    },
  };
}

const ALERT = {
  id: "a",
  fingerprint: "f",
  rule: "r",
  tenant: "acme",
  host: "h",
  metric: "cpu_load",
  severity: "warning",
  state: "firing",
  value: 85,
  threshold: 80,
  starts_at: 1,
  ends_at: null,
  ts: 1,
  labels: {},
  annotations: {},
};

Deno.test("framing: json puts the id before the JSON of alerts and dead letters, other topics untouched; missing subjects registered", async () => {
  const config = ConfigSchema.parse({ schema_registry: { url: "http://registry:8081", produce: "json" } });
  const stand = registry({ "alerts.agent-value": 7 });
  type Message = { topic: string; value: Buffer };
  const sent: Message[][] = [];
  const sender = framingSender<Message>(
    { send: ({ messages }) => Promise.resolve(void sent.push(messages)) },
    new MessageFramer(config, stand),
  );
  const json = Buffer.from(JSON.stringify(ALERT));
  await sender.send({
    messages: [{ topic: "alerts.agent", value: json }, { topic: "dlq.agent", value: json }, {
      topic: "features.agent",
      value: json,
    }],
  });
  const [alert, dead, feature] = sent[0];
  assert.equal(schemaIdOf(alert.value), 7);
  assert.equal(Buffer.from(payloadOf(alert.value)).toString(), json.toString());
  assert.equal(schemaIdOf(dead.value), 101);
  assert.deepEqual(stand.registered, ["dlq.agent-value"]);
  assert.equal(feature.value, json);
});

Deno.test("framing: avro re-encodes the JSON with the registered Avro schema", async () => {
  const config = ConfigSchema.parse({ schema_registry: { url: "http://registry:8081", produce: "avro" } });
  const schemas: Record<string, string> = {};
  const framer = new MessageFramer(config, {
    lookup: (subject, schema) => {
      schemas[subject] = schema.schema;
      return Promise.resolve(3);
    },
    register: () => Promise.reject(new Error("not expected")),
  });
  await framer.ready();
  const framed = framer.frame({ topic: "alerts.agent", value: Buffer.from(JSON.stringify(ALERT)) });
  const type = avro.Type.forSchema(JSON.parse(schemas["alerts.agent-value"]), { wrapUnions: false });
  assert.equal(schemaIdOf(framed.value), 3);
  assert.deepEqual({ ...type.fromBuffer(Buffer.from(payloadOf(framed.value))) }, ALERT);
});

Deno.test("framing: a registry that cannot be reached fails the send (retried like a broker outage); produce needs url", async () => {
  const config = ConfigSchema.parse({ schema_registry: { url: "http://registry:8081", produce: "json" } });
  let sends = 0;
  const sender = framingSender(
    { send: () => Promise.resolve(void sends++) },
    new MessageFramer(config, registry({}, true)),
  );
  await assert.rejects(
    sender.send({ messages: [{ topic: "alerts.agent", value: Buffer.from("{}") }] }),
    /down/,
  );
  assert.equal(sends, 0);
  assert.throws(
    () => ConfigSchema.parse({ schema_registry: { produce: "json" } }),
    /schema_registry.produce needs schema_registry.url/,
  );
});
