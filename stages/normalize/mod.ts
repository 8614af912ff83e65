/**
 * Normalize stage (pure): one Kafka message (bytes) -> normalized envelopes + rejects with reasons.
 *
 * - A message holds one JSON object, a JSON array of objects, or NDJSON lines (blank lines ignored;
 *   NDJSON is assumed when the whole text is not JSON but its first non-blank line is). Element `i`
 *   (0-based, counting non-blank lines) gets the id `<topic>:<partition>:<offset>:<i>`.
 * - Elements are validated against `RawEventSchema` (a zod-free check for the common valid shape,
 *   {@link conformsToRawSchema}; zod itself for everything else, to explain the problem), then:
 *   tenant/host trimmed, non-blank, at most 256 chars, no control characters, no `|` (the series
 *   key separator); metric snake-cased and aliased; value converted to its canonical unit
 *   (`canonicalUnit` of `lib/units.ts`); tags coerced to strings and bounded; timestamps parsed (see {@link parseTimestamp}) and checked against `max_future_skew`
 *   and `max_age` (0 = no age limit) relative to `nowMs`.
 * - A bad element is rejected alone; an unreadable message is rejected whole (index 0).
 * - Text must be valid Unicode: a message that is not valid UTF-8 is rejected whole, and an element
 *   whose tenant, host, metric, unit, tag key or tag value holds a lone surrogate (a JSON escape such
 *   as `\udfff` without its pair, which no UTF-8 text can hold) is rejected with the field named.
 *   Rejected rather than repaired with U+FFFD: the store never holds a text the sender did not
 *   send, and the DLQ keeps the original to fix and replay (see README, "Bad input").
 *
 * One file per concern: `messages.ts` (decoding a message, the normalizer), `fields.ts` (field
 * checks), `timestamps.ts`, `metric_names.ts`, `options.ts` (compiled options).
 *
 * @module
 */
export {
  type MessageSource,
  normalizeMessage,
  normalizeMessageTo,
  type NormalizeReject,
  type NormalizeResult,
  type NormalizeSink,
  REJECT_ORIGINAL_MAX_BYTES,
} from "./messages.ts";
export { conformsToRawSchema, MAX_NAME_LENGTH } from "./fields.ts";
export { EPOCH_CUTOFFS, parseTimestamp } from "./timestamps.ts";
export { canonicalMetricName, MAX_METRIC_LENGTH, type MetricResult } from "./metric_names.ts";
export { compileNormalizeOptions, normalizeMetricName, type NormalizeOptions } from "./options.ts";
