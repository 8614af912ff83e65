/**
 * OTLP distributions (pure): histogram, exponential histogram and summary data points to the one
 * shape the OTLP converter emits as Prometheus-style series: a count, a sum, cumulative buckets by
 * upper bound (`le`, `+Inf` last) and, for summaries, values at quantiles.
 *
 * Bucket bounds are converted to the canonical unit of the metric's unit (`lib/units.ts`), the
 * unit the normalize stage stores `_sum` and quantile values in: a histogram in `ms` has its `le`
 * bounds in seconds, like its sum.
 *
 * An exponential histogram becomes the same cumulative buckets as an explicit one. With
 * `base = 2^(2^-scale)`, positive bucket `i` (`offset + k`) holds values in `(base^i, base^(i+1)]`,
 * so its `le` is `base^(i+1)`; negative bucket `i` holds values in `[-base^(i+1), -base^i)`, so
 * its `le` is `-base^i` (most negative first); the zero bucket (`|v| <= zero_threshold`) comes
 * between them with `le` = the zero threshold (`0` when none), and `+Inf` holds the count. This is
 * the classic form Prometheus gives a native histogram; a value exactly on a negative bound is
 * counted one bucket higher than its `le` says.
 *
 * A point that cannot be read as a whole (a count that is not a count, buckets that do not add up to
 * the count, a bound that is not finite or not ascending, a scale out of OTLP's -10..20, too many
 * buckets) is refused with the reason, never half taken.
 *
 * @module
 */
import { type CanonicalUnit, convertValue } from "../lib/units.ts";

/** Most buckets an exponential histogram point may have on each side (the SDKs' default is 160). */
export const MAX_EXPONENTIAL_BUCKETS = 1_024;

/** The scales OTLP defines for exponential histograms. */
export const EXPONENTIAL_SCALES = { min: -10, max: 20 } as const;

/** One cumulative bucket: how many values are at most `le` (a bound in the canonical unit, or `+Inf`). */
export interface CumulativeBucket {
  le: string;
  count: number;
}

/** A distribution point read for emission. */
export interface Distribution {
  count: number;
  /** The sum of the values, in the metric's unit (absent when the point has none). */
  sum?: number;
  /** Cumulative buckets, ascending by bound, `+Inf` (= count) last; empty for summaries. */
  buckets: CumulativeBucket[];
  /** Values at quantiles (summaries only), in the metric's unit; a non-finite value is left to the caller. */
  quantiles: { quantile: string; value: number }[];
}

/** A histogram point (proto3-JSON shape as protobufjs gives it: 64-bit integers as strings). */
export interface HistogramPoint {
  count?: string | number;
  sum?: number;
  bucketCounts?: (string | number)[];
  explicitBounds?: number[];
}

/** An exponential histogram point's bucket side. */
export interface ExponentialBuckets {
  offset?: number;
  bucketCounts?: (string | number)[];
}

/** An exponential histogram point. */
export interface ExponentialHistogramPoint {
  count?: string | number;
  sum?: number;
  scale?: number;
  zeroCount?: string | number;
  zeroThreshold?: number;
  positive?: ExponentialBuckets;
  negative?: ExponentialBuckets;
}

/** A summary point. */
export interface SummaryPoint {
  count?: string | number;
  sum?: number;
  quantileValues?: { quantile?: number; value?: number }[];
}

/** Thrown inside this module for a point that is refused; turned into a reason string. */
class Refused extends Error {}

/** A count: a non-negative integer a double holds exactly (a negative one arrives as 2^64 - n). */
function countOf(value: string | number | undefined, what: string): number {
  const count = value === undefined ? 0 : Number(value);
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new Refused(`${what} ${value} is not a count (a whole number from 0 to 2^53)`);
  }
  return count;
}

function sumOf(sum: number | undefined): number | undefined {
  if (sum !== undefined && !Number.isFinite(sum)) throw new Refused(`sum ${sum} is not a finite number`);
  return sum;
}

function boundText(bound: number, unit: CanonicalUnit): string {
  const converted = convertValue(bound, unit);
  if (!Number.isFinite(converted)) throw new Refused(`bucket bound ${bound} is not a finite number`);
  return String(converted);
}

function checkTotal(count: number, total: number): void {
  if (total !== count) throw new Refused(`the buckets hold ${total} values but count is ${count}`);
}

function refusal<T>(read: () => T): T | string {
  try {
    return read();
  } catch (err) {
    if (err instanceof Refused) return err.message;
    throw err;
  }
}

/** An explicit-bucket histogram point, or the reason it is refused. */
export function explicitHistogram(point: HistogramPoint, unit: CanonicalUnit): Distribution | string {
  return refusal(() => {
    const count = countOf(point.count, "count");
    const sum = sumOf(point.sum);
    const bounds = point.explicitBounds ?? [];
    const counts = point.bucketCounts ?? [];
    const buckets: CumulativeBucket[] = [];
    if (counts.length > 0) {
      if (counts.length !== bounds.length + 1) {
        throw new Refused(`${counts.length} bucket counts for ${bounds.length} bounds (must be one more)`);
      }
      let cumulative = 0;
      bounds.forEach((bound, i) => {
        if (i > 0 && !(bound > bounds[i - 1])) {
          throw new Refused(`bucket bounds ${bounds[i - 1]}, ${bound} are not ascending`);
        }
        cumulative += countOf(counts[i], "bucket count");
        buckets.push({ le: boundText(bound, unit), count: cumulative });
      });
      cumulative += countOf(counts[bounds.length], "bucket count");
      checkTotal(count, cumulative);
      buckets.push({ le: "+Inf", count });
    }
    return { count, sum, buckets, quantiles: [] };
  });
}

/** `base^index` for `base = 2^(2^-scale)`; refused when it is not a positive finite double. */
function power(scale: number, index: number): number {
  const bound = 2 ** (index * 2 ** -scale);
  if (!Number.isFinite(bound) || bound === 0) {
    throw new Refused(`bucket index ${index} at scale ${scale} has a bound beyond a double's range`);
  }
  return bound;
}

function side(buckets: ExponentialBuckets | undefined, name: string): { offset: number; counts: number[] } {
  const raw = buckets?.bucketCounts ?? [];
  if (raw.length > MAX_EXPONENTIAL_BUCKETS) {
    throw new Refused(`${raw.length} ${name} buckets (at most ${MAX_EXPONENTIAL_BUCKETS})`);
  }
  return { offset: buckets?.offset ?? 0, counts: raw.map((value) => countOf(value, `${name} bucket count`)) };
}

/** An exponential histogram point as cumulative buckets (see the module doc), or the reason it is refused. */
export function exponentialHistogram(
  point: ExponentialHistogramPoint,
  unit: CanonicalUnit,
): Distribution | string {
  return refusal(() => {
    const count = countOf(point.count, "count");
    const sum = sumOf(point.sum);
    const scale = point.scale ?? 0;
    if (!Number.isInteger(scale) || scale < EXPONENTIAL_SCALES.min || scale > EXPONENTIAL_SCALES.max) {
      throw new Refused(`scale ${scale} is outside ${EXPONENTIAL_SCALES.min}..${EXPONENTIAL_SCALES.max}`);
    }
    const threshold = point.zeroThreshold ?? 0;
    if (!Number.isFinite(threshold) || threshold < 0) {
      throw new Refused(`zero threshold ${threshold} is not a finite number >= 0`);
    }
    const negative = side(point.negative, "negative");
    const positive = side(point.positive, "positive");
    const buckets: CumulativeBucket[] = [];
    let cumulative = 0;
    for (let k = negative.counts.length - 1; k >= 0; k--) {
      cumulative += negative.counts[k];
      buckets.push({ le: boundText(-power(scale, negative.offset + k), unit), count: cumulative });
    }
    cumulative += countOf(point.zeroCount, "zero count");
    // A positive bucket entirely within the zero threshold belongs to the zero bucket.
    let k = 0;
    for (; k < positive.counts.length && power(scale, positive.offset + k + 1) <= threshold; k++) {
      cumulative += positive.counts[k];
    }
    buckets.push({ le: boundText(threshold, unit), count: cumulative });
    for (; k < positive.counts.length; k++) {
      cumulative += positive.counts[k];
      buckets.push({ le: boundText(power(scale, positive.offset + k + 1), unit), count: cumulative });
    }
    checkTotal(count, cumulative);
    buckets.push({ le: "+Inf", count });
    return { count, sum, buckets, quantiles: [] };
  });
}

/** A summary point, or the reason it is refused (a quantile outside 0..1). */
export function summary(point: SummaryPoint): Distribution | string {
  return refusal(() => {
    const count = countOf(point.count, "count");
    const sum = sumOf(point.sum ?? 0);
    const quantiles = (point.quantileValues ?? []).map(({ quantile = 0, value = 0 }) => {
      if (!(quantile >= 0 && quantile <= 1)) throw new Refused(`quantile ${quantile} is outside 0..1`);
      return { quantile: String(quantile), value };
    });
    return { count, sum, buckets: [], quantiles };
  });
}
