import { deepStrictEqual, equal, match, ok } from "node:assert/strict";
import { clientKey } from "../../api/client.ts";
import { AuthThrottle, KeyedCounter, SseSlots } from "../../api/limits.ts";
import { harness } from "../../testing/api_fakes.ts";
import { SseReader } from "../../testing/sse.ts";

/** The `env` serveApi gives the app: the client's address. */
const from = (hostname: string) => ({ remoteAddr: { hostname, port: 40_000, transport: "tcp" } });

Deno.test("clientKey: IPv4 as is, IPv6 per /64, IPv4-mapped IPv6 as IPv4", () => {
  equal(clientKey("192.0.2.7"), "192.0.2.7");
  equal(clientKey("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
  equal(clientKey("2001:db8:1:2:bbbb:cccc:dddd:eeee"), "2001:db8:1:2::/64", "same /64, same key");
  equal(clientKey("[2001:db8:1:3::1]"), "2001:db8:1:3::/64");
  equal(clientKey("::1"), "0:0:0:0::/64");
  equal(clientKey("::ffff:192.0.2.7"), "192.0.2.7");
  equal(clientKey("fe80::1%eth0"), "fe80:0:0:0::/64");
});

Deno.test("KeyedCounter: at most perKey per key, released ones can be taken again", () => {
  const counter = new KeyedCounter(2);
  ok(counter.tryAcquire("a") && counter.tryAcquire("a"));
  ok(!counter.tryAcquire("a"));
  ok(counter.tryAcquire("b"));
  counter.release("a");
  ok(counter.tryAcquire("a"));
  equal(counter.held("a"), 2);
  counter.release("a");
  counter.release("a");
  equal(counter.keys, 1);
});

Deno.test("SseSlots: per-client cap, then a full stream is shared fairly by eviction", () => {
  const slots = new SseSlots(4, 3);
  const evicted: string[] = [];
  const take = (client: string, name: string) => slots.acquire(client, () => evicted.push(name));
  for (const name of ["a1", "a2", "a3"]) ok(typeof take("A", name) !== "string");
  equal(take("A", "a4"), "client_limit");
  ok(typeof take("B", "b1") !== "string");
  equal(slots.count, 4);
  // Full: C holds none, A holds three, so A's oldest stream gives way.
  ok(typeof take("C", "c1") !== "string");
  deepStrictEqual(evicted, ["a1"]);
  equal(slots.count, 4);
  // D takes A's next one (A still holds two, D none).
  ok(typeof take("D", "d1") !== "string");
  deepStrictEqual(evicted, ["a1", "a2"]);
  // Now A, B, C, D hold one each: a fifth client is refused.
  equal(take("E", "e1"), "full");
  equal(slots.count, 4);
});

Deno.test("SseSlots: released slots are free again; an evicted slot's late release is a no-op", () => {
  const slots = new SseSlots(2, 2);
  const first = slots.acquire("A", () => {});
  const second = slots.acquire("A", () => {});
  if (typeof first === "string" || typeof second === "string") throw new Error("refused");
  equal(slots.acquire("B", () => {}) === "full", false, "A holds two: B takes A's oldest");
  equal(slots.count, 2);
  first.release(); // the evicted stream ends later and releases: nothing changes
  equal(slots.count, 2);
  second.release();
  second.release();
  equal(slots.count, 1);
  equal(slots.acquire("A", () => {}) === "full", false);
});

Deno.test("AuthThrottle: a burst of wrong tokens, then one per interval; full buckets are forgotten", () => {
  let t = 0;
  const throttle = new AuthThrottle(3, 1_000, () => t);
  for (let i = 0; i < 3; i++) {
    equal(throttle.blockedFor("x"), 0);
    throttle.fail("x");
  }
  equal(throttle.blockedFor("x"), 1_000);
  equal(throttle.blockedFor("y"), 0, "other clients are not affected");
  t += 400;
  equal(throttle.blockedFor("x"), 600);
  t += 600;
  equal(throttle.blockedFor("x"), 0);
  throttle.fail("x");
  equal(throttle.blockedFor("x"), 1_000);
  t += 10_000;
  equal(throttle.blockedFor("x"), 0);
  equal(throttle.tracked, 0, "a refilled bucket is dropped");
});

Deno.test("AuthThrottle: keeps at most maxClients buckets", () => {
  const throttle = new AuthThrottle(1, 60_000, () => 0, 100);
  for (let i = 0; i < 1_000; i++) throttle.fail(`10.0.${i >> 8}.${i & 255}`);
  equal(throttle.tracked, 100);
  ok(throttle.blockedFor("10.0.3.231") > 0, "the newest are kept");
});

Deno.test("wrong tokens are rate-limited per address: 429 + Retry-After JSON; right tokens and others unaffected", async () => {
  const { app, ingestor, registry } = harness({ auth_failure_burst: 3, auth_failure_interval: 60_000 });
  const post = (token: string, who: string) =>
    app.request("/ingest", {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: JSON.stringify({ tenant_id: "acme", host: "h", metric: "cpu", value: 1, ts_event: 1 }),
    }, from(who));
  for (let i = 0; i < 3; i++) equal((await post("guess", "203.0.113.9")).status, 401);
  const limited = await post("guess", "203.0.113.9");
  equal(limited.status, 429);
  const retry = Number(limited.headers.get("retry-after"));
  ok(retry >= 1 && retry <= 60, `Retry-After ${retry}`);
  equal(limited.headers.get("content-type"), "application/json");
  const body = await limited.json();
  equal(body.error.status, 429);
  match(body.error.message, /too many wrong API tokens from your address; retry in \d+ s/);
  // Blocked whatever it sends, so a right guess cannot be told from a wrong one.
  equal((await post("s3cret-token", "203.0.113.9")).status, 429);
  equal(ingestor.messages.length, 0);
  // Another address with the right token is served at once.
  equal((await post("s3cret-token", "198.51.100.1")).status, 202);
  equal(ingestor.messages.length, 1);
  match(registry.render(), /eventops_http_refused_total\{reason="wrong_token"\} 3/);
  match(registry.render(), /eventops_http_refused_total\{reason="auth_throttled"\} 2/);
});

Deno.test("right tokens never use the wrong-token bucket", async () => {
  const { app } = harness({ auth_failure_burst: 1 }, {
    query: () =>
      Promise.resolve({ columns: [{ name: "1", type: "INTEGER" }], rows: [[1]], truncated: false }),
  });
  for (let i = 0; i < 20; i++) {
    const res = await app.request("/query", {
      method: "POST",
      headers: { Authorization: "Bearer s3cret-token", "Content-Type": "application/json" },
      body: JSON.stringify({ sql: "SELECT 1" }),
    }, from("192.0.2.1"));
    equal(res.status, 200, `request ${i}`);
    await res.body?.cancel();
  }
});

Deno.test("requests in progress are limited per address (429 + Retry-After), others go on", async () => {
  let release: () => void = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const { app } = harness({ max_requests_per_ip: 2 }, {
    status: async () => {
      await gate;
      return {
        version: "t",
        started_at: 0,
        stages: [],
        rates: {},
        consumer_lag: null,
        dlq: { total: 0, by_stage: {} },
      };
    },
  });
  const slow = [app.request("/status", {}, from("192.0.2.1")), app.request("/status", {}, from("192.0.2.1"))];
  const third = await app.request("/healthz", {}, from("192.0.2.1"));
  equal(third.status, 429);
  equal(third.headers.get("retry-after"), "1");
  match((await third.json()).error.message, /too many requests in progress from your address \(max 2/);
  equal((await app.request("/healthz", {}, from("192.0.2.2"))).status, 200, "another address is served");
  release();
  for (const res of await Promise.all(slow)) equal(res.status, 200);
  equal((await app.request("/healthz", {}, from("192.0.2.1"))).status, 200, "freed after the answers");
});

Deno.test("SSE: per-address cap is 429; a full stream makes room for a new address (the old one's stream ends)", async () => {
  const { app, registry } = harness({ sse_max_clients: 3, sse_max_clients_per_ip: 2 });
  const open = async (who: string) => {
    const res = await app.request("/alerts/stream?replay=0", {}, from(who));
    return res;
  };
  const a1 = new SseReader(await open("192.0.2.1"));
  const a2 = new SseReader(await open("192.0.2.1"));
  await a1.next();
  await a2.next();
  const refused = await open("192.0.2.1");
  equal(refused.status, 429);
  match((await refused.json()).error.message, /too many alert streams from your address \(max 2/);
  const b1 = new SseReader(await open("192.0.2.2"));
  await b1.next();
  // Full (3). A new address takes the oldest stream of the address holding the most (a1).
  const c1 = new SseReader(await open("192.0.2.3"));
  equal((await c1.next()).retry, 3000);
  const last = await a1.until((m) => m.comment?.startsWith("closed:") ?? false);
  match(last.comment ?? "", /every stream slot is taken and your address holds the most/);
  ok(await a1.ended());
  // Everyone holds one now: a fourth address is refused with 503.
  const d = await open("192.0.2.4");
  equal(d.status, 503);
  match((await d.json()).error.message, /every alert stream slot is taken \(max 3, http.sse_max_clients\)/);
  match(registry.render(), /eventops_http_refused_total\{reason="sse_evicted"\} 1/);
  for (const sse of [a1, a2, b1, c1]) await sse.close();
});
