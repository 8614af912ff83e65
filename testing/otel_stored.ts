/**
 * What the agent stored for the OpenTelemetry SDK samples (`testing/otel_sdk.ts`), read back from
 * `GET /metrics/:metric` of the SDK's host: shared by the end-to-end tests that send them by
 * different routes (OTLP/HTTP, Kafka inputs, an OpenTelemetry Collector).
 *
 * @module
 */
import assert from "node:assert/strict";
import { eventually } from "./eventually.ts";
import { EXPONENTIAL_SAMPLE_VALUES, OTEL_SAMPLE_HOST as HOST } from "./otel_sdk.ts";

/** A stored point. */
export type Point = { value: number; tags: Record<string, string> };

/** The points of `metric` of the SDK's host for `tenant`, once at least `atLeast` are stored. */
export function pointsOf(base: string, metric: string, tenant: string, atLeast: number): Promise<Point[]> {
  return eventually(
    async () => {
      const response = await fetch(
        `${base}/metrics/${metric}?${new URLSearchParams({ tenant, host: HOST })}`,
      );
      const body = await response.json();
      if (response.status === 404) return undefined;
      assert.equal(response.status, 200, JSON.stringify(body));
      return body.points.length >= atLeast ? body.points as Point[] : undefined;
    },
    30_000,
    `${atLeast} points of ${metric} (${tenant})`,
  );
}

/** Bucket counts by `le`, each bound stored once. */
export function bucketsByBound(points: Point[]): Map<string, number> {
  const byBound = new Map<string, number>();
  for (const { value, tags } of points) {
    assert.equal(tags.otel_type, "histogram");
    assert.ok(!byBound.has(tags.le), `bucket le=${tags.le} stored twice`);
    byBound.set(tags.le, value);
  }
  return byBound;
}

/** The SDK's exponential histogram as stored: at each bound, the recorded values at most that bound. */
export async function assertSdkHistogram(base: string, tenant: string): Promise<void> {
  const values = EXPONENTIAL_SAMPLE_VALUES;
  const counts = await pointsOf(base, "rpc_latency_count", tenant, 1);
  assert.deepEqual(counts.map((p) => p.value), [values.length], "the count, once");
  const [sum, ...more] = await pointsOf(base, "rpc_latency_sum", tenant, 1);
  assert.equal(more.length, 0, "the sum, once");
  assert.ok(Math.abs(sum.value - values.reduce((a, b) => a + b) / 1_000) < 1e-12, `sum ${sum.value} s`);
  const buckets = await eventually(
    async () => {
      const points = await pointsOf(base, "rpc_latency_bucket", tenant, 1);
      return points.some((p) => p.tags.le === "+Inf") ? points : undefined;
    },
    30_000,
    `the +Inf bucket of ${tenant}`,
  );
  const byBound = bucketsByBound(buckets);
  assert.ok(byBound.size > 5, `the SDK's buckets: ${[...byBound.keys()]}`);
  assert.equal(byBound.get("+Inf"), values.length);
  assert.equal(byBound.get("0"), 1, "the zero bucket holds the recorded 0");
  const bounds = [...byBound.keys()].filter((le) => le !== "+Inf").map(Number).sort((a, b) => a - b);
  for (const le of bounds) {
    const expected = values.filter((v) => v <= le * 1_000).length; // the bounds are in seconds
    assert.equal(byBound.get(String(le)), expected, `${tenant}: values <= ${le} s`);
  }
  // Bounds reach past the largest value (700 ms) and the SDK's scale is finer than powers of 2.
  assert.ok(bounds.at(-1)! >= 0.7 && bounds.at(-1)! < 1.4, `top bound ${bounds.at(-1)}`);
}
