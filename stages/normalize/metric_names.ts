/**
 * Metric names (pure): any spelling to canonical snake_case, then aliases, checked against the
 * envelope's metric pattern and length limit.
 *
 * @module
 */
import { showValue } from "../../lib/format.ts";

/** Longest canonical metric name. */
export const MAX_METRIC_LENGTH = 128;

const NON_ASCII = /[^ -~]/; // anything outside printable ASCII (control characters are replaced anyway)
const COMBINING_MARKS = /[\u0300-\u036f]/g;
const ACRONYM_BOUNDARY = /([A-Z]+)([A-Z][a-z])/g;
const CAMEL_BOUNDARY = /([a-z0-9])([A-Z])/g;
const NON_ALNUM = /[^A-Za-z0-9]+/g;
const EDGE_UNDERSCORES = /^_+|_+$/g;
/** A canonical metric name, as the envelope requires it. */
export const METRIC_PATTERN = /^[a-z][a-z0-9_]*$/;

/**
 * Canonical snake_case of a metric name, before aliases: `cpu.load`, `CPU_Load`, `cpuLoad`,
 * `cpu-load`, ` cpu load ` -> `cpu_load`; accents dropped (`température` -> `temperature`).
 * May return `""` or a name starting with a digit; {@link normalizeMetricName} rejects those.
 */
export function canonicalMetricName(name: string): string {
  let text = name.trim();
  if (NON_ASCII.test(text)) text = text.normalize("NFKD").replace(COMBINING_MARKS, "");
  return text.replace(ACRONYM_BOUNDARY, "$1_$2").replace(CAMEL_BOUNDARY, "$1_$2").replace(NON_ALNUM, "_")
    .replace(EDGE_UNDERSCORES, "").toLowerCase();
}

/** A normalized metric name, or the reason it is unusable. */
export type MetricResult = { readonly name: string; readonly reason?: undefined } | {
  readonly name?: undefined;
  readonly reason: string;
};

/** The canonical, aliased name of `raw`, or why it is not usable. */
export function resolveMetric(raw: string, aliases: ReadonlyMap<string, string>): MetricResult {
  const canonical = canonicalMetricName(raw);
  const name = aliases.get(canonical) ?? canonical;
  if (name === "") return { reason: `metric: ${showValue(raw)} is empty after normalization` };
  if (name.length > MAX_METRIC_LENGTH) {
    return {
      reason: `metric: ${
        showValue(raw)
      } is ${name.length} chars after normalization, over the ${MAX_METRIC_LENGTH}-char limit`,
    };
  }
  if (!METRIC_PATTERN.test(name)) {
    return {
      reason: `metric: ${showValue(raw)} must start with a letter (normalized to ${showValue(name)})`,
    };
  }
  return { name };
}
