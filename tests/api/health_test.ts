import { deepStrictEqual, equal, match } from "node:assert/strict";
import { HealthResponseSchema, ReadyResponseSchema } from "../../api/schemas.ts";
import { harness } from "../../testing/api_fakes.ts";

Deno.test("healthz: alive", async () => {
  const { app } = harness();
  const res = await app.request("/healthz");
  equal(res.status, 200);
  const body = HealthResponseSchema.parse(await res.json());
  equal(body.status, "ok");
  equal(body.version, "0.1.0-test");
});

Deno.test("readyz: ready when broker reachable, store writable, lag known", async () => {
  const { app } = harness();
  const res = await app.request("/readyz");
  equal(res.status, 200);
  const body = ReadyResponseSchema.parse(await res.json());
  equal(body.ready, true);
  deepStrictEqual(body.reasons, []);
  equal(body.checks.consumer_lag.value, 0);
});

Deno.test("readyz: 503 with reasons when the broker or store is down", async () => {
  const { app, health } = harness();
  health.broker = false;
  health.store = false;
  const res = await app.request("/readyz");
  equal(res.status, 503);
  const body = ReadyResponseSchema.parse(await res.json());
  equal(body.ready, false);
  equal(body.reasons.length, 2);
  match(body.reasons[0], /broker not reachable: check kafka.brokers/);
  match(body.reasons[1], /store not writable/);
});

Deno.test("readyz: lag above the configured maximum is not ready; a hanging probe times out", async () => {
  const { app, health } = harness({}, { readiness: { maxConsumerLag: 100, probeTimeoutMs: 50 } });
  health.lag = 500;
  health.hang = true;
  const res = await app.request("/readyz");
  equal(res.status, 503);
  const body = ReadyResponseSchema.parse(await res.json());
  deepStrictEqual(body.checks.consumer_lag, { ok: false, value: 500, max: 100 });
  match(body.checks.broker.error ?? "", /no answer within 50 ms/);
  match(body.reasons.join("|"), /consumer lag 500 is above 100 messages/);
});

Deno.test("health endpoints stay open when reads need a token", async () => {
  const { app } = harness({ token_for_reads: true });
  equal((await app.request("/healthz")).status, 200);
  equal((await app.request("/readyz")).status, 200);
  equal((await app.request("/metrics")).status, 401);
});

Deno.test("readyz: damaged Parquet parts make it degraded (200) with the files; an unreadable store is 503", async () => {
  const { app, health } = harness();
  health.readable = {
    ok: true,
    damagedParts: 2,
    unreadableRows: 1500,
    damaged: [
      {
        path: "tenant=acme/metric=cpu_load/date=2025-10-21/part-0001.parquet",
        problem: "missing",
        rows: 1000,
        quarantine: null,
      },
      {
        path: "tenant=acme/metric=cpu_load/date=2025-10-22/part-0001.parquet",
        problem: "120 bytes, the manifest says 4000 (truncated or overwritten)",
        rows: 500,
        quarantine: "quarantine/tenant=acme/metric=cpu_load/date=2025-10-22/part-0001.parquet",
      },
    ],
    ms: 3,
  };
  const degraded = await app.request("/readyz");
  equal(degraded.status, 200);
  const body = ReadyResponseSchema.parse(await degraded.json());
  deepStrictEqual([body.ready, body.degraded, body.reasons], [true, true, []]);
  equal(body.checks.store_readable?.damaged_parts, 2);
  equal(body.warnings.length, 1);
  match(
    body.warnings[0],
    /^2 Parquet part\(s\) missing or damaged, 1500 rows unreadable and left out of the queries: tenant=acme\/metric=cpu_load\/date=2025-10-21\/part-0001\.parquet \(missing\); .*part-0001\.parquet \(120 bytes, the manifest says 4000/,
  );
  health.readable = {
    ok: false,
    error: "IO Error: cannot open metrics.duckdb",
    damagedParts: 0,
    unreadableRows: 0,
    damaged: [],
    ms: 1,
  };
  const down = await app.request("/readyz");
  equal(down.status, 503);
  const downBody = ReadyResponseSchema.parse(await down.json());
  match(
    downBody.reasons.join("|"),
    /store not readable \(IO Error: cannot open metrics\.duckdb\): check data_dir/,
  );
  equal(downBody.degraded, false);
});
