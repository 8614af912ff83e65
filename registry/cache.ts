/**
 * The decoders of the schemas seen, by id, bounded (least recently used out): a schema is fetched
 * and compiled once, then every message framed with its id decodes without a lookup. An id the
 * registry does not know (or a schema the agent cannot read) is kept as a reason for a while, so a
 * stream of such messages does not ask the registry for each.
 *
 * @module
 */
import type { Decoder } from "./decode.ts";

/** What the cache knows of an id: its decoder, or why its messages cannot be read. */
export type CachedSchema = { decoder: Decoder } | { unknown: string; untilMs: number };

/** How long an unknown id is remembered before it is asked for again. */
export const UNKNOWN_ID_TTL_MS = 30_000;

/** A bounded map of schema ids to decoders. */
export class SchemaCache {
  readonly #entries = new Map<number, CachedSchema>();
  readonly #capacity: number;

  /** A cache of at most `capacity` ids. */
  constructor(capacity: number) {
    this.#capacity = Math.max(1, capacity);
  }

  /** What is known of `id` now, or undefined (ask the registry). */
  get(id: number, nowMs: number = Date.now()): CachedSchema | undefined {
    const entry = this.#entries.get(id);
    if (entry === undefined) return undefined;
    if ("unknown" in entry && entry.untilMs <= nowMs) {
      this.#entries.delete(id);
      return undefined;
    }
    // Most recently used last.
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    return entry;
  }

  /** Remembers `entry` for `id`, dropping the least recently used id when full. */
  set(id: number, entry: CachedSchema): void {
    this.#entries.delete(id);
    this.#entries.set(id, entry);
    while (this.#entries.size > this.#capacity) {
      this.#entries.delete(this.#entries.keys().next().value as number);
    }
  }

  /** Ids held. */
  get size(): number {
    return this.#entries.size;
  }
}
