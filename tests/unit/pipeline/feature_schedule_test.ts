/**
 * The features topic schedule: a changed series at most once per `every` of processing time, its
 * final state with the first batch after that, and every batch with `every = 0`.
 */
import { deepStrictEqual, equal } from "node:assert/strict";
import { FeatureSchedule } from "../../../pipeline/feature_schedule.ts";
import type { FeatureSeries } from "../../../stages/features.ts";

function series(host: string): FeatureSeries {
  return { tenant: "t", host, metric: "cpu_load" };
}

function hosts(due: readonly FeatureSeries[]): string[] {
  return due.map((s) => s.host);
}

Deno.test("feature schedule: at most once per interval, then the quiet series' final state", () => {
  const schedule = new FeatureSchedule(1_000);
  const a = series("a");
  const b = series("b");
  schedule.changed(a);
  deepStrictEqual(hosts(schedule.due(10_000)), ["a"], "first change: published at once");
  schedule.changed(a);
  deepStrictEqual(hosts(schedule.due(10_400)), [], "400 ms later: waits");
  equal(schedule.pending, 1);
  schedule.changed(a);
  deepStrictEqual(hosts(schedule.due(10_999)), []);
  schedule.changed(a);
  schedule.changed(b);
  deepStrictEqual(hosts(schedule.due(11_000)), ["a", "b"], "a after 1 s; b is new");
  // a changes once more, then goes quiet; batches of b go on.
  schedule.changed(a);
  schedule.changed(b);
  deepStrictEqual(hosts(schedule.due(11_500)), []);
  deepStrictEqual(hosts(schedule.due(12_000)), ["a", "b"], "a's final state with the next batch after 1 s");
  equal(schedule.pending, 0);
  deepStrictEqual(hosts(schedule.due(20_000)), [], "unchanged series are not published again");
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
