/** The raw event schemas a registry-aware producer uses in the registry tests (v1, v2, incompatible). */

/** The brief's raw event as Avro, version 1. */
export const RAW_AVRO_V1 = {
  type: "record",
  name: "RawEvent",
  namespace: "eventops.test",
  fields: [
    { name: "tenant_id", type: "string" },
    { name: "host", type: "string" },
    { name: "metric", type: "string" },
    { name: "value", type: "double" },
    { name: "ts_event", type: "string" },
    { name: "unit", type: "string" },
    { name: "tags", type: { type: "map", values: "string" }, default: {} },
  ],
};

/** Version 2: an added optional field (`site`, null by default): backward compatible. */
export const RAW_AVRO_V2 = {
  ...RAW_AVRO_V1,
  fields: [...RAW_AVRO_V1.fields, { name: "site", type: ["null", "string"], default: null }],
};

/** An incompatible change: a new required field without a default. */
export const RAW_AVRO_BREAKING = {
  ...RAW_AVRO_V1,
  fields: [...RAW_AVRO_V1.fields, { name: "rack", type: "string" }],
};

/** The brief's raw event as JSON Schema. */
export const RAW_JSON_SCHEMA = {
  $schema: "http://json-schema.org/draft-07/schema#",
  title: "RawEvent",
  type: "object",
  properties: {
    tenant_id: { type: "string", minLength: 1 },
    host: { type: "string", minLength: 1 },
    metric: { type: "string", minLength: 1 },
    value: { type: "number" },
    ts_event: { type: "string" },
    unit: { type: "string" },
    tags: { type: "object", additionalProperties: { type: "string" } },
  },
  required: ["tenant_id", "host", "metric", "value", "ts_event"],
};

/** One of the brief's events for `host` at minute `minute` of 2025-10-21 10:00 UTC. */
export function briefEvent(host: string, value: number, minute: number): Record<string, unknown> {
  return {
    tenant_id: "acme",
    host,
    metric: "cpu_load",
    value,
    ts_event: new Date(Date.UTC(2025, 9, 21, 10, minute, 0)).toISOString(),
    unit: "percent",
    tags: { env: "prod" },
  };
}
