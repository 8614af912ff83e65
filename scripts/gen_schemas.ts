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
import { avroRecord, type JsonSchema } from "../registry/avro.ts";

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
