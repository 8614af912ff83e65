/** The bench summary: one line per run from its result file, merged by time, older files pruned per mode. */
import assert from "node:assert/strict";
import { filesToPrune, mergeRuns, summarizeRun, summaryTable } from "../../../bench/summarize.ts";

const BACKLOG = {
  mode: "backlog",
  label: "after",
  at: "2026-12-04T13:42:46.800Z",
  versions: { deno: "2.9.6" },
  config: {
    workload: { events: 300_000, perMessage: 1 },
    split: false,
    single_thread: true,
    agent_flags: [],
    agent_kafka: { enriched_encoding: "envelopes" },
  },
  agent: {
    seconds: 5.04,
    events_per_s: 59_500,
    cpu_us_per_event: 14,
    cpu_cores_used: 0.83,
    peak_rss_mb: 369,
  },
  check: { ok: true },
};

Deno.test("bench summary: a result file's figures, options and versions in one line", () => {
  assert.deepEqual(summarizeRun(BACKLOG, "x-backlog.json"), {
    at: "2026-12-04T13:42:46.800Z",
    mode: "backlog",
    label: "after",
    events: 300_000,
    seconds: 5.04,
    events_per_s: 59_500,
    cpu_us_per_event: 14,
    cpu_cores: 0.83,
    peak_rss_mb: 369,
    check_ok: true,
    options: "single-thread kafka.enriched_encoding=envelopes",
    deno: "2.9.6",
    file: "x-backlog.json",
  });
  const live = summarizeRun({
    mode: "live",
    at: "2026-11-29T23:14:53.936Z",
    produce: { rate_target: 20_000, seconds: 330 },
    latency: { produce_to_stored: { p50_ms: 112, p95_ms: 235, p99_ms: 453 } },
  });
  assert.deepEqual([live.rate, live.seconds, live.p50_ms, live.p95_ms, live.p99_ms], [
    20_000,
    330,
    112,
    235,
    453,
  ]);
});

Deno.test("bench summary: runs merge by time, newest first; only the newest files of each mode are kept", () => {
  const run = (at: string, mode: string, file?: string) => ({ at, mode, ...(file ? { file } : {}) });
  const merged = mergeRuns(
    [run("2026-01-01", "backlog"), run("2026-01-02", "live", "b.json")],
    [
      run("2026-01-02", "live", "b.json"),
      run("2026-01-03", "backlog", "c.json"),
      run("2026-01-04", "backlog", "d.json"),
    ],
  );
  assert.deepEqual(merged.map((r) => r.at), ["2026-01-04", "2026-01-03", "2026-01-02", "2026-01-01"]);
  assert.deepEqual(filesToPrune(merged, 1), ["c.json"]);
  assert.deepEqual(filesToPrune(merged, 0), ["d.json", "c.json", "b.json"]);
  const table = summaryTable(merged);
  assert.match(table, /\| 2026-01-04 \| backlog \|/);
  assert.equal(table.split("\n").filter((line) => line.startsWith("| 2026")).length, 4);
});
