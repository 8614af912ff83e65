import { deepStrictEqual, equal, ok } from "node:assert/strict";
import { type CloseReason, Hub, RingBuffer } from "../../api/hub.ts";

Deno.test("hub delivers to every subscriber in order", () => {
  const hub = new Hub<number>();
  const a = hub.subscribe();
  const b = hub.subscribe();
  for (let i = 0; i < 5; i++) hub.publish(i);
  deepStrictEqual(a.take(), [0, 1, 2, 3, 4]);
  deepStrictEqual(b.take(3), [0, 1, 2]);
  deepStrictEqual(b.take(), [3, 4]);
  deepStrictEqual(a.take(), []);
  equal(hub.stats().published, 5);
  a.close();
  b.close();
  equal(hub.subscriberCount, 0);
});

Deno.test("accept filters at publish time; a throwing filter skips the item", () => {
  const hub = new Hub<number>();
  const even = hub.subscribe({ accept: (n) => n % 2 === 0 });
  const bad = hub.subscribe({
    accept: (n) => {
      if (n === 3) throw new Error("boom");
      return true;
    },
  });
  for (let i = 0; i < 6; i++) hub.publish(i);
  deepStrictEqual(even.take(), [0, 2, 4]);
  deepStrictEqual(bad.take(), [0, 1, 2, 4, 5]);
});

Deno.test("a slow subscriber is dropped when its queue is full; others are unaffected", () => {
  const hub = new Hub<number>({ queueCapacity: 4 });
  const reasons: CloseReason[] = [];
  const slow = hub.subscribe({ onClose: (r) => reasons.push(r) });
  const fast = hub.subscribe();
  for (let i = 0; i < 10; i++) {
    hub.publish(i);
    fast.take();
  }
  ok(slow.closed);
  equal(slow.closeReason, "overflow");
  deepStrictEqual(reasons, ["overflow"]);
  // what was queued before the overflow can still be drained
  deepStrictEqual(slow.take(), [0, 1, 2, 3]);
  equal(hub.subscriberCount, 1);
  equal(hub.stats().overflowed, 1);
  ok(!fast.closed);
  fast.close();
});

Deno.test("memory stays bounded: a stuck subscriber holds at most its capacity", () => {
  const hub = new Hub<{ payload: string }>({ queueCapacity: 100 });
  const stuck = hub.subscribe();
  for (let i = 0; i < 100_000; i++) hub.publish({ payload: "x" });
  ok(stuck.closed);
  ok(stuck.size <= 100);
  equal(hub.subscriberCount, 0);
});

Deno.test("per-subscription capacity overrides the hub default", () => {
  const hub = new Hub<number>({ queueCapacity: 1000 });
  const small = hub.subscribe({ capacity: 2 });
  hub.publish(1);
  hub.publish(2);
  ok(!small.closed);
  hub.publish(3);
  ok(small.closed);
});

Deno.test("wait resolves on publish, times out, and honours abort", async () => {
  const hub = new Hub<string>();
  const sub = hub.subscribe();
  const waiting = sub.wait(1_000);
  hub.publish("x");
  equal(await waiting, true);
  deepStrictEqual(sub.take(), ["x"]);
  equal(await sub.wait(10), false);
  const controller = new AbortController();
  const aborted = sub.wait(1_000, controller.signal);
  controller.abort();
  equal(await aborted, false);
  const closing = sub.wait(1_000);
  sub.close();
  equal(await closing, true);
});

Deno.test("async iteration ends when the hub closes", async () => {
  const hub = new Hub<number>();
  const sub = hub.subscribe();
  const got: number[] = [];
  const done = (async () => {
    for await (const n of sub) got.push(n);
  })();
  hub.publish(1);
  hub.publish(2);
  await new Promise((r) => setTimeout(r, 5));
  hub.close();
  await done;
  deepStrictEqual(got, [1, 2]);
  equal(sub.closeReason, "hub_closed");
  ok(hub.subscribe().closed, "subscriptions after close are closed at once");
});

Deno.test("ring buffer keeps the last N for replay", () => {
  const ring = new RingBuffer<number>(3);
  deepStrictEqual(ring.toArray(), []);
  equal(ring.first(), undefined);
  for (let i = 1; i <= 5; i++) ring.push(i);
  deepStrictEqual(ring.toArray(), [3, 4, 5]);
  equal(ring.first(), 3);
  equal(ring.size, 3);
  const none = new RingBuffer<number>(0);
  none.push(1);
  deepStrictEqual(none.toArray(), []);

  const hub = new Hub<number>({ replay: 2 });
  hub.publish(1);
  hub.publish(2);
  hub.publish(3);
  deepStrictEqual(hub.recent(), [2, 3]);
  equal(hub.oldestRecent(), 2);
});
