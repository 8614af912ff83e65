/**
 * Series ids of the `series` table: the writer maps each event's descriptive columns (tenant, host,
 * metric, unit, original unit, tags, context, source topic) to an id, and appends only the id with
 * the event's numbers to `metric_rows`.
 *
 * The writer is the store's only writer, so ids are assigned here (next = max + 1) and new series
 * are inserted in the same transaction as the rows that use them. A new id is *pending* until that
 * transaction commits. When a transaction fails, the writer drops its `SeriesIds` and loads them
 * again from the store (a failed COMMIT may or may not have stored them). Two ids for equal columns
 * (e.g. JSON text written differently by an older version) would be harmless: the `metrics` view
 * joins by id; one id for two different series could never happen.
 *
 * @module
 */
import type { DuckDBConnection } from "@duckdb/node-api";
import type { Envelope } from "../model/envelope.ts";

/** A series row to insert: its id and the event that introduced it. */
export interface NewSeries {
  id: number;
  event: Envelope;
  tagsJson: string;
  ctxJson: string;
}

const NO_UNIT_ORIGINAL = "\u0000";

/** One level of the id trie: a node per value of the next column; `id` at the last level. */
interface Node {
  readonly next: Map<string, Node>;
  id: number;
}

function newNode(): Node {
  return { next: new Map(), id: -1 };
}

/** The child for `value`, created when missing. */
function step(node: Node, value: string): Node {
  let child = node.next.get(value);
  if (child === undefined) {
    child = newNode();
    node.next.set(value, child);
  }
  return child;
}

/**
 * Series ids, loaded from the store once, assigned for new combinations.
 *
 * The lookup walks a trie, one level per column, instead of building one key string per event:
 * the column strings of decoded events are shared between rows and V8 caches a string's hash, so
 * each level costs a map probe, while a concatenated key costs an allocation and a full hash
 * (measured: ~0.9 µs per event with a key string).
 */
export class SeriesIds {
  readonly #root = newNode();
  readonly #json = new WeakMap<object, string>();
  #size = 0;
  #next = 0;
  #pending: NewSeries[] = [];

  /** Loads the ids of the stored series. */
  static async load(conn: DuckDBConnection): Promise<SeriesIds> {
    const ids = new SeriesIds();
    const reader = await conn.runAndReadAll(
      "SELECT id, tenant, host, metric, unit, unit_original, tags, ctx, src_topic FROM series",
    );
    for (const [id, tenant, host, metric, unit, unitOriginal, tags, ctx, topic] of reader.getRows()) {
      const leaf = ids.#leaf(
        String(tenant),
        String(host),
        String(metric),
        String(unit),
        unitOriginal === null ? undefined : String(unitOriginal),
        String(topic),
        String(tags),
        String(ctx),
      );
      if (leaf.id < 0) ids.#size++;
      leaf.id = Number(id);
      ids.#next = Math.max(ids.#next, leaf.id + 1);
    }
    return ids;
  }

  /** Distinct series known (committed or pending). */
  get size(): number {
    return this.#size;
  }

  /** The id of the event's series; a new one is pending until {@link commit}. */
  idOf(event: Envelope): number {
    const tagsJson = this.#jsonOf(event.tags);
    const ctxJson = this.#jsonOf(event.ctx);
    const leaf = this.#leaf(
      event.tenant,
      event.host,
      event.metric,
      event.unit,
      event.unit_original,
      event.source.topic,
      tagsJson,
      ctxJson,
    );
    if (leaf.id < 0) {
      leaf.id = this.#next++;
      this.#size++;
      this.#pending.push({ id: leaf.id, event, tagsJson, ctxJson });
    }
    return leaf.id;
  }

  /** The series assigned since the last commit (to insert with the rows that use them). */
  get pending(): readonly NewSeries[] {
    return this.#pending;
  }

  /** The transaction committed: pending series are stored. */
  commit(): void {
    this.#pending = [];
  }

  #leaf(
    tenant: string,
    host: string,
    metric: string,
    unit: string,
    unitOriginal: string | undefined,
    topic: string,
    tagsJson: string,
    ctxJson: string,
  ): Node {
    // Most selective first: the upper levels stay small.
    let node = step(this.#root, host);
    node = step(node, metric);
    node = step(node, tenant);
    node = step(node, unit);
    node = step(node, unitOriginal ?? NO_UNIT_ORIGINAL);
    node = step(node, topic);
    node = step(node, tagsJson);
    return step(node, ctxJson);
  }

  /** JSON of a tags/context map, once per object (decoded batches share them between rows). */
  #jsonOf(map: Readonly<Record<string, string>>): string {
    let json = this.#json.get(map);
    if (json === undefined) {
      json = JSON.stringify(map);
      this.#json.set(map, json);
    }
    return json;
  }
}
