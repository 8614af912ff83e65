/**
 * The pipeline's event counters, declared once with their stage and kind names: the stages add to
 * them (typed: a counter not declared here does not compile), `/prometheus` exports them as
 * `eventops_pipeline_events_total{stage,kind}` and `/status` reads them back as `"stage.kind"`
 * totals and rates.
 *
 * @module
 */
import { registerFamily } from "./families.ts";
import type { Counter, CounterChild, Registry } from "./registry.ts";

/** Every counter: its stage and the kinds counted there. */
export const PIPELINE_COUNTERS = {
  /** Raw messages read (`in`), events made (`out`), rejects (`dlq`), empty arrays (`empty`). */
  normalize: ["in", "out", "dlq", "empty"],
  /** Events whose host the inventory does not know. */
  enrich: ["unknown_host"],
  /** Enriched elements read (`in`) and rejected (`dlq`) by the stateful group. */
  stateful: ["in", "dlq"],
  /** Feature records published (`out`), events too late for their window (`late`). */
  features: ["out", "late"],
  /** Alert transitions emitted. */
  rules: ["alerts"],
  /** Events stored (`in`), events already stored (`replayed`). */
  store: ["in", "replayed"],
  /** Messages the broker refused, dead-lettered instead (`dlq`). */
  produce: ["dlq"],
  /**
   * Raw messages framed with a schema id (Confluent wire format): decoded (`framed`), dead-lettered
   * (`dlq`: unknown id, undecodable payload, no registry configured); schemas fetched from the
   * registry (`fetched`); batches retried because the registry could not be reached (`unavailable`).
   */
  schema_registry: ["framed", "dlq", "fetched", "unavailable"],
  /** The device's own metrics (`collect.host`): events produced (`out`), samples not produced (`failed`). */
  device: ["out", "failed"],
} as const;

/** A stage with counters. */
export type CounterStage = keyof typeof PIPELINE_COUNTERS;
/** A kind counted at `S`. */
export type CounterKind<S extends CounterStage> = (typeof PIPELINE_COUNTERS)[S][number];
/** A counter as `/status` names it: `"normalize.in"`. */
export type CounterKey = { [S in CounterStage]: `${S}.${CounterKind<S>}` }[CounterStage];

/** One declared counter, as a value (it crosses from the stateless worker thread as one). */
export type CounterName = { [S in CounterStage]: { stage: S; kind: CounterKind<S> } }[CounterStage];

/** The stages that count dead letters (`<stage>.dlq`). */
export const DLQ_STAGES: readonly CounterStage[] = (Object.keys(PIPELINE_COUNTERS) as CounterStage[])
  .filter((stage) => (PIPELINE_COUNTERS[stage] as readonly string[]).includes("dlq"));

/** Whether `stage` and `kind` name a declared counter (for values that cross a thread as strings). */
export function isCounter(stage: string, kind: string): stage is CounterStage {
  return Object.hasOwn(PIPELINE_COUNTERS, stage) &&
    (PIPELINE_COUNTERS[stage as CounterStage] as readonly string[]).includes(kind);
}

/** Adds to a counter identified by stage and kind. */
export interface PipelineCounters {
  add<S extends CounterStage>(stage: S, kind: CounterKind<S>, amount: number): void;
}

/** Adds `amount` to a counter given as a value ({@link CounterName}). */
export function addCount(counters: PipelineCounters, counter: CounterName, amount: number): void {
  // The pair is a declared one by its type; TypeScript cannot relate the union's stage and kind.
  counters.add(counter.stage, counter.kind as CounterKind<typeof counter.stage> as never, amount);
}

/** Counters kept in memory, readable as a plain object, optionally mirrored to a registry. */
export class MemoryCounters implements PipelineCounters {
  readonly #values = new Map<CounterKey, number>();
  readonly #children = new Map<CounterKey, CounterChild>();
  readonly #family: Counter | undefined;

  /** Mirrors every counter to `registry` (`eventops_pipeline_events_total`) when given. */
  constructor(registry?: Registry) {
    this.#family = registry === undefined ? undefined : registerFamily(registry, "pipelineEvents");
  }

  /** Adds `amount` to `stage.kind`. */
  add<S extends CounterStage>(stage: S, kind: CounterKind<S>, amount: number): void {
    if (amount === 0) return;
    const key = `${stage}.${kind}` as CounterKey;
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
  get<S extends CounterStage>(stage: S, kind: CounterKind<S>): number {
    return this.#values.get(`${stage}.${kind}` as CounterKey) ?? 0;
  }

  /** Every counter counted so far, as `{ "stage.kind": value }`. */
  snapshot(): Partial<Record<CounterKey, number>> {
    return Object.fromEntries(this.#values);
  }
}
