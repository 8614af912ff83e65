import assert from "node:assert/strict";
import {
  explicitHistogram,
  exponentialHistogram,
  MAX_EXPONENTIAL_BUCKETS,
  summary,
} from "../../../sources/otlp_distribution.ts";
import { canonicalUnit } from "../../../lib/units.ts";

const NO_UNIT = canonicalUnit(undefined);
const MS = canonicalUnit("ms");

Deno.test("explicit histogram: cumulative buckets, bounds in the canonical unit, +Inf = count", () => {
  assert.deepEqual(
    explicitHistogram({ count: "4", sum: 562, bucketCounts: ["2", "1", "1"], explicitBounds: [10, 100] }, MS),
    {
      count: 4,
      sum: 562,
      buckets: [{ le: "0.01", count: 2 }, { le: "0.1", count: 3 }, { le: "+Inf", count: 4 }],
      quantiles: [],
    },
  );
  // °F bounds become °C bounds (the offset applies too).
  const fahrenheit = explicitHistogram(
    { count: 1, bucketCounts: [1, 0], explicitBounds: [212] },
    canonicalUnit("°F"),
  );
  assert.deepEqual(typeof fahrenheit === "string" ? fahrenheit : fahrenheit.buckets[0], {
    le: "100",
    count: 1,
  });
  // No buckets: count (and sum) only.
  assert.deepEqual(explicitHistogram({ count: "3" }, NO_UNIT), {
    count: 3,
    sum: undefined,
    buckets: [],
    quantiles: [],
  });
});

Deno.test("explicit histogram: inconsistent or hostile points are refused with the reason", () => {
  const refused = (point: Parameters<typeof explicitHistogram>[0]) => explicitHistogram(point, NO_UNIT);
  assert.equal(
    refused({ count: "2", bucketCounts: ["1", "1"], explicitBounds: [] }),
    "2 bucket counts for 0 bounds (must be one more)",
  );
  assert.equal(
    refused({ count: "3", bucketCounts: ["1", "1"], explicitBounds: [1] }),
    "the buckets hold 2 values but count is 3",
  );
  assert.equal(
    refused({ count: "2", bucketCounts: ["1", "1", "0"], explicitBounds: [5, 5] }),
    "bucket bounds 5, 5 are not ascending",
  );
  assert.equal(refused({ count: "1", sum: NaN }), "sum NaN is not a finite number");
  // A negative count sent in JSON arrives from protobufjs as 2^64 - 1.
  assert.equal(
    refused({ count: "18446744073709551615" }),
    "count 18446744073709551615 is not a count (a whole number from 0 to 2^53)",
  );
  assert.equal(
    refused({ count: 1, bucketCounts: [-1, 2], explicitBounds: [1] }),
    "bucket count -1 is not a count (a whole number from 0 to 2^53)",
  );
  assert.equal(
    refused({ count: 1, bucketCounts: [1, 0], explicitBounds: [Infinity] }),
    "bucket bound Infinity is not a finite number",
  );
});

Deno.test("exponential histogram: bounds base^(i+1) from scale and offset, negatives, zero bucket, +Inf", () => {
  const read = exponentialHistogram({
    count: "7",
    sum: 3,
    scale: 1, // base = sqrt(2)
    zeroCount: "1",
    positive: { offset: -2, bucketCounts: ["1", "2"] }, // (0.5, 0.707], (0.707, 1]
    negative: { offset: 2, bucketCounts: ["1", "2"] }, // index 2: [-2.83, -2); index 3: [-4, -2.83)
  }, NO_UNIT);
  assert.notEqual(typeof read, "string", String(read));
  if (typeof read === "string") return;
  assert.deepEqual(read.buckets, [
    { le: String(-(2 ** (3 / 2))), count: 2 }, // index 3, most negative first
    { le: String(-2), count: 3 }, // index 2
    { le: "0", count: 4 },
    { le: String(2 ** -0.5), count: 5 },
    { le: "1", count: 7 },
    { le: "+Inf", count: 7 },
  ]);
  assert.equal(read.count, 7);
  assert.equal(read.sum, 3);
});

Deno.test("exponential histogram: the SDK's extreme scales give finite ascending bounds", () => {
  // At scale -9 (base 2^512) only indices below 1 have a finite upper bound.
  for (const [scale, offset] of [[20, 5], [20, -5_000_000], [-9, -3]]) {
    const read = exponentialHistogram({ count: 3, scale, positive: { offset, bucketCounts: [1, 1, 1] } }, MS);
    assert.notEqual(typeof read, "string", `scale ${scale}: ${read}`);
    if (typeof read === "string") continue;
    const bounds = read.buckets.slice(0, -1).map((b) => Number(b.le));
    assert.ok(bounds.every((b, i) => Number.isFinite(b) && (i === 0 || b > bounds[i - 1])), bounds.join());
  }
});

Deno.test("exponential histogram: a positive bucket within the zero threshold counts in the zero bucket", () => {
  const read = exponentialHistogram({
    count: 3,
    scale: 0,
    zeroThreshold: 1,
    zeroCount: 1,
    positive: { offset: -1, bucketCounts: [1, 1] }, // (0.5, 1] is within |v| <= 1; (1, 2]
  }, NO_UNIT);
  assert.deepEqual(typeof read === "string" ? read : read.buckets, [
    { le: "1", count: 2 },
    { le: "2", count: 3 },
    { le: "+Inf", count: 3 },
  ]);
});

Deno.test("exponential histogram: huge scale, overflowing bounds, negative counts, NaN and too many buckets are refused", () => {
  const refused = (point: Parameters<typeof exponentialHistogram>[0]) => exponentialHistogram(point, NO_UNIT);
  assert.equal(refused({ count: 0, scale: 1_000_000 }), "scale 1000000 is outside -10..20");
  assert.equal(refused({ count: 0, scale: -11 }), "scale -11 is outside -10..20");
  assert.equal(
    refused({ count: 1, scale: 0, positive: { offset: 2_000, bucketCounts: [1] } }),
    "bucket index 2001 at scale 0 has a bound beyond a double's range",
  );
  assert.equal(
    refused({ count: 1, scale: 0, negative: { offset: -3_000, bucketCounts: [1] } }),
    "bucket index -3000 at scale 0 has a bound beyond a double's range",
  );
  assert.equal(
    refused({ count: 1, positive: { bucketCounts: ["18446744073709551615"] } }),
    "positive bucket count 18446744073709551615 is not a count (a whole number from 0 to 2^53)",
  );
  assert.equal(refused({ count: 1, zeroCount: 1, sum: NaN }), "sum NaN is not a finite number");
  assert.equal(refused({ count: 1, zeroThreshold: NaN }), "zero threshold NaN is not a finite number >= 0");
  assert.equal(refused({ count: 5, zeroCount: 1 }), "the buckets hold 1 values but count is 5");
  const many = Array.from({ length: MAX_EXPONENTIAL_BUCKETS + 1 }, () => "0");
  assert.equal(
    refused({ count: 0, negative: { bucketCounts: many } }),
    `${MAX_EXPONENTIAL_BUCKETS + 1} negative buckets (at most ${MAX_EXPONENTIAL_BUCKETS})`,
  );
});

Deno.test("summary: count, sum and the values at the given quantiles; a quantile outside 0..1 is refused", () => {
  assert.deepEqual(
    summary({
      count: "10",
      sum: 3.5,
      quantileValues: [{ quantile: 0, value: 0.1 }, { quantile: 0.99, value: 1.5 }],
    }),
    {
      count: 10,
      sum: 3.5,
      buckets: [],
      quantiles: [{ quantile: "0", value: 0.1 }, { quantile: "0.99", value: 1.5 }],
    },
  );
  assert.equal(
    summary({ count: 1, quantileValues: [{ quantile: NaN, value: 1 }] }),
    "quantile NaN is outside 0..1",
  );
  assert.equal(summary({ count: -1 }), "count -1 is not a count (a whole number from 0 to 2^53)");
});
