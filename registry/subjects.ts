/**
 * The agent's schemas as registry subjects (topic-name strategy: `<topic>-value`), JSON Schema made
 * from the zod contracts (the single source of truth): the raw event, the alert, the dead letter, and
 * the envelope v1 (`<enriched topic>-value`; the topic's default encoding is column-packed, the
 * envelope is what it carries).
 *
 * @module
 */
import { z } from "zod";
import type { Config } from "../config/schema.ts";
import { AlertSchema } from "../model/alert.ts";
import { DeadLetterSchema } from "../model/dlq.ts";
import { EnvelopeSchema } from "../model/envelope.ts";
import { RawEventSchema } from "../model/raw.ts";
import type { SchemaToRegister } from "./client.ts";
import { avroOf } from "./avro.ts";

/** One subject and the schema this build registers under it. */
export interface AgentSubject {
  subject: string;
  schema: SchemaToRegister;
}

/** The JSON Schema text of a zod contract, titled. */
function jsonSchemaOf(schema: z.ZodType, title: string): SchemaToRegister {
  const definition = { ...z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }), title };
  return { schemaType: "JSON", schema: JSON.stringify(definition) };
}

/** The namespace of the agent's Avro records. */
export const AVRO_NAMESPACE = "io.eventops.v1";

/** The Avro schema text of a zod contract. */
function avroSchemaOf(schema: z.ZodType, name: string): SchemaToRegister {
  return { schemaType: "AVRO", schema: JSON.stringify(avroOf(schema, name, AVRO_NAMESPACE)) };
}

/** The schemas of the topics the agent may frame (alerts, dead letters), in `schema_registry.produce`'s format. */
export function producedSubjects(config: Config): AgentSubject[] {
  const of = config.schema_registry.produce === "avro" ? avroSchemaOf : jsonSchemaOf;
  return [
    { subject: `${config.topics.alerts}-value`, schema: of(AlertSchema, "Alert") },
    { subject: `${config.topics.dlq}-value`, schema: of(DeadLetterSchema, "DeadLetter") },
  ];
}

/**
 * The subjects of the agent's topics (`config.topics`) with this build's schemas: the raw event and
 * the envelope as JSON Schema, the alert and the dead letter in the format the agent produces them
 * (Avro with `schema_registry.produce: avro`, else JSON Schema).
 */
export function agentSubjects(config: Config): AgentSubject[] {
  return [
    { subject: `${config.topics.raw}-value`, schema: jsonSchemaOf(RawEventSchema, "RawEvent") },
    { subject: `${config.topics.enriched}-value`, schema: jsonSchemaOf(EnvelopeSchema, "Envelope") },
    ...producedSubjects(config),
  ];
}
