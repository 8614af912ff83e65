/**
 * The features topic schedule: at most once per `every` of event time per series, a quiet series'
 * last state once the stream's clock passes its schedule, and every batch with `every = 0`.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { FeatureSchedule } from "../../../pipeline/feature_schedule.ts";
import type { FeatureSeries } from "../../../stages/features.ts";

/** A series whose newest event time the test moves. */
function series(host: string): { newest: number } & FeatureSeries {
  return { tenant: "t", host, metric: "cpu_load", newest: 0 };
}

function hosts(due: readonly FeatureSeries[]): string[] {
  return due.map((s) => s.host);
}

Deno.test("feature schedule: at most once per interval, then the quiet series' final state", () => {
  const schedule = new FeatureSchedule(1_000);
  const a = series("a");
  const b = series("b");
  a.newest = 0;
  schedule.changed(a);
  deepStrictEqual(hosts(schedule.due(0)), ["a"], "first change: published at once");
  a.newest = 400;
  schedule.changed(a);
  deepStrictEqual(hosts(schedule.due(400)), [], "400 ms later: waits");
  equal(schedule.pending, 1);
  a.newest = 999;
  schedule.changed(a);
  deepStrictEqual(hosts(schedule.due(999)), []);
  a.newest = 1_000;
  schedule.changed(a);
  deepStrictEqual(hosts(schedule.due(1_000)), ["a"], "1 s of event time later: published");
  a.newest = 1_500;
  schedule.changed(a);
  b.newest = 1_500;
  schedule.changed(b);
  deepStrictEqual(hosts(schedule.due(1_500)), ["b"], "b is new; a waits");
  // a goes quiet; b's events move the clock.
  b.newest = 1_900;
  schedule.changed(b);
  deepStrictEqual(hosts(schedule.due(1_900)), []);
  deepStrictEqual(hosts(schedule.due(2_000)), ["a"], "the clock passed a's schedule: its last state");
  equal(schedule.pending, 1, "b is still waiting");
  deepStrictEqual(hosts(schedule.due(2_000)), []);
  deepStrictEqual(hosts(schedule.due(2_500)), ["b"]);
  deepStrictEqual(hosts(schedule.due(9_000)), [], "unchanged series are not published again");
});

Deno.test("feature schedule: the clock never goes back (replayed or late batches)", () => {
  const schedule = new FeatureSchedule(1_000);
  const a = series("a");
  schedule.changed(a);
  schedule.due(5_000);
  a.newest = 200;
  schedule.changed(a);
  deepStrictEqual(hosts(schedule.due(Number.NEGATIVE_INFINITY)), ["a"], "clock stays at 5 s: a is due");
});

Deno.test("feature schedule: every = 0 publishes every changed series per batch", () => {
  const schedule = new FeatureSchedule(0);
  const a = series("a");
  const b = series("b");
  schedule.changed(a);
  schedule.changed(b);
  deepStrictEqual(hosts(schedule.due(0)), ["a", "b"]);
  schedule.changed(a);
  deepStrictEqual(hosts(schedule.due(0)), ["a"]);
  deepStrictEqual(hosts(schedule.due(0)), []);
});
