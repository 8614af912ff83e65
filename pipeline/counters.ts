/**
 * Per-stage counters the pipeline increments (events in/out/DLQ, unknown hosts, ...).
 *
 * @module
 */

/** Adds to a counter identified by stage and kind. */
export interface PipelineCounters {
  add(stage: string, kind: string, amount: number): void;
}

/** Counters kept in memory, readable as a plain object (used by `/status` and tests). */
export class MemoryCounters implements PipelineCounters {
  readonly #values = new Map<string, number>();

  /** Adds `amount` to `stage.kind`. */
  add(stage: string, kind: string, amount: number): void {
    if (amount === 0) return;
    const key = `${stage}.${kind}`;
    this.#values.set(key, (this.#values.get(key) ?? 0) + amount);
  }

  /** Current value of `stage.kind`. */
  get(stage: string, kind: string): number {
    return this.#values.get(`${stage}.${kind}`) ?? 0;
  }

  /** All counters as `{ "stage.kind": value }`. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#values);
  }
}
