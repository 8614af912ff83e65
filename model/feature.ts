/**
 * Feature records: rolling statistics per series and window, published to the features topic.
 *
 * @module
 */
import { z } from "zod";

/** Names of the features a window computes; rules may test any of them. */
export const FeatureNameSchema = z.enum([
  "count",
  "avg",
  "min",
  "max",
  "last",
  "ewma",
  "rate",
  "counter_rate",
  "zscore",
]);
/** A feature name. */
export type FeatureName = z.infer<typeof FeatureNameSchema>;

/** Rolling statistics of one series over one window, as of the event `ts`. */
export const FeatureRecordSchema = z.object({
  tenant: z.string(),
  host: z.string(),
  metric: z.string(),
  /** Window label as configured, e.g. `1m`. */
  window: z.string(),
  /** Event time of the latest event included, epoch ms UTC. */
  ts: z.int(),
  count: z.int().nonnegative(),
  avg: z.number(),
  min: z.number(),
  max: z.number(),
  last: z.number(),
  ewma: z.number(),
  /** Change of value per second between the first and last event in the window (0 with one event). */
  rate: z.number(),
  /**
   * A counter's increase per second over the window (Prometheus `rate` without extrapolation): the sum
   * of the rises between consecutive events, a fall counted as a reset (the counter restarted from 0,
   * so the rise is the new value), divided by the seconds between the first and last event; 0 with one
   * event. For monotonic counters (OTLP monotonic sums, Prometheus `_total`, Influx counters).
   */
  counter_rate: z.number(),
  /** (last - avg) / stddev over the window; 0 when the stddev is 0. */
  zscore: z.number(),
});
/** Rolling statistics of one series over one window. */
export type FeatureRecord = z.infer<typeof FeatureRecordSchema>;
