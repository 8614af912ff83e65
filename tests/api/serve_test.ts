import { equal, ok } from "node:assert/strict";
import { serveApi } from "../../api/app.ts";
import { harness } from "../../testing/api_fakes.ts";
import { SseReader } from "../../testing/sse.ts";

Deno.test("serveApi: real Deno.serve, the brief's query, and a shutdown that ends open streams", async () => {
  const { app, http } = harness();
  const server = serveApi(app, { ...http, host: "127.0.0.1", port: 0 });
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const res = await fetch(`${base}/metrics/cpu?tenant=acme&host=host-a`);
    equal(res.status, 200);
    const body = await res.json();
    equal(body.points.length, 2);
    const sse = new SseReader(await fetch(`${base}/alerts/stream?since=0`));
    equal((await sse.next()).retry, 3000);
    equal((await sse.events("alert", 2)).length, 2);
    const shutdown = server.shutdown();
    ok(await sse.ended(2_000), "the stream ends on shutdown");
    await shutdown;
    await server.finished;
  } finally {
    await server.shutdown().catch(() => {});
  }
});
