/**
 * The node-api's own copy of `@duckdb/node-bindings` (the same native instance, so its vectors and
 * chunks are the ones `@duckdb/node-api` hands out), for the few C-API calls that `@duckdb/node-api`
 * does not expose without converting values.
 *
 * @module
 */
import type { DuckDBDataChunk } from "@duckdb/node-api";
import { createRequire } from "node:module";

/** A raw `duckdb_data_chunk` handle (what `DuckDBDataChunk.chunk` holds). */
export type RawChunk = DuckDBDataChunk["chunk"];
declare const rawVectorBrand: unique symbol;
/** An opaque `duckdb_vector` handle. */
export type RawVector = { readonly [rawVectorBrand]: true };

let loaded: Record<string, unknown> | null | undefined;

/**
 * The bindings module when `names` are all functions in it, else null (never throws).
 * Callers cast to their own narrow interface of the functions they checked.
 */
export function nodeBindings(names: readonly string[]): Record<string, unknown> | null {
  if (loaded === undefined) {
    loaded = null;
    try {
      const require = createRequire(import.meta.resolve("@duckdb/node-api"));
      const module: unknown = require("@duckdb/node-bindings");
      if (typeof module === "object" && module !== null) loaded = module as Record<string, unknown>;
    } catch {
      loaded = null;
    }
  }
  if (loaded === null) return null;
  const bindings = loaded;
  return names.every((name) => typeof bindings[name] === "function") ? bindings : null;
}
