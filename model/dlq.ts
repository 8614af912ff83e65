/**
 * Dead-letter records: bad input with the original bytes, the stage and a readable reason.
 *
 * @module
 */
import { z } from "zod";

/** A message that could not be processed. */
export const DeadLetterSchema = z.object({
  stage: z.string(),
  reason: z.string(),
  source: z.object({ topic: z.string(), partition: z.int(), offset: z.string(), index: z.int().optional() }),
  /** The original bytes, as UTF-8 text when valid, else base64 (see `encoding`). */
  original: z.string(),
  encoding: z.enum(["utf8", "base64"]),
  ts: z.int(),
});
/** A message that could not be processed. */
export type DeadLetter = z.infer<typeof DeadLetterSchema>;
