/**
 * The `normalize` options compiled once per options object (alias table checked and snake-cased,
 * a cache of resolved metric names, the limits as text for reasons), and the normalizer reused
 * from message to message.
 *
 * @module
 */
import type { Config } from "../../config/schema.ts";
import { formatDuration } from "../../lib/duration.ts";
import { showValue } from "../../lib/format.ts";
import type { Normalizer } from "./messages.ts";
import {
  canonicalMetricName,
  MAX_METRIC_LENGTH,
  METRIC_PATTERN,
  type MetricResult,
  resolveMetric,
} from "./metric_names.ts";

/** The `normalize` section of the configuration, taken as is. */
export type NormalizeOptions = Config["normalize"];

/** The options compiled (see {@link compiled}). */
export interface Compiled {
  readonly options: NormalizeOptions;
  readonly aliases: ReadonlyMap<string, string>;
  readonly metrics: Map<string, MetricResult>;
  readonly skewText: string;
  readonly ageText: string;
  /** Created on first use (normalization is synchronous: one at a time per options object). */
  normalizer?: Normalizer;
}

const METRIC_CACHE_MAX = 10_000;
const COMPILED = new WeakMap<NormalizeOptions, Compiled>();

/**
 * Validates and precompiles the options (alias keys and targets snake-cased). `normalizeMessage`
 * does this once per options object; call it at startup to fail early on a bad alias table.
 * Throws an Error naming `normalize.aliases.<key>`.
 */
export function compileNormalizeOptions(options: NormalizeOptions): void {
  compiled(options);
}

/** The compiled form of `options`, made on first use. */
export function compiled(options: NormalizeOptions): Compiled {
  let found = COMPILED.get(options);
  if (found !== undefined) return found;
  const aliases = new Map<string, string>();
  for (const [from, to] of Object.entries(options.aliases)) {
    const key = canonicalMetricName(from);
    const target = canonicalMetricName(to);
    if (key === "") throw new Error(`normalize.aliases.${from}: alias name is empty after normalization`);
    if (!METRIC_PATTERN.test(target) || target.length > MAX_METRIC_LENGTH) {
      throw new Error(`normalize.aliases.${from}: target ${showValue(to)} is not a valid metric name`);
    }
    aliases.set(key, target);
  }
  found = {
    options,
    aliases,
    metrics: new Map(),
    skewText: formatDuration(options.max_future_skew),
    ageText: options.age_limit === "retention"
      ? `${
        formatDuration(options.max_age)
      }, the store's retention store.parquet.retention: older events would be deleted at once`
      : formatDuration(options.max_age),
  };
  COMPILED.set(options, found);
  return found;
}

/** The canonical (snake-cased, then aliased) metric name, or `{ reason }` when it is not usable. */
export function normalizeMetricName(name: string, options: NormalizeOptions): MetricResult {
  return metricOf(compiled(options), name);
}

/** The metric name result of `name`, from the cache. */
export function metricOf(c: Compiled, name: string): MetricResult {
  let result = c.metrics.get(name);
  if (result === undefined) {
    result = resolveMetric(name, c.aliases);
    if (c.metrics.size >= METRIC_CACHE_MAX) c.metrics.clear();
    c.metrics.set(name, result);
  }
  return result;
}
