/**
 * Merging fan-out answers (pure): the catalog of several agents (a series split by a rebalance is one
 * entry: rows summed, first/last widened), and alert lists (newest first, each id once, the limit).
 *
 * @module
 */
import assert from "node:assert/strict";
import { mergeAlerts, mergeCatalogs } from "../../api/cluster_merge.ts";
import { coverageOf } from "../../api/forward.ts";

const series = (host: string, rows: number, first: string, last: string) => ({
  tenant: "so",
  host,
  metric: "cpu_load",
  unit: "percent",
  rows,
  first_ts: first,
  last_ts: last,
});

Deno.test("merged catalog: every agent's series once, sorted; a split series summed and widened", () => {
  const a = {
    tenants: ["so"],
    hosts: ["h2", "h3"],
    metrics: ["cpu_load"],
    series: [
      series("h2", 5, "2025-10-21T10:00:00.000Z", "2025-10-21T10:04:00.000Z"),
      series("h3", 2, "2025-10-21T10:05:00.000Z", "2025-10-21T10:06:00.000Z"),
    ],
  };
  const b = {
    tenants: ["acme", "so"],
    hosts: ["h1", "h3"],
    metrics: ["cpu_load"],
    series: [
      series("h1", 5, "2025-10-21T10:00:00.000Z", "2025-10-21T10:04:00.000Z"),
      series("h3", 3, "2025-10-21T10:00:00.000Z", "2025-10-21T10:02:00.000Z"),
    ],
  };
  const merged = mergeCatalogs([a, b]);
  assert.deepEqual(merged.tenants, ["acme", "so"]);
  assert.deepEqual(merged.hosts, ["h1", "h2", "h3"]);
  assert.deepEqual(merged.series.map((s) => [s.host, s.rows, s.first_ts, s.last_ts]), [
    ["h1", 5, "2025-10-21T10:00:00.000Z", "2025-10-21T10:04:00.000Z"],
    ["h2", 5, "2025-10-21T10:00:00.000Z", "2025-10-21T10:04:00.000Z"],
    ["h3", 5, "2025-10-21T10:00:00.000Z", "2025-10-21T10:06:00.000Z"],
  ]);
  assert.equal(a.series[1].rows, 2, "the inputs are not changed");
});

Deno.test("merged alerts: newest transition first, each id once, at most limit; by fingerprint with a state", () => {
  const alert = (id: string, fingerprint: string, ts: number) => ({ id, fingerprint, ts, seq: 1 });
  const a = [alert("f1:1", "f1", 300), alert("f2:1", "f2", 100)];
  const b = [alert("f3:1", "f3", 200), alert("f1:1", "f1", 300), alert("f1:0", "f1", 50)];
  assert.deepEqual(mergeAlerts([a, b], 10, false).map((x) => x.id), ["f1:1", "f3:1", "f2:1", "f1:0"]);
  assert.deepEqual(mergeAlerts([a, b], 2, false).map((x) => x.id), ["f1:1", "f3:1"]);
  assert.deepEqual(mergeAlerts([a, b], 10, true).map((x) => x.id), ["f1:1", "f3:1", "f2:1"]);
});

Deno.test("coverage: which agents answered; partial with the ones that did not, and why", () => {
  assert.deepEqual(coverageOf("http://a:1", [{ url: "http://b:1", ok: true, body: {} }]), {
    agents: ["http://a:1", "http://b:1"],
    partial: false,
    unreachable: [],
  });
  assert.deepEqual(coverageOf("http://a:1", [{ url: "http://b:1", ok: false, error: "timed out" }]), {
    agents: ["http://a:1"],
    partial: true,
    unreachable: [{ url: "http://b:1", error: "timed out" }],
  });
});
