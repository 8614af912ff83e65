import assert from "node:assert/strict";
import type { Envelope } from "../../../model/envelope.ts";
import { SeriesMarks } from "../../../store/series_marks.ts";

function event(host: string, partition: number, offset: number, index = 0, topic = "raw"): Envelope {
  return {
    v: 1,
    id: `${topic}:${partition}:${offset}:${index}`,
    tenant: "t",
    host,
    metric: "m",
    value: 1,
    unit: "",
    ts: 0,
    ts_ingest: 0,
    tags: {},
    ctx: {},
    source: { topic, partition, offset: String(offset), index },
  };
}

function check(marks: SeriesMarks, events: Envelope[], floor = -1) {
  const batch = marks.begin(() => floor);
  for (const e of events) batch.observe(e, Number(e.source.offset));
  return batch;
}

Deno.test("series marks: interleaved series, each increasing, are strictly new", () => {
  const marks = new SeriesMarks();
  const batch = check(marks, [event("a", 0, 10), event("b", 0, 3), event("a", 0, 11), event("b", 0, 4, 1)]);
  assert.equal(batch.strictlyNew, true);
  marks.commit(batch);
  assert.equal(check(marks, [event("b", 0, 5), event("a", 0, 12)]).strictlyNew, true);
});

Deno.test("series marks: a repeat, a step back or a position at the mark needs a check", () => {
  const marks = new SeriesMarks();
  marks.commit(check(marks, [event("a", 0, 10, 2)]));
  assert.equal(check(marks, [event("a", 0, 10, 2)]).strictlyNew, false, "the same position");
  assert.equal(check(marks, [event("a", 0, 10, 1)]).strictlyNew, false, "an earlier index");
  assert.equal(check(marks, [event("a", 0, 10, 3)]).strictlyNew, true, "a later index");
  assert.equal(
    check(marks, [event("a", 0, 11), event("a", 0, 11)]).strictlyNew,
    false,
    "a repeat in the batch",
  );
  assert.equal(
    check(marks, [event("a", 1, 0)]).strictlyNew,
    true,
    "another source partition, nothing stored",
  );
  assert.equal(check(marks, [event("a", 0, 11, 0, "other")]).strictlyNew, false, "another source topic");
});

Deno.test("series marks: a series seen first starts at the floor; uncommitted batches change nothing", () => {
  const marks = new SeriesMarks();
  assert.equal(check(marks, [event("new", 0, 50)], 50).strictlyNew, false, "at the floor: may be stored");
  assert.equal(check(marks, [event("new", 0, 51)], 50).strictlyNew, true);
  const uncommitted = check(marks, [event("a", 0, 100)]);
  assert.equal(uncommitted.strictlyNew, true);
  assert.equal(marks.size, 0);
  // A mixed batch still leaves the highest position as the mark.
  const mixed = check(marks, [event("a", 0, 7), event("a", 0, 3), event("a", 0, 9)], 5);
  assert.equal(mixed.strictlyNew, false);
  marks.commit(mixed);
  assert.equal(check(marks, [event("a", 0, 9)]).strictlyNew, false);
  assert.equal(check(marks, [event("a", 0, 10)]).strictlyNew, true);
});

Deno.test("series marks: over the bound, series are forgotten and start at the floor again", () => {
  const marks = new SeriesMarks(2);
  marks.commit(check(marks, [event("a", 0, 1), event("b", 0, 1)]));
  marks.commit(check(marks, [event("c", 0, 2)]));
  assert.equal(marks.size, 1);
  assert.equal(check(marks, [event("a", 0, 2)], 2).strictlyNew, false, "forgotten: checked below the floor");
  assert.equal(check(marks, [event("c", 0, 3)], 2).strictlyNew, true);
});
