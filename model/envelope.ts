/**
 * The normalized and enriched event envelope (`v1`): the one shape every stage after
 * normalization speaks. Defined once here; the JSON Schema and Avro files in `schemas/` are
 * generated from it.
 *
 * @module
 */
import { z } from "zod";

/** Where an event came from: enough to derive its deterministic id and to replay it. */
export const SourceSchema = z.object({
  topic: z.string().min(1),
  partition: z.int().nonnegative(),
  /** Canonical: no leading zeros (the store keeps offsets as numbers and derives ids from them). */
  offset: z.string().regex(/^(?:0|[1-9]\d*)$/, "offset must be a decimal string without leading zeros"),
  index: z.int().nonnegative(),
});
/** Where an event came from. */
export type Source = z.infer<typeof SourceSchema>;

/** A string-to-string map (tags, context labels). */
export const StringMapSchema = z.record(z.string(), z.string());

/** Envelope version written in every record. */
export const ENVELOPE_VERSION = 1;

/** The normalized (and, after enrichment, enriched) event. */
export const EnvelopeSchema = z.object({
  v: z.literal(ENVELOPE_VERSION),
  /** Deterministic: `<topic>:<partition>:<offset>:<index>`. */
  id: z.string().min(1),
  tenant: z.string().min(1),
  host: z.string().min(1),
  /** Canonical snake_case metric name. */
  metric: z.string().regex(/^[a-z][a-z0-9_]*$/),
  /** Value in the canonical unit of `unit`. */
  value: z.number(),
  /** Canonical unit (e.g. `percent`, `bytes`, `seconds`), or empty when none was given. */
  unit: z.string(),
  /** The unit the event arrived with, when it differed from the canonical one. */
  unit_original: z.string().optional(),
  /** Event time, epoch milliseconds UTC. */
  ts: z.int(),
  /** Time the agent ingested the event, epoch milliseconds UTC. */
  ts_ingest: z.int(),
  tags: StringMapSchema,
  /** Context from the inventory (site, role, owner, criticality, labels...). Empty before enrichment. */
  ctx: StringMapSchema,
  source: SourceSchema,
}).refine((envelope) => envelope.id === eventId(envelope.source), {
  path: ["id"],
  message: "must be <topic>:<partition>:<offset>:<index> of source (the store derives ids from sources)",
});
/** The normalized/enriched event. */
export type Envelope = z.infer<typeof EnvelopeSchema>;

/** Series key `tenant|host|metric`: the Kafka key of enriched events. */
export function seriesKey(event: Pick<Envelope, "tenant" | "host" | "metric">): string {
  return `${event.tenant}|${event.host}|${event.metric}`;
}

/** Deterministic event id from its source position. */
export function eventId(source: Source): string {
  return `${source.topic}:${source.partition}:${source.offset}:${source.index}`;
}

/**
 * An event as normalize makes it, before it is wrapped: the envelope without its version, id,
 * context and source. The stateless hot path hands these on with the message's source beside them,
 * so an event costs no id string and no source object ({@link toEnvelope} wraps one).
 */
export type NormalizedEvent = Omit<Envelope, "v" | "id" | "ctx" | "source">;

/**
 * The envelope of `event` read at `source`, with context `ctx`. The envelope keeps `source` and
 * `ctx`: pass objects you do not change afterwards.
 */
export function toEnvelope(event: NormalizedEvent, source: Source, ctx: Envelope["ctx"]): Envelope {
  const envelope: Envelope = {
    v: ENVELOPE_VERSION,
    id: eventId(source),
    tenant: event.tenant,
    host: event.host,
    metric: event.metric,
    value: event.value,
    unit: event.unit,
    ts: event.ts,
    ts_ingest: event.ts_ingest,
    tags: event.tags,
    ctx,
    source,
  };
  if (event.unit_original !== undefined) envelope.unit_original = event.unit_original;
  return envelope;
}
