import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { closeStreams } from "../../api/app.ts";
import type { StoredAlert } from "../../model/query.ts";
import { TokenBucket } from "../../api/routes/events.ts";
import { harness, makeAlert, makeEvent, SEED_ALERTS } from "../../testing/api_fakes.ts";
import { eventually } from "../../testing/eventually.ts";
import { SseReader } from "../../testing/sse.ts";

function seqs(messages: { data?: string }[]): number[] {
  return messages.map((m) => (JSON.parse(m.data ?? "{}") as StoredAlert).seq);
}

Deno.test("alert stream: retry hint, then live alerts with id = seq", async () => {
  const { app, deps } = harness();
  const res = await app.request("/alerts/stream?replay=0");
  equal(res.status, 200);
  equal(res.headers.get("content-type"), "text/event-stream");
  equal(res.headers.get("cache-control"), "no-cache");
  const sse = new SseReader(res);
  try {
    const first = await sse.next();
    equal(first.retry, 3000);
    await sse.until((m) => m.comment === "live");
    deps.feeds.alerts.publish(makeAlert(3, { severity: "critical", value: 99 }));
    const [m] = await sse.events("alert", 1);
    equal(m.id, "3");
    const alert = JSON.parse(m.data ?? "") as StoredAlert;
    equal(alert.severity, "critical");
    equal(alert.value, 99);
  } finally {
    await sse.close();
  }
});

Deno.test("alert stream: replay from Last-Event-ID out of the store, then live, no gaps or duplicates", async () => {
  const { app, deps, store } = harness();
  store.alerts_ = [1, 2, 3, 4, 5].map((n) => makeAlert(n));
  // The ring only has 4..5 (e.g. after a restart the hub saw only recent ones): replay must use the store.
  deps.feeds.alerts.publish(store.alerts_[3]);
  deps.feeds.alerts.publish(store.alerts_[4]);
  const res = await app.request("/alerts/stream", { headers: { "Last-Event-ID": "1" } });
  const sse = new SseReader(res);
  try {
    const replayed = await sse.events("alert", 4);
    deepStrictEqual(seqs(replayed), [2, 3, 4, 5]);
    ok(store.calls.some((c) => c.method === "alertsAfter"));
    // a live alert already replayed is not sent twice; a new one is
    deps.feeds.alerts.publish(makeAlert(5));
    deps.feeds.alerts.publish(makeAlert(6));
    const [live] = await sse.events("alert", 1);
    equal(live.id, "6");
  } finally {
    await sse.close();
  }
});

Deno.test("alert stream: reconnect replays what was missed, from the ring buffer", async () => {
  const { app, deps, store } = harness();
  store.alerts_ = [];
  const publish = (n: number) => {
    const a = makeAlert(n);
    store.alerts_.push(a);
    deps.feeds.alerts.publish(a);
  };
  // first connection sees 1..2
  let sse = new SseReader(await app.request("/alerts/stream?replay=0"));
  await sse.until((m) => m.comment === "live");
  publish(1);
  publish(2);
  const got = await sse.events("alert", 2);
  const lastId = got.at(-1)?.id ?? "";
  await sse.close();
  // while disconnected, 3 and 4 fire
  publish(3);
  publish(4);
  store.calls.length = 0;
  sse = new SseReader(await app.request("/alerts/stream", { headers: { "Last-Event-ID": lastId } }));
  try {
    deepStrictEqual(seqs(await sse.events("alert", 2)), [3, 4]);
    ok(!store.calls.some((c) => c.method === "alertsAfter"), "served from the ring buffer");
  } finally {
    await sse.close();
  }
});

Deno.test("alert stream: ?since= replays too; Last-Event-ID wins over since", async () => {
  const { app } = harness(); // store has seq 1 and 2
  let sse = new SseReader(await app.request("/alerts/stream?since=0"));
  try {
    deepStrictEqual(seqs(await sse.events("alert", 2)), [1, 2]);
  } finally {
    await sse.close();
  }
  sse = new SseReader(await app.request("/alerts/stream?since=0", { headers: { "Last-Event-ID": "1" } }));
  try {
    deepStrictEqual(seqs(await sse.events("alert", 1)), [2]);
  } finally {
    await sse.close();
  }
});

Deno.test("alert stream: ?replay=N sends the last N on a fresh connection", async () => {
  const { app } = harness();
  const sse = new SseReader(await app.request("/alerts/stream?replay=1"));
  try {
    deepStrictEqual(seqs(await sse.events("alert", 1)), [2]);
  } finally {
    await sse.close();
  }
});

Deno.test("alert stream: filters apply to replay and live", async () => {
  const { app, deps, store } = harness();
  store.alerts_ = [
    makeAlert(1, { tenant: "acme", severity: "warning" }),
    makeAlert(2, { tenant: "other", severity: "critical" }),
    makeAlert(3, { tenant: "acme", severity: "critical" }),
  ];
  const sse = new SseReader(await app.request("/alerts/stream?since=0&tenant=acme&severity=critical"));
  try {
    deepStrictEqual(seqs(await sse.events("alert", 1)), [3]);
    deps.feeds.alerts.publish(makeAlert(4, { tenant: "other", severity: "critical" }));
    deps.feeds.alerts.publish(makeAlert(5, { tenant: "acme", severity: "warning" }));
    deps.feeds.alerts.publish(makeAlert(6, { tenant: "acme", severity: "critical" }));
    deepStrictEqual(seqs(await sse.events("alert", 1)), [6]);
  } finally {
    await sse.close();
  }
});

Deno.test("alert stream: heartbeats every http.sse_heartbeat ms", async () => {
  const { app } = harness({ sse_heartbeat: 40 });
  const sse = new SseReader(await app.request("/alerts/stream?replay=0"));
  try {
    const started = Date.now();
    const beat = await sse.until((m) => m.comment?.startsWith("ping") ?? false, 1_000);
    match(beat.comment ?? "", /^ping \d{4}-\d{2}-\d{2}T/);
    await sse.until((m) => m.comment?.startsWith("ping") ?? false, 1_000);
    ok(Date.now() - started < 500);
  } finally {
    await sse.close();
  }
});

Deno.test("alert stream: bad Last-Event-ID / since / filters are 400 JSON", async () => {
  const { app } = harness();
  let res = await app.request("/alerts/stream", { headers: { "Last-Event-ID": "abc" } });
  equal(res.status, 400);
  match((await res.json()).error.message, /Last-Event-ID must be an alert seq number/);
  res = await app.request("/alerts/stream?since=-1");
  equal(res.status, 400);
  res = await app.request("/alerts/stream?severity=fatal");
  equal(res.status, 400);
  match((await res.json()).error.message, /severity/);
});

Deno.test("alert stream: the client count is tracked and released on disconnect", async () => {
  const { app, registry } = harness();
  const sse = new SseReader(await app.request("/alerts/stream?replay=0"));
  await sse.next();
  match(registry.render(), /eventops_http_sse_clients\{stream="alerts"\} 1/);
  await sse.close();
  await eventually(() => /eventops_http_sse_clients\{stream="alerts"\} 0/.test(registry.render()));
});

Deno.test("alert stream: a client that stops reading is disconnected (queue overflow), others continue", async () => {
  const { app, deps, registry } = harness();
  const stuck = await app.request("/alerts/stream?replay=0");
  const healthy = new SseReader(await app.request("/alerts/stream?replay=0"));
  await healthy.until((m) => m.comment === "live");
  // never read `stuck`: publish more than its queue (1024) plus what the pipe buffers
  for (let i = 1; i <= 3_000; i++) {
    deps.feeds.alerts.publish(makeAlert(i));
    if (i % 200 === 0) {
      await healthy.events("alert", 200, 5_000);
    }
  }
  await eventually(
    () => /eventops_http_sse_overflow_total\{stream="alerts"\} 1/.test(registry.render()),
    3_000,
  );
  await eventually(() => deps.feeds.alerts.subscriberCount === 1);
  // the stuck client's stream ends (it will reconnect with Last-Event-ID)
  const sse = new SseReader(stuck);
  ok(await sse.ended(3_000));
  await sse.close();
  await healthy.close();
});

Deno.test("closeStreams ends open streams (graceful shutdown)", async () => {
  const { app } = harness();
  const sse = new SseReader(await app.request("/alerts/stream?replay=0"));
  await sse.next();
  closeStreams(app);
  ok(await sse.ended(2_000));
  await sse.close();
});

Deno.test("event stream: live envelopes filtered by tenant/host/metric (aliases resolved)", async () => {
  const { app, deps } = harness();
  const sse = new SseReader(await app.request("/events/stream?tenant=acme&metric=cpu"));
  try {
    await sse.next();
    deps.feeds.events.publish(makeEvent({ tenant: "other" }));
    deps.feeds.events.publish(makeEvent({ metric: "mem_used" }));
    deps.feeds.events.publish(makeEvent({ value: 42 }));
    const [m] = await sse.events("event", 1);
    equal(JSON.parse(m.data ?? "").value, 42);
  } finally {
    await sse.close();
  }
});

Deno.test("event stream: rate-limited per client, excess dropped, counted and announced", async () => {
  const { app, deps, registry } = harness({ events_stream_max_rate: 5 });
  const sse = new SseReader(await app.request("/events/stream"));
  try {
    await sse.next();
    for (let i = 0; i < 50; i++) deps.feeds.events.publish(makeEvent({ value: i }));
    const notice = await sse.until((m) => m.event === "dropped", 3_000);
    const info = JSON.parse(notice.data ?? "") as { dropped: number; total: number; max_rate: number };
    equal(info.max_rate, 5);
    ok(info.dropped >= 40, `dropped ${info.dropped}`);
    const sent = sse.seen.filter((m) => m.event === "event").length;
    ok(sent <= 6, `sent ${sent}`);
    match(registry.render(), /eventops_http_events_stream_dropped_total \d+/);
  } finally {
    await sse.close();
  }
});

Deno.test("token bucket refills at the rate", () => {
  let t = 0;
  const bucket = new TokenBucket(10, () => t);
  let n = 0;
  while (bucket.take()) n++;
  equal(n, 10);
  t += 500;
  n = 0;
  while (bucket.take()) n++;
  equal(n, 5);
});

Deno.test("event stream: bad filters are 400", async () => {
  const { app } = harness();
  const res = await app.request("/events/stream?foo=1");
  equal(res.status, 400);
  match((await res.json()).error.message, /unknown parameter "foo"/);
});

Deno.test("streams need the token when reads are protected (query token for EventSource)", async () => {
  const { app } = harness({ token_for_reads: true });
  equal((await app.request("/alerts/stream?replay=0")).status, 401);
  const sse = new SseReader(await app.request("/alerts/stream?access_token=s3cret-token"));
  equal((await sse.next()).retry, 3000);
  await sse.close();
  equal(SEED_ALERTS.length, 2);
});
