/**
 * The raw telemetry event as producers send it (the brief's shape, with a few accepted aliases).
 *
 * @module
 */
import { z } from "zod";

/** A timestamp as sent: ISO 8601 string with an offset, or epoch seconds/milliseconds/microseconds. */
export const RawTimestampSchema = z.union([z.string().min(1), z.number()]);

/** One raw event. Unknown extra fields are ignored. */
export const RawEventSchema = z.object({
  tenant_id: z.string().min(1, "tenant_id must be a non-empty string"),
  host: z.string().min(1, "host must be a non-empty string"),
  metric: z.string().min(1, "metric must be a non-empty string"),
  value: z.number(),
  ts_event: RawTimestampSchema,
  unit: z.string().optional(),
  tags: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
});
/** One raw event. */
export type RawEvent = z.infer<typeof RawEventSchema>;
