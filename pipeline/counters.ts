/**
 * Per-stage counters the pipeline increments (events in/out/DLQ, unknown hosts, ...), exported as
 * the Prometheus counter `eventops_pipeline_events_total{stage,kind}` and kept for `/status`.
 *
 * @module
 */
import type { Counter, CounterChild, Registry } from "../api/metrics_registry.ts";

/** Adds to a counter identified by stage and kind. */
export interface PipelineCounters {
  add(stage: string, kind: string, amount: number): void;
}

/** Counters kept in memory, readable as a plain object, optionally mirrored to a registry. */
export class MemoryCounters implements PipelineCounters {
  readonly #values = new Map<string, number>();
  readonly #children = new Map<string, CounterChild>();
  readonly #family: Counter | undefined;

  /** Mirrors every counter to `registry` when given. */
  constructor(registry?: Registry) {
    this.#family = registry?.counter({
      name: "eventops_pipeline_events_total",
      help: "Events and messages per pipeline stage and kind (in, out, dlq, late, replayed, ...).",
      labelNames: ["stage", "kind"],
    });
  }

  /** Adds `amount` to `stage.kind`. */
  add(stage: string, kind: string, amount: number): void {
    if (amount === 0) return;
    const key = `${stage}.${kind}`;
    this.#values.set(key, (this.#values.get(key) ?? 0) + amount);
    if (this.#family) {
      let child = this.#children.get(key);
      if (!child) {
        child = this.#family.labels(stage, kind);
        this.#children.set(key, child);
      }
      child.inc(amount);
    }
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
