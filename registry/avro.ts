/**
 * Avro from the JSON Schema of a zod contract (pure): the envelope's `schemas/envelope.avsc`
 * (`deno task schemas`) and the alert and dead-letter schemas the agent registers when
 * `schema_registry.produce` is `avro`.
 *
 * @module
 */
import { z } from "zod";

/** The part of a JSON Schema (as zod writes it) that maps to Avro. */
export type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  description?: string;
};

/** An Avro type. */
export type AvroType = string | { type: string; [key: string]: unknown } | AvroType[];

/** The Avro type of a JSON Schema (`name` names records and enums). */
export function avroType(schema: JsonSchema, name: string): AvroType {
  if (schema.anyOf) return schema.anyOf.map((option) => avroType(option, name)) as AvroType[];
  if (schema.const !== undefined) return typeof schema.const === "number" ? "int" : "string";
  if (schema.enum) return { type: "enum", name, symbols: schema.enum.map(String) };
  switch (schema.type) {
    case "string":
      return "string";
    case "integer":
      return "long";
    case "number":
      return "double";
    case "boolean":
      return "boolean";
    case "null":
      return "null";
    case "object":
      if (schema.properties) return avroRecord(schema, name);
      return { type: "map", values: avroType(schema.additionalProperties as JsonSchema, `${name}_value`) };
    default:
      throw new Error(`no Avro mapping for ${JSON.stringify(schema)}`);
  }
}

/** The Avro record of an object JSON Schema: a field not required is a union with null, default null. */
export function avroRecord(schema: JsonSchema, name: string): { type: string; [key: string]: unknown } {
  const required = new Set(schema.required ?? []);
  return {
    type: "record",
    name,
    fields: Object.entries(schema.properties ?? {}).map(([field, fieldSchema]) => {
      const type = avroType(fieldSchema, field);
      return required.has(field)
        ? { name: field, type }
        : { name: field, type: ["null", type], default: null };
    }),
  };
}

/** The Avro record schema of a zod object contract, named `name` in `namespace`. */
export function avroOf(schema: z.ZodType, name: string, namespace: string): Record<string, unknown> {
  const json = z.toJSONSchema(schema, { target: "draft-2020-12" }) as JsonSchema;
  return { ...avroRecord(json, name), namespace };
}
