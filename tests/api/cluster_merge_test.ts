/**
 * Merging fan-out answers (pure): the catalog of several agents (a series split by a rebalance is one
 * entry: rows summed, first/last widened), and alert lists (newest first, each id once, the limit).
 *
 * @module
 */
import assert from "node:assert/strict";
import { compareActiveAlerts } from "../../model/notification.ts";
import {
  mergeActiveAlerts,
  mergeAlerts,
  mergeBuckets,
  mergeCatalogs,
  mergePoints,
} from "../../api/cluster_merge.ts";
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

Deno.test("merged buckets: per host concatenated in the store's order; a bucket on two agents combined or counted inexact", () => {
  const bucket = (
    ts: number,
    host: string | undefined,
    value: number,
    group?: string | null,
  ): { ts: number; tenant: string; host?: string; group?: string | null; value: number } =>
    host !== undefined
      ? { ts, tenant: "so", host, value }
      : { ts, tenant: "so", group: group ?? null, value };
  const a = [bucket(0, "h2", 10), bucket(60, "h2", 4)];
  const b = [bucket(0, "h1", 7), bucket(60, "h2", 6)];
  const sum = mergeBuckets([a, b], "sum");
  assert.deepEqual(sum.rows.map((r) => [r.ts, r.host, r.value]), [[0, "h1", 7], [0, "h2", 10], [
    60,
    "h2",
    10,
  ]]);
  assert.equal(sum.inexact, 0);
  assert.deepEqual(mergeBuckets([a, b], "max").rows.map((r) => r.value), [7, 10, 6]);
  assert.deepEqual(mergeBuckets([a, b], "min").rows.map((r) => r.value), [7, 10, 4]);
  const avg = mergeBuckets([a, b], "avg");
  assert.equal(avg.inexact, 1, "an average of two agents' parts is not their average");
  const groups = mergeBuckets([[bucket(0, undefined, 1, null), bucket(0, undefined, 2, "x")], [
    bucket(0, undefined, 3, "a"),
  ]], "count");
  assert.deepEqual(groups.rows.map((r) => r.group), ["a", "x", null], "null groups last");
});

Deno.test("merged points: ascending by ts, tenant, host; each agent's order kept within a tie", () => {
  const p = (ts: number, host: string, value: number) => ({ ts, tenant: "so", host, value });
  const merged = mergePoints([[p(1, "b", 1), p(3, "b", 2)], [p(1, "a", 3), p(2, "a", 4), p(3, "b", 5)]]);
  assert.deepEqual(merged.map((x) => x.value), [3, 1, 4, 2, 5]);
});

Deno.test("merged firing alerts: each fingerprint once (its newest), critical first, then oldest", () => {
  const active = (
    fingerprint: string,
    severity: "warning" | "critical",
    since: number,
    updated_at: number,
  ) => ({
    fingerprint,
    severity,
    since,
    updated_at,
  });
  const merged = mergeActiveAlerts([
    [active("w", "warning", 1, 1), active("c2", "critical", 20, 20), active("moved", "warning", 5, 5)],
    [active("c1", "critical", 10, 10), active("moved", "critical", 5, 30)],
  ]);
  assert.deepEqual(merged.map((alert) => [alert.fingerprint, alert.severity]), [
    ["moved", "critical"],
    ["c1", "critical"],
    ["c2", "critical"],
    ["w", "warning"],
  ]);
});

Deno.test("active alerts: one agent's list and the merge of several agents' in one order, ties by fingerprint", () => {
  const active = (fingerprint: string) => ({
    fingerprint,
    severity: "critical" as const,
    since: 7,
    updated_at: 7,
  });
  // Alerts firing at the same event time: one agent lists them as the merge of their owners does.
  const oneAgent = [active("f3"), active("f1"), active("f2")].sort(compareActiveAlerts);
  const merged = mergeActiveAlerts([[active("f2")], [active("f3"), active("f1")]]);
  assert.deepEqual(oneAgent.map((alert) => alert.fingerprint), ["f1", "f2", "f3"]);
  assert.deepEqual(merged, oneAgent);
});
