/**
 * Schema ids to decoders: what the cache holds answers at once ({@link SchemaResolver.lookup}, on
 * the hot path); what it does not is fetched from the registry in one go per batch
 * ({@link SchemaResolver.resolve}), which throws while the registry cannot be reached (the batch is
 * retried with backoff, nothing is dead-lettered for that).
 *
 * @module
 */
import type { Config } from "../config/schema.ts";
import { describeError } from "../lib/errors.ts";
import { RegistryClient } from "./client.ts";
import { type CachedSchema, SchemaCache, UNKNOWN_ID_TTL_MS } from "./cache.ts";
import { compileDecoder, type RegisteredSchema } from "./decode.ts";

/** Where schemas come from: the registry client, or a fake in unit tests. */
export interface SchemaSource {
  /** The schema of `id`, undefined when the registry does not know it; throws when unreachable. */
  schemaById(id: number): Promise<RegisteredSchema | undefined>;
}

/** What the builder asks: what is known of an id now (no I/O). */
export interface SchemaLookup {
  lookup(id: number): CachedSchema | undefined;
}

/** Resolves schema ids through a bounded cache. */
export class SchemaResolver implements SchemaLookup {
  readonly #source: SchemaSource;
  readonly #cache: SchemaCache;

  /** Fetches from `source`, keeps at most `capacity` ids. */
  constructor(source: SchemaSource, capacity: number) {
    this.#source = source;
    this.#cache = new SchemaCache(capacity);
  }

  /** What the cache knows of `id`. */
  lookup(id: number): CachedSchema | undefined {
    return this.#cache.get(id);
  }

  /**
   * What is known of each of `ids`, fetching those not cached (counted in `fetched`); throws when the
   * registry cannot be reached. The answer holds every id asked, even when the cache is smaller.
   */
  async resolve(ids: Iterable<number>): Promise<{ known: Map<number, CachedSchema>; fetched: number }> {
    const known = new Map<number, CachedSchema>();
    let fetched = 0;
    for (const id of ids) {
      if (known.has(id)) continue;
      let entry = this.#cache.get(id);
      if (entry === undefined) {
        const schema = await this.#source.schemaById(id);
        fetched++;
        entry = toEntry(id, schema);
        this.#cache.set(id, entry);
      }
      known.set(id, entry);
    }
    return { known, fetched };
  }
}

/** The cache entry of a fetched schema: its decoder, or why it cannot be read. */
function toEntry(id: number, schema: RegisteredSchema | undefined): CachedSchema {
  const untilMs = Date.now() + UNKNOWN_ID_TTL_MS;
  if (schema === undefined) return { unknown: `schema id ${id} is not in the schema registry`, untilMs };
  try {
    return { decoder: compileDecoder(id, schema) };
  } catch (error) {
    return { unknown: `schema id ${id} cannot be read: ${describeError(error)}`, untilMs };
  }
}

/** The resolver of `schema_registry` (its client and cache), or undefined when no registry is set. */
export function schemaResolverOf(config: Config): SchemaResolver | undefined {
  const registry = config.schema_registry;
  return registry.url === ""
    ? undefined
    : new SchemaResolver(new RegistryClient(registry), registry.cache_size);
}
