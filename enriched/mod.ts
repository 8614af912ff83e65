/**
 * The `events.enriched` wire format and its codec, in one place: what the stateless group writes
 * and the stateful group reads.
 *
 * - `schema.ts`: the enriched batch (`eventops.enriched.batch`, `kafka.enriched_encoding: columns`),
 *   envelopes `v1` column by column; `schemas/enriched_batch.v1.schema.json` is generated from it.
 * - pack: {@link EnrichedBatchPacker} (`pack.ts`, with its reused columns in `row_columns.ts`) packs
 *   envelopes per partition of their series into batches under a byte limit (or, for the local
 *   topology, into batches kept as objects and read as views by {@link expandEnrichedBatch}).
 * - decode: {@link decodeEnriched} (`decode.ts`) reads a consumed message whichever way it was
 *   written (an enriched batch, `read.ts`; a JSON array of envelopes; one envelope, checked by
 *   `envelope_guard.ts`), and turns what it cannot read into dead letters.
 *
 * @module
 */
export {
  BATCH_COLUMNS,
  type BatchRows,
  type BatchSeries,
  ENRICHED_BATCH_FORMAT,
  type EnrichedBatch,
  EnrichedBatchSchema,
} from "./schema.ts";
export { EnrichedBatchPacker, MAX_BATCH_BYTES } from "./pack.ts";
export { type DecodedEnriched, decodeEnriched, type EnrichedMessage } from "./decode.ts";
export { expandEnrichedBatch } from "./read.ts";
