import { deepStrictEqual, equal, match } from "node:assert/strict";
import { AlertsResponseSchema } from "../../api/schemas.ts";
import { harness, makeAlert } from "../../testing/api_fakes.ts";

Deno.test("GET /alerts lists newest first with seq", async () => {
  const { app } = harness();
  const res = await app.request("/alerts");
  equal(res.status, 200);
  const body = AlertsResponseSchema.parse(await res.json());
  equal(body.count, 2);
  deepStrictEqual(body.alerts.map((a) => [a.seq, a.severity, a.value]), [[2, "critical", 97], [
    1,
    "warning",
    85,
  ]]);
});

Deno.test("GET /alerts filters are passed to the store", async () => {
  const { app, store } = harness();
  store.alerts_.push(makeAlert(3, { state: "resolved", ends_at: 1, rule: "other", host: "host-b" }));
  const res = await app.request(
    "/alerts?state=resolved&host=host-b&rule=other&from=2025-10-21&to=now&limit=5",
  );
  const body = AlertsResponseSchema.parse(await res.json());
  deepStrictEqual(body.alerts.map((a) => a.seq), [3]);
  deepStrictEqual(store.calls.at(-1)?.query, {
    state: "resolved",
    severity: undefined,
    tenant: undefined,
    host: "host-b",
    rule: "other",
    fromMs: Date.parse("2025-10-21T00:00:00Z"),
    toMs: Date.parse("2025-10-21T10:30:00Z"),
    limit: 5,
  });
});

Deno.test("GET /alerts bad input: enums, limits, ranges", async () => {
  const { app } = harness();
  let res = await app.request("/alerts?state=open");
  equal(res.status, 400);
  match((await res.json()).error.message, /state: Invalid option: expected one of "firing"\|"resolved"/);
  res = await app.request("/alerts?limit=20000");
  equal(res.status, 400);
  match((await res.json()).error.message, /limit must be at most 10000/);
  res = await app.request("/alerts?from=now&to=-1h");
  equal(res.status, 200, "an inverted range is empty, not an error");
  equal(AlertsResponseSchema.parse(await res.json()).count, 0);
  res = await app.request("/alerts?rule=%27%3B%20DROP%20TABLE%20alerts%3B--");
  equal(res.status, 200);
  equal(AlertsResponseSchema.parse(await res.json()).count, 0);
});
