import assert from "node:assert/strict";
import type { Envelope } from "../../../model/envelope.ts";
import type { FeatureRecord } from "../../../model/feature.ts";
import { FeatureRecordSchema } from "../../../model/feature.ts";
import { FeatureCursor, FeatureEngine, formatDuration } from "../../../stages/features.ts";
import { envelope, featureOptions, sec, T0 } from "./helpers.ts";
import { prng } from "../../../lib/prng.ts";

const ev = (ts: number, value: number, host = "host-a"): Envelope => envelope({ ts, value, host });

function close(actual: number, expected: number, what: string, tolerance = 1e-9): void {
  const scale = Math.max(1, Math.abs(expected));
  assert.ok(Math.abs(actual - expected) <= tolerance * scale, `${what}: got ${actual}, expected ${expected}`);
}

/** Brute-force reference with the same semantics (no series limit). */
class Reference {
  readonly series = new Map<string, { events: { ts: number; v: number }[]; newest: number; ewma: number }>();
  constructor(
    readonly windows: number[],
    readonly labels: string[],
    readonly alpha: number,
    readonly lateness: number,
  ) {}

  update(
    event: Envelope,
    wantRecords = true,
  ): Omit<FeatureRecord, "tenant" | "host" | "metric">[] | undefined {
    const key = `${event.tenant}|${event.host}|${event.metric}`;
    let s = this.series.get(key);
    if (s === undefined) {
      s = { events: [], newest: event.ts, ewma: event.value };
      this.series.set(key, s);
    } else {
      if (event.ts < s.newest - this.lateness) return undefined;
      s.ewma = this.alpha * event.value + (1 - this.alpha) * s.ewma;
    }
    s.newest = Math.max(s.newest, event.ts);
    // stable insert by time (equal times keep arrival order)
    let at = s.events.length;
    while (at > 0 && s.events[at - 1].ts > event.ts) at--;
    s.events.splice(at, 0, { ts: event.ts, v: event.value });
    return wantRecords ? this.records(s) : [];
  }

  records(s: { events: { ts: number; v: number }[]; newest: number; ewma: number }) {
    return this.windows.map((window, k) => {
      const inWindow = s.events.filter((e) => e.ts > s.newest - window);
      const values = inWindow.map((e) => e.v);
      const count = values.length;
      // Shifted two-pass sums: accurate even for large values with small spread.
      const shift = values[0];
      const mean = values.reduce((a, b) => a + (b - shift), 0) / count;
      const avg = shift + mean;
      const min = Math.min(...values);
      const max = Math.max(...values);
      const last = values[count - 1];
      const variance = values.reduce((a, b) => a + (b - shift - mean) ** 2, 0) / count;
      const std = min === max ? 0 : Math.sqrt(variance);
      const dt = inWindow[count - 1].ts - inWindow[0].ts;
      let increase = 0;
      for (let i = 1; i < count; i++) {
        increase += values[i] >= values[i - 1] ? values[i] - values[i - 1] : values[i];
      }
      return {
        window: this.labels[k],
        ts: s.newest,
        count,
        avg: min === max ? min : avg,
        min,
        max,
        last,
        ewma: s.ewma,
        rate: dt > 0 ? (last - values[0]) / (dt / 1000) : 0,
        counter_rate: dt > 0 ? increase / (dt / 1000) : 0,
        zscore: std > 0 ? (last - shift - mean) / std : 0,
      };
    });
  }
}

function compare(
  got: FeatureRecord[] | undefined,
  want: ReturnType<Reference["update"]>,
  what: string,
  tol = 1e-9,
) {
  if (want === undefined) {
    assert.equal(got, undefined, `${what}: expected a late drop`);
    return;
  }
  assert.ok(got !== undefined, `${what}: unexpected drop`);
  assert.equal(got.length, want.length);
  got.forEach((record, k) => {
    const w = want[k];
    assert.equal(record.window, w.window, what);
    assert.equal(record.ts, w.ts, `${what} ts`);
    assert.equal(record.count, w.count, `${what} ${w.window} count`);
    assert.equal(record.min, w.min, `${what} ${w.window} min`);
    assert.equal(record.max, w.max, `${what} ${w.window} max`);
    assert.equal(record.last, w.last, `${what} ${w.window} last`);
    close(record.avg, w.avg, `${what} ${w.window} avg`, tol);
    close(record.ewma, w.ewma, `${what} ${w.window} ewma`, tol);
    close(record.rate, w.rate, `${what} ${w.window} rate`, tol);
    close(record.counter_rate, w.counter_rate, `${what} ${w.window} counter_rate`, tol);
    close(record.zscore, w.zscore, `${what} ${w.window} zscore`, Math.max(tol, 1e-7));
  });
}

Deno.test("each statistic, numerically", async (t) => {
  const engine = new FeatureEngine(featureOptions({ windows: ["1m"], ewma_alpha: 0.5 }));
  engine.update(ev(sec(0), 10));
  engine.update(ev(sec(10), 20));
  const [record] = engine.update(ev(sec(20), 30)) ?? [];
  await t.step("record shape", () => {
    assert.ok(FeatureRecordSchema.safeParse(record).success);
    assert.deepEqual(
      {
        tenant: record.tenant,
        host: record.host,
        metric: record.metric,
        window: record.window,
        ts: record.ts,
      },
      { tenant: "acme", host: "host-a", metric: "cpu_load", window: "1m", ts: sec(20) },
    );
  });
  await t.step("count/avg/min/max/last", () => {
    assert.deepEqual([record.count, record.avg, record.min, record.max, record.last], [3, 20, 10, 30, 30]);
  });
  await t.step("ewma in arrival order: 10 -> 15 -> 22.5", () => assert.equal(record.ewma, 22.5));
  await t.step("rate: (30 - 10) / 20 s = 1/s", () => assert.equal(record.rate, 1));
  await t.step("counter_rate of a rising counter: its rate, 1/s", () => assert.equal(record.counter_rate, 1));
  await t.step(
    "zscore: (30 - 20) / population stddev",
    () => close(record.zscore, 10 / Math.sqrt(200 / 3), "zscore"),
  );
  await t.step("one event: rate 0, zscore 0, avg = value", () => {
    const fresh = new FeatureEngine(featureOptions({ windows: ["1m"] }));
    const [only] = fresh.update(ev(sec(0), 42)) ?? [];
    assert.deepEqual(
      [only.count, only.avg, only.min, only.max, only.last, only.ewma, only.rate, only.zscore],
      [
        1,
        42,
        42,
        42,
        42,
        42,
        0,
        0,
      ],
    );
  });
  await t.step("equal values: zscore 0 (stddev 0)", () => {
    const fresh = new FeatureEngine(featureOptions({ windows: ["1m"] }));
    fresh.update(ev(sec(0), 5));
    const [r] = fresh.update(ev(sec(1), 5)) ?? [];
    assert.equal(r.zscore, 0);
    assert.equal(r.avg, 5);
  });
  await t.step("same timestamp: rate 0", () => {
    const fresh = new FeatureEngine(featureOptions({ windows: ["1m"] }));
    fresh.update(ev(sec(0), 5));
    const [r] = fresh.update(ev(sec(0), 9)) ?? [];
    assert.equal(r.rate, 0);
    assert.equal(r.last, 9, "the later arrival at the same time is the last");
  });
  await t.step("negative rate", () => {
    const fresh = new FeatureEngine(featureOptions({ windows: ["1m"] }));
    fresh.update(ev(sec(0), 100));
    assert.equal((fresh.update(ev(sec(4), 80)) ?? [])[0].rate, -5);
  });
});

Deno.test("counter_rate: a fall is a counter reset, the rises over the window's seconds", async (t) => {
  const engine = new FeatureEngine(featureOptions({ windows: ["1m", "15s"] }));
  // 100 -> 130 (+30), restart -> 5 (+5), -> 25 (+20): 55 over 30 s.
  engine.update(ev(sec(0), 100));
  engine.update(ev(sec(10), 130));
  engine.update(ev(sec(20), 5));
  const [minute, short] = engine.update(ev(sec(30), 25)) ?? [];
  await t.step("1m: 55 / 30 s, where rate (last - first) is negative", () => {
    close(minute.counter_rate, 55 / 30, "counter_rate");
    close(minute.rate, (25 - 100) / 30, "rate");
  });
  await t.step("15s (20 s and 30 s): 5 -> 25, 20 / 10 s", () => {
    assert.equal(short.count, 2);
    close(short.counter_rate, 2, "counter_rate");
  });
  await t.step("the rises leave with their samples as the window slides", () => {
    const [later, shortLater] = engine.update(ev(sec(75), 40)) ?? [];
    assert.equal(later.count, 3); // 5 at 20 s, 25 at 30 s, 40 at 75 s
    close(later.counter_rate, (20 + 15) / 55, "counter_rate");
    assert.deepEqual([shortLater.count, shortLater.counter_rate], [1, 0]);
  });
  await t.step("an out-of-order event is placed by time: the rises around it are recounted", () => {
    const [r] = engine.update(ev(sec(50), 10)) ?? []; // 5 -> 25 (+20), reset -> 10 (+10), -> 40 (+30)
    assert.equal(r.count, 4);
    close(r.counter_rate, 60 / 55, "counter_rate");
  });
});

Deno.test("windows slide on event time", async (t) => {
  const engine = new FeatureEngine(featureOptions({ windows: ["1m", "5m", "30s"] }));
  await t.step("labels in config order", () => assert.deepEqual(engine.windowLabels, ["1m", "5m", "30s"]));
  engine.update(ev(sec(0), 1));
  engine.update(ev(sec(30), 2));
  const records = engine.update(ev(sec(61), 3)) ?? [];
  await t.step("1m at 61s excludes t=0, 5m keeps it, 30s keeps only 61s", () => {
    assert.deepEqual(records.map((r) => [r.window, r.count, r.min]), [["1m", 2, 2], ["5m", 3, 1], [
      "30s",
      1,
      3,
    ]]);
  });
  await t.step("an event exactly one window old is out: (t - W, t]", () => {
    const fresh = new FeatureEngine(featureOptions({ windows: ["1m"] }));
    fresh.update(ev(sec(0), 1));
    assert.equal((fresh.update(ev(sec(60), 2)) ?? [])[0].count, 1);
    const other = new FeatureEngine(featureOptions({ windows: ["1m"] }));
    other.update(ev(sec(0), 1));
    assert.equal((other.update(ev(sec(59.999), 2)) ?? [])[0].count, 2);
  });
  await t.step("a gap longer than every window leaves only the new event", () => {
    const r = engine.update(ev(sec(3_600), 9)) ?? [];
    assert.deepEqual(r.map((x) => x.count), [1, 1, 1]);
  });
  await t.step("series are independent", () => {
    const r = engine.update(ev(sec(3_600), 100, "host-b")) ?? [];
    assert.equal(r[0].count, 1);
    assert.equal(engine.seriesCount, 2);
  });
});

Deno.test("late and out-of-order events", async (t) => {
  await t.step("older than newest - allowed_lateness: dropped and counted", () => {
    const engine = new FeatureEngine(featureOptions({ windows: ["1m"], allowed_lateness: "30s" }));
    engine.update(ev(sec(100), 1));
    assert.equal(engine.update(ev(sec(69), 50)), undefined);
    assert.equal(engine.stats().lateDropped, 1);
    const r = engine.update(ev(sec(70), 50));
    assert.ok(r !== undefined, "exactly at the lateness edge is accepted");
    assert.equal(engine.stats().outOfOrder, 1);
  });
  await t.step("within lateness: inserted in order; last stays the newest event", () => {
    const engine = new FeatureEngine(
      featureOptions({ windows: ["1m"], allowed_lateness: "30s", ewma_alpha: 0.5 }),
    );
    engine.update(ev(sec(0), 10));
    engine.update(ev(sec(20), 30));
    const [r] = engine.update(ev(sec(10), 2)) ?? [];
    assert.deepEqual([r.count, r.min, r.max, r.last, r.ts], [3, 2, 30, 30, sec(20)]);
    assert.equal(r.avg, 14);
    assert.equal(r.rate, 1, "first is still t=0 (10), last t=20 (30)");
    assert.equal(r.ewma, 0.5 * 2 + 0.5 * (0.5 * 30 + 0.5 * 10), "ewma follows arrival order");
  });
  await t.step("a late event that becomes the oldest changes first/rate", () => {
    const engine = new FeatureEngine(featureOptions({ windows: ["1m"], allowed_lateness: "30s" }));
    engine.update(ev(sec(10), 10));
    engine.update(ev(sec(20), 20));
    const [r] = engine.update(ev(sec(0), 0)) ?? [];
    assert.equal(r.rate, 1);
    assert.equal(r.count, 3);
  });
  await t.step("within lateness but outside every window: accepted, windows unchanged", () => {
    const engine = new FeatureEngine(
      featureOptions({ windows: ["10s"], allowed_lateness: "1m", ewma_alpha: 0.5 }),
    );
    engine.update(ev(sec(0), 10));
    engine.update(ev(sec(30), 20));
    const [r] = engine.update(ev(sec(15), 100)) ?? [];
    assert.deepEqual([r.count, r.min, r.max, r.last], [1, 20, 20, 20]);
    assert.equal(r.ewma, 0.5 * 100 + 0.5 * 15);
  });
});

Deno.test("memory bounds: refusal and idle eviction", async (t) => {
  const engine = new FeatureEngine(featureOptions({ windows: ["1m"], max_series: 2, idle_eviction: "1h" }));
  engine.update(ev(T0, 1, "a"));
  engine.update(ev(T0 + 1_000, 1, "b"));
  await t.step("a third series is refused (counted), known series still update", () => {
    assert.equal(engine.update(ev(T0, 1, "c")), undefined);
    assert.equal(engine.stats().seriesRefused, 1);
    assert.ok(engine.update(ev(T0 + 2_000, 2, "a")) !== undefined);
    assert.equal(engine.seriesCount, 2);
  });
  await t.step("evictIdle removes series idle longer than idle_eviction (event time)", () => {
    // a: newest T0+2s, b: newest T0+1s
    assert.equal(engine.evictIdle(T0 + 1_000 + 3_600_000), 0, "exactly idle_eviction is kept");
    assert.equal(engine.evictIdle(T0 + 1_001 + 3_600_000), 1);
    assert.equal(engine.seriesCount, 1);
    assert.equal(engine.stats().seriesEvicted, 1);
  });
  await t.step("room is available again; an evicted series starts fresh", () => {
    const r = engine.update(ev(T0 + 5_000, 7, "b")) ?? [];
    assert.equal(r[0].count, 1);
    assert.equal(r[0].ewma, 7);
  });
  await t.step("stats", () => {
    assert.deepEqual(engine.stats(), {
      series: 2,
      updates: 4,
      outOfOrder: 0,
      lateDropped: 0,
      seriesRefused: 1,
      seriesEvicted: 1,
    });
  });
  await t.step("windows must be positive", () => {
    assert.throws(
      () => new FeatureEngine(featureOptions({ windows: ["0s"] })),
      /features\.windows\[0\]: a window must be longer than 0/,
    );
  });
});

Deno.test("matches a brute-force reference on random streams (out of order, late, ties)", () => {
  const options = featureOptions({ windows: ["10s", "1m", "5m"], allowed_lateness: "30s", ewma_alpha: 0.3 });
  const engine = new FeatureEngine(options);
  const reference = new Reference(options.windows, engine.windowLabels.slice(), 0.3, 30_000);
  const random = prng(42);
  const clocks = [T0, T0, T0];
  let late = 0;
  let out = 0;
  for (let i = 0; i < 6_000; i++) {
    const s = Math.floor(random() * 3);
    const roll = random();
    let ts: number;
    if (roll < 0.1) {
      ts = clocks[s] - Math.floor(random() * 45_000); // some within lateness, some beyond
    } else if (roll < 0.15) {
      ts = clocks[s]; // tie
    } else {
      clocks[s] += Math.floor(random() * 5_000);
      ts = clocks[s];
    }
    const value = random() < 0.2 ? 50 : Math.round(random() * 10_000) / 100;
    const event = ev(ts, value, `host-${s}`);
    const want = reference.update(event);
    if (want === undefined) late++;
    else if (ts < clocks[s]) out++;
    compare(engine.update(event), want, `event ${i}`);
  }
  assert.ok(late > 50 && out > 50, `exercise both paths (late ${late}, out of order ${out})`);
  assert.equal(engine.stats().lateDropped, late);
});

Deno.test("long in-order run (compaction, resync) with large offsets stays exact", () => {
  const options = featureOptions({ windows: ["1m", "10s"], allowed_lateness: "1s" });
  const engine = new FeatureEngine(options);
  const reference = new Reference(options.windows, engine.windowLabels.slice(), options.ewma_alpha, 1_000);
  const random = prng(7);
  let ts = T0;
  for (let i = 0; i < 30_000; i++) {
    ts += 5 + Math.floor(random() * 10);
    const value = 1e9 + Math.round(random() * 1_000) / 10;
    const event = ev(ts, value);
    // The reference keeps everything; trim it so it stays fast.
    const check = i % 997 === 0 || i === 29_999;
    const want = reference.update(event, check);
    const s = reference.series.get("acme|host-a|cpu_load");
    if (s && s.events.length > 20_000) s.events.splice(0, s.events.length - 10_000);
    const got = engine.update(event);
    if (check) compare(got, want, `event ${i}`, 1e-9);
  }
});

Deno.test("formatDuration is exported for window labels", () => {
  assert.equal(formatDuration(60_000), "1m");
});

Deno.test("features: observe + recordOf/recordsOf and the cursor give exactly what update returns", () => {
  const viaUpdate = new FeatureEngine(featureOptions());
  const viaObserve = new FeatureEngine(featureOptions());
  const cursor = new FeatureCursor(viaObserve);
  const random = prng(7);
  for (let i = 0; i < 2_000; i++) {
    // Mostly in order, some late and out-of-order events, three series.
    const e = ev(
      T0 + i * sec(1) - Math.floor(random() * 3) * sec(20),
      Math.round(random() * 1000) / 10,
      `h${i % 3}`,
    );
    const expected = viaUpdate.update(e);
    const series = viaObserve.observe(e);
    assert.equal(series === undefined, expected === undefined, `event ${i}: accepted by one only`);
    if (series === undefined || expected === undefined) continue;
    assert.deepEqual(viaObserve.recordsOf(series), expected, `event ${i}`);
    cursor.series = series;
    for (const record of expected) assert.deepEqual(cursor.record(record.window), record);
    assert.equal(cursor.record("7m"), undefined, "an unknown window");
  }
});

Deno.test("a stream over months (stored times move their base) matches the reference", () => {
  const options = featureOptions({ windows: ["1m", "1h", "7d"], allowed_lateness: "2d" });
  const engine = new FeatureEngine(options);
  const reference = new Reference(
    options.windows,
    engine.windowLabels.slice(),
    options.ewma_alpha,
    2 * 86_400_000,
  );
  const random = prng(11);
  let clock = T0;
  for (let i = 0; i < 4_000; i++) {
    const roll = random();
    let ts: number;
    if (roll < 0.1) ts = clock - Math.floor(random() * 3 * 86_400_000); // within and beyond the lateness
    else {
      clock += roll < 0.15 ? Math.floor(random() * 20 * 86_400_000) : Math.floor(random() * 3_600_000);
      ts = clock;
    }
    const event = ev(ts, Math.round(random() * 10_000) / 100);
    compare(engine.update(event), reference.update(event), `event ${i}`);
    const s = reference.series.get("acme|host-a|cpu_load")!;
    if (s.events.length > 2_000) s.events.splice(0, 1_000);
  }
  assert.ok(clock - T0 > 200 * 86_400_000, `the stream spans ${(clock - T0) / 86_400_000} days`);
  // Steady 10-minute steps for 14 days: the base moves while the 7d window holds ~1,000 samples.
  for (let i = 0; i < 2_016; i++) {
    clock += 600_000;
    const event = ev(clock, Math.round(random() * 10_000) / 100);
    const want = reference.update(event, i % 50 === 0 || i === 2_015);
    const got = engine.update(event);
    if (i % 50 === 0 || i === 2_015) compare(got, want, `steady event ${i}`);
    const s = reference.series.get("acme|host-a|cpu_load")!;
    if (s.events.length > 3_000) s.events.splice(0, 1_000);
  }
});

Deno.test("a window over 7 days is refused", () => {
  assert.throws(() => new FeatureEngine(featureOptions({ windows: ["8d"] })), /at most 7d/);
});
