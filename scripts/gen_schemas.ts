/**
 * Generates `schemas/` from the zod contracts (the single source of truth): the envelope as JSON
 * Schema and as Avro (`envelope.avsc`, as in the brief), plus the alert and the enriched batch (the
 * default encoding of `events.enriched`) as JSON Schema.
 * Run with `deno task schemas`; a test checks the committed files are up to date.
 *
 * @module
 */
import { z } from "zod";
import { ENVELOPE_VERSION, EnvelopeSchema } from "../model/envelope.ts";
import { AlertSchema } from "../model/alert.ts";
import { EnrichedBatchSchema } from "../enriched/schema.ts";

type JsonSchema = {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  required?: string[];
  additionalProperties?: JsonSchema | boolean;
  anyOf?: JsonSchema[];
  const?: unknown;
  enum?: unknown[];
  description?: string;
};

type AvroType = string | { type: string; [key: string]: unknown } | AvroType[];

function avroType(schema: JsonSchema, name: string): AvroType {
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

function avroRecord(schema: JsonSchema, name: string): { type: string; [key: string]: unknown } {
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

/** The generated files: path -> content. */
export function generateSchemas(): Record<string, string> {
  const envelopeJson = z.toJSONSchema(EnvelopeSchema, { target: "draft-2020-12" }) as JsonSchema;
  const avro = {
    ...avroRecord(envelopeJson, "Envelope"),
    namespace: "io.eventops.v1",
    doc:
      `EventOps Flow normalized/enriched event envelope v${ENVELOPE_VERSION} (generated from model/envelope.ts)`,
  };
  return {
    "schemas/envelope.v1.schema.json": JSON.stringify(
      { $id: "https://eventops.io/schemas/envelope.v1.schema.json", title: "Envelope v1", ...envelopeJson },
      null,
      2,
    ) + "\n",
    "schemas/envelope.avsc": JSON.stringify(avro, null, 2) + "\n",
    "schemas/enriched_batch.v1.schema.json": JSON.stringify(
      {
        $id: "https://eventops.io/schemas/enriched_batch.v1.schema.json",
        title: "Enriched batch v1",
        description: "Envelopes v1 column by column (enriched/schema.ts). Not expressible here: every " +
          "rows column has one entry per event, and the index columns point into their dictionaries.",
        ...z.toJSONSchema(EnrichedBatchSchema, { target: "draft-2020-12" }),
      },
      null,
      2,
    ) + "\n",
    "schemas/alert.v1.schema.json": JSON.stringify(
      {
        $id: "https://eventops.io/schemas/alert.v1.schema.json",
        title: "Alert v1",
        ...z.toJSONSchema(AlertSchema),
      },
      null,
      2,
    ) + "\n",
  };
}

if (import.meta.main) {
  for (const [path, content] of Object.entries(generateSchemas())) {
    await Deno.writeTextFile(path, content);
    console.log(`wrote ${path}`);
  }
}
