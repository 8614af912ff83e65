/**
 * The TCP front (api/front.ts) through `serveApi`, over real loopback TCP: connection caps, the
 * header, idle and body timeouts, the client's address reaching the app, HTTP/2 relayed.
 */
import { equal, match, ok } from "node:assert/strict";
import { type ApiServer, serveApi } from "../../api/app.ts";
import type { HttpConfig } from "../../api/deps.ts";
import { harness } from "../../testing/api_fakes.ts";
import { SseReader } from "../../testing/sse.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function start(overrides: Partial<HttpConfig> = {}): { server: ApiServer; port: number } {
  const { app, http } = harness({
    header_timeout: 300,
    idle_timeout: 600,
    body_timeout: 300,
    sse_heartbeat: 100,
    ...overrides,
  });
  const server = serveApi(app, { ...http, host: "127.0.0.1", port: 0 });
  return { server, port: server.addr.port };
}

/** Reads until the server closes the connection; returns what it sent and when it closed (ms after `since`). */
async function untilClosed(
  conn: Deno.TcpConn,
  since: number,
  timeoutMs = 5_000,
): Promise<{ text: string; afterMs: number }> {
  const buffer = new Uint8Array(4096);
  let text = "";
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      text += decoder.decode(buffer.subarray(0, n));
    }
  } catch {
    // reset by the server, or closed by the timer
  } finally {
    clearTimeout(timer);
  }
  try {
    conn.close();
  } catch { /* closed */ }
  return { text, afterMs: performance.now() - since };
}

async function get(port: number, path: string, client?: Deno.HttpClient): Promise<Response> {
  return await fetch(`http://127.0.0.1:${port}${path}`, client ? { client } : {});
}

Deno.test("front: half a request line, or nothing at all, is closed at header_timeout; others are served", async () => {
  const { server, port } = start();
  try {
    const started = performance.now();
    const partial = await Deno.connect({ hostname: "127.0.0.1", port });
    await partial.write(encoder.encode("GET /healthz HTT"));
    const silent = await Deno.connect({ hostname: "127.0.0.1", port });
    const res = await get(port, "/healthz");
    equal(res.status, 200, "a whole request is served meanwhile");
    await res.body?.cancel();
    for (const conn of [partial, silent]) {
      const { text, afterMs } = await untilClosed(conn, started);
      equal(text, "", "closed without an answer");
      ok(afterMs >= 250 && afterMs < 3_000, `closed after ${Math.round(afterMs)} ms (header_timeout 300 ms)`);
    }
  } finally {
    await server.shutdown();
  }
});

Deno.test("front: a head dripped a byte at a time is closed at header_timeout (bytes do not extend it)", async () => {
  const { server, port } = start();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const started = performance.now();
    const closed = untilClosed(conn, started);
    let sent = 0;
    const drip = setInterval(() => {
      conn.write(encoder.encode("GET /healthz HTTP/1.1\r\nX-A: b\r\n"[sent++ % 29])).catch(() =>
        clearInterval(drip)
      );
    }, 30);
    const { afterMs } = await closed;
    clearInterval(drip);
    ok(sent > 5, `dripped ${sent} bytes`);
    ok(afterMs >= 250 && afterMs < 3_000, `closed after ${Math.round(afterMs)} ms`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("front: keep-alive connections close after idle_timeout; a dawdling second head after header_timeout", async () => {
  const { server, port } = start();
  try {
    const idle = await Deno.connect({ hostname: "127.0.0.1", port });
    await idle.write(encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const sentAt = performance.now();
    const { text, afterMs } = await untilClosed(idle, sentAt);
    match(text, /^HTTP\/1\.1 200/);
    ok(
      afterMs >= 550 && afterMs < 4_000,
      `idle connection closed after ${Math.round(afterMs)} ms (idle 600)`,
    );

    const second = await Deno.connect({ hostname: "127.0.0.1", port });
    await second.write(encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const buffer = new Uint8Array(4096);
    const n = await second.read(buffer);
    match(decoder.decode(buffer.subarray(0, n ?? 0)), /^HTTP\/1\.1 200/);
    await second.write(encoder.encode("GET /heal"));
    const halfAt = performance.now();
    const late = await untilClosed(second, halfAt);
    ok(late.afterMs >= 250 && late.afterMs < 550, `second head cut after ${Math.round(late.afterMs)} ms`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("front: per-address connection cap answers 429 JSON and closes; another address still connects", async () => {
  const { server, port } = start({ max_connections_per_ip: 3, header_timeout: 5_000 });
  const other = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  try {
    const held: Deno.TcpConn[] = [];
    for (let i = 0; i < 3; i++) held.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    const extra = await Deno.connect({ hostname: "127.0.0.1", port });
    await extra.write(encoder.encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const { text } = await untilClosed(extra, performance.now());
    match(text, /^HTTP\/1\.1 429 Too Many Requests\r\n/);
    match(text, /retry-after: 5/);
    const body = JSON.parse(text.slice(text.indexOf("\r\n\r\n") + 4));
    match(body.error.message, /your address has 3 open connections \(max 3, http.max_connections_per_ip\)/);
    const res = await get(port, "/healthz", other);
    equal(res.status, 200);
    await res.body?.cancel();
    for (const conn of held) conn.close();
  } finally {
    other.close();
    await server.shutdown();
  }
});

Deno.test("front: the global connection cap answers 503 JSON when every address holds its fair share", async () => {
  const { server, port } = start({
    max_connections: 2,
    max_connections_per_ip: 2,
    sse_max_clients: 2,
    header_timeout: 5_000,
  });
  const second = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  const third = Deno.createHttpClient({ localAddress: "127.0.0.3" });
  try {
    // One connection each from 127.0.0.1 (waiting for its head) and 127.0.0.2 (a stream).
    const held = await Deno.connect({ hostname: "127.0.0.1", port });
    const stream = new SseReader(await get(port, "/alerts/stream?replay=0", second));
    await stream.next();
    const res = await get(port, "/healthz", third);
    equal(res.status, 503);
    equal(res.headers.get("retry-after"), "5");
    match((await res.json()).error.message, /the server has 2 open connections \(http.max_connections\)/);
    held.close();
    await stream.close();
  } finally {
    second.close();
    third.close();
    await server.shutdown();
  }
});

Deno.test("front: the app sees each client's address (per-address SSE caps), streams outlive idle_timeout", async () => {
  const { server, port } = start({ sse_max_clients_per_ip: 1 });
  const other = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  const streams: SseReader[] = [];
  try {
    const first = await get(port, "/alerts/stream?replay=0");
    streams.push(new SseReader(first));
    equal((await streams[0].next()).retry, 3000);
    const refused = await get(port, "/alerts/stream?replay=0");
    equal(refused.status, 429, "same address: over its cap of 1");
    await refused.body?.cancel();
    const second = await get(port, "/alerts/stream?replay=0", other);
    equal(second.status, 200, "another address has its own cap");
    streams.push(new SseReader(second));
    // Heartbeats every 100 ms keep the stream busy well past idle_timeout (600 ms).
    const until = performance.now() + 1_500;
    let pings = 0;
    while (performance.now() < until) {
      const m = await streams[0].next(1_000);
      if (m.comment?.startsWith("ping")) pings++;
    }
    ok(pings >= 5, `${pings} heartbeats`);
  } finally {
    for (const sse of streams) await sse.close();
    other.close();
    await server.shutdown();
  }
});

Deno.test("front: a body slower than body_timeout is answered 408 and the connection closed", async () => {
  const { server, port } = start();
  try {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port });
    await conn.write(encoder.encode(
      "POST /ingest HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\n" +
        "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
    ));
    const started = performance.now();
    const drip = setInterval(() => conn.write(encoder.encode(" ")).catch(() => clearInterval(drip)), 50);
    const { text, afterMs } = await untilClosed(conn, started);
    clearInterval(drip);
    match(text, /^HTTP\/1\.1 408/);
    match(text, /did not arrive within 0.3 s \(http.body_timeout\)/);
    ok(afterMs < 3_000, `closed after ${Math.round(afterMs)} ms`);
  } finally {
    await server.shutdown();
  }
});

Deno.test("front: HTTP/2 with prior knowledge is relayed", async () => {
  const { server, port } = start();
  const h2 = Deno.createHttpClient({ http1: false, http2: true });
  try {
    const res = await get(port, "/healthz", h2);
    equal(res.status, 200);
    equal((await res.json()).status, "ok");
  } finally {
    h2.close();
    await server.shutdown();
  }
});

Deno.test("front: at the connection cap, a new address takes the place of a waiting connection of the address holding the most", async () => {
  const { server, port } = start({
    max_connections: 4,
    max_connections_per_ip: 4,
    sse_max_clients: 4,
    header_timeout: 5_000,
  });
  const other = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  const third = Deno.createHttpClient({ localAddress: "127.0.0.3" });
  try {
    // 127.0.0.1 holds all four connections, each with half a request.
    const held: Deno.TcpConn[] = [];
    for (let i = 0; i < 4; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(encoder.encode("GET /heal"));
      held.push(conn);
    }
    const res = await get(port, "/healthz", other);
    equal(res.status, 200, "the newcomer is served");
    await res.body?.cancel();
    const { text, afterMs } = await untilClosed(held[0], performance.now(), 2_000);
    equal(text, "");
    ok(afterMs < 2_000, "the oldest waiting connection of 127.0.0.1 was closed for it");
    // 127.0.0.1 now holds three, 127.0.0.2 one (idle, kept alive): a third address takes another.
    const again = await get(port, "/healthz", third);
    equal(again.status, 200);
    await again.body?.cancel();
    for (const conn of held.slice(1)) conn.close();
  } finally {
    other.close();
    third.close();
    await server.shutdown();
  }
});
