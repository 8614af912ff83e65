/**
 * The HTTP edge against the REAL agent (its sandbox flags, the test broker, DuckDB): a slowloris of
 * 1,000 half-open connections at the systemd default of 1,024 open files, a flood of idle SSE
 * clients, and token guessing. Other clients come from other loopback addresses
 * (`Deno.createHttpClient({ localAddress })`), as separate machines would.
 */
import assert from "node:assert/strict";
import { eventually, freePort, startAgent, uniqueName, writeTestConfig } from "../../testing/agent.ts";

const TOKEN = "test-token";
const encoder = new TextEncoder();

/** Open-file limit of a process (soft or hard), from util-linux `prlimit`. */
async function openFilesLimit(pid: number, which: "SOFT" | "HARD" = "SOFT"): Promise<number> {
  const out = await new Deno.Command("prlimit", {
    args: ["--pid", String(pid), "--nofile", "--raw", "--noheadings", `--output=${which}`],
  }).output();
  if (!out.success) throw new Error(`prlimit failed: ${new TextDecoder().decode(out.stderr)}`);
  const text = new TextDecoder().decode(out.stdout).trim();
  return text === "unlimited" ? Number.POSITIVE_INFINITY : Number(text);
}

/** Sets a process's open-file limit (soft and hard) with util-linux `prlimit`. */
async function setOpenFilesLimit(pid: number, soft: number, hard = soft): Promise<void> {
  const out = await new Deno.Command("prlimit", { args: ["--pid", String(pid), `--nofile=${soft}:${hard}`] })
    .output();
  if (!out.success) throw new Error(`prlimit failed: ${new TextDecoder().decode(out.stderr)}`);
}

/** A test config whose `http` section has `http` on top of the test's address and token. */
async function edgeConfig(
  prefix: string,
  http: Record<string, unknown> = {},
): Promise<{ file: string; port: number }> {
  const port = await freePort();
  const { file } = await writeTestConfig(uniqueName(prefix), {
    http: { host: "127.0.0.1", port, token: TOKEN, ...http },
  });
  return { file, port };
}

/** The value of a Prometheus sample, or 0. */
function sample(text: string, name: string, labels = ""): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name}${labels} `));
  return line ? Number(line.split(" ").at(-1)) : 0;
}

Deno.test("slowloris: 1,000 half-open connections at 1,024 open files; the agent stays up and serves others", async () => {
  // This test holds 1,000 sockets itself: make sure it may.
  if (await openFilesLimit(Deno.pid) < 4_096) {
    const hard = await openFilesLimit(Deno.pid, "HARD");
    if (hard < 1_200) throw new Error(`this test holds 1,000 sockets; the hard open-files limit is ${hard}`);
    await setOpenFilesLimit(
      Deno.pid,
      Math.min(4_096, hard),
      hard === Number.POSITIVE_INFINITY ? 4_096 : hard,
    );
  }
  const { file, port } = await edgeConfig("edge-slowloris", { header_timeout: "2s" });
  const agent = await startAgent(file, port);
  let stopped: number | undefined;
  const other = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  const conns: Deno.TcpConn[] = [];
  try {
    // systemd's default soft limit; before the TCP front, this many half-open connections made
    // Deno.serve fail with "Too many open files" and the agent exit.
    await setOpenFilesLimit(agent.process.pid, 1_024);
    assert.equal(await openFilesLimit(agent.process.pid), 1_024);
    const started = performance.now();
    const closedAfter: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(conn);
      await conn.write(encoder.encode("GET /metrics HTTP/1.1\r\nHost: x\r\n")).catch(() => {});
      (async () => {
        const buffer = new Uint8Array(1024);
        try {
          while ((await conn.read(buffer)) !== null) { /* a 429 answer, then the close */ }
        } catch { /* reset */ }
        closedAfter.push(performance.now() - started);
      })();
    }
    // Other addresses are served during the attack.
    const during = await fetch(`${agent.baseUrl}/metrics`, { client: other });
    assert.equal(during.status, 200);
    await during.body?.cancel();
    await eventually(
      () => Promise.resolve(closedAfter.length === 1_000 ? true : undefined),
      15_000,
      "every half-open connection closed by the agent",
    );
    closedAfter.sort((a, b) => a - b);
    const last = closedAfter[closedAfter.length - 1];
    console.log(
      `slowloris: 1,000 half-open connections, all closed by the agent; first after ${
        Math.round(closedAfter[0])
      } ms, last after ${Math.round(last)} ms (header_timeout 2 s)`,
    );
    assert.ok(last < 10_000, `last closed after ${Math.round(last)} ms`);
    let exited: Deno.CommandStatus | undefined;
    agent.process.status.then((status) => exited = status);
    await Promise.resolve();
    assert.equal(exited, undefined, "the agent is still running");
    const metrics = await (await fetch(`${agent.baseUrl}/prometheus`, { client: other })).text();
    const refused = sample(
      metrics,
      "eventops_http_connections_refused_total",
      '{limit="max_connections_per_ip"}',
    );
    const timedOut = sample(metrics, "eventops_http_connections_closed_total", '{reason="header_timeout"}');
    console.log(
      `slowloris: ${refused} refused at accept (max_connections_per_ip), ${timedOut} closed at header_timeout`,
    );
    assert.equal(refused + timedOut, 1_000);
    // At most 32 at a time (max_connections_per_ip, one of them the test's own keep-alive connection)
    // were admitted and waited for header_timeout; the others were refused at once.
    assert.ok(timedOut >= 1 && refused >= 900, `${timedOut} timed out, ${refused} refused`);
    // And the attacker's own address is served again once its connections are gone.
    const after = await fetch(`${agent.baseUrl}/healthz`);
    assert.equal(after.status, 200);
    await after.body?.cancel();
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch { /* closed by the agent */ }
    }
    other.close();
    stopped = await agent.stop();
  }
  assert.equal(stopped, 0, `graceful stop; logs:\n${agent.logs().slice(-3000)}`);
});

Deno.test("SSE: 256 idle clients from one address cannot lock others out; a full stream still admits a new address", async () => {
  const { file, port } = await edgeConfig("edge-sse");
  const agent = await startAgent(file, port);
  let stopped: number | undefined;
  const clients = new Map<string, Deno.HttpClient>();
  const client = (address: string) => {
    let c = clients.get(address);
    if (!c) clients.set(address, c = Deno.createHttpClient({ localAddress: address }));
    return c;
  };
  const open: Response[] = [];
  const stream = async (address: string) => {
    const res = await fetch(`${agent.baseUrl}/alerts/stream?replay=0`, { client: client(address) });
    if (res.status === 200) open.push(res);
    else await res.body?.cancel();
    return res.status;
  };
  try {
    // The attack: 256 idle, unauthenticated streams from one address. Before: all 256 were
    // accepted and everyone else got 503. Now: 8 (http.sse_max_clients_per_ip), the rest 429.
    const statuses = await Promise.all(Array.from({ length: 256 }, () => stream("127.0.0.2")));
    const count = (status: number) => statuses.filter((s) => s === status).length;
    console.log(`SSE flood from one address: ${count(200)} accepted, ${count(429)} refused with 429`);
    assert.equal(count(200), 8);
    assert.equal(count(429), 248);
    // The dashboard, from its own address, connects and receives live alerts.
    assert.equal(await stream("127.0.0.1"), 200);
    // Eight addresses fill all 64 slots (http.sse_max_clients) between them...
    for (let a = 3; a <= 9; a++) {
      for (let i = 0; i < 8; i++) await stream(`127.0.0.${a}`);
    }
    const status = await (await fetch(`${agent.baseUrl}/status`, { client: client("127.0.0.250") })).json();
    assert.equal(status.api.sse_clients.alerts, 64);
    // ...and a new address still gets in: the address holding the most gives up its oldest stream.
    assert.equal(await stream("127.0.0.10"), 200);
    const metrics = await (await fetch(`${agent.baseUrl}/prometheus`, { client: client("127.0.0.250") }))
      .text();
    assert.ok(sample(metrics, "eventops_http_refused_total", '{reason="sse_evicted"}') >= 1);
    // The 248 refusals: by the app (its 32 connections, http.max_connections_per_ip, asking again) and
    // by the TCP front (connections over those 32).
    assert.ok(sample(metrics, "eventops_http_refused_total", '{reason="sse_per_ip"}') >= 24);
  } finally {
    for (const res of open) await res.body?.cancel().catch(() => {});
    for (const c of clients.values()) c.close();
    stopped = await agent.stop();
  }
  assert.equal(stopped, 0, `graceful stop; logs:\n${agent.logs().slice(-3000)}`);
});

Deno.test("wrong tokens: a burst of 401s, then 429 with Retry-After; a right token from elsewhere is served", async () => {
  const { file, port } = await edgeConfig("edge-auth");
  const agent = await startAgent(file, port);
  let stopped: number | undefined;
  const other = Deno.createHttpClient({ localAddress: "127.0.0.2" });
  const event = JSON.stringify({
    tenant_id: "acme",
    host: "h",
    metric: "cpu",
    value: 1,
    ts_event: Date.now(),
  });
  const post = (token: string, client?: Deno.HttpClient) =>
    fetch(`${agent.baseUrl}/ingest`, {
      method: "POST",
      headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
      body: event,
      ...(client ? { client } : {}),
    });
  try {
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++) {
      const res = await post(`guess-${i}`);
      statuses.push(res.status);
      if (res.status === 429) {
        assert.ok(Number(res.headers.get("retry-after")) >= 1);
        assert.match((await res.json()).error.message, /too many wrong API tokens from your address/);
      } else await res.body?.cancel();
    }
    assert.deepEqual(statuses, [...Array(10).fill(401), 429, 429]);
    const right = await post(TOKEN, other);
    assert.equal(right.status, 202);
    await right.body?.cancel();
  } finally {
    other.close();
    stopped = await agent.stop();
  }
  assert.equal(stopped, 0, `graceful stop; logs:\n${agent.logs().slice(-3000)}`);
});

Deno.test("file descriptors run out (limits above the open-files limit): the agent keeps running and serves again", async () => {
  if (await openFilesLimit(Deno.pid) < 4_096) {
    const hard = await openFilesLimit(Deno.pid, "HARD");
    await setOpenFilesLimit(
      Deno.pid,
      Math.min(4_096, hard),
      hard === Number.POSITIVE_INFINITY ? 4_096 : hard,
    );
  }
  // Three descriptors per connection: 256 open files hold ~70 connections, far below these limits.
  const { file, port } = await edgeConfig("edge-emfile", {
    max_connections: 2_000,
    max_connections_per_ip: 2_000,
    header_timeout: "2s",
  });
  const agent = await startAgent(file, port);
  let stopped: number | undefined;
  const conns: Deno.TcpConn[] = [];
  try {
    await setOpenFilesLimit(agent.process.pid, 256);
    for (let i = 0; i < 600; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conns.push(conn);
      await conn.write(encoder.encode("GET /metrics HTTP/1.1\r\nHost: x\r\n")).catch(() => {});
    }
    // Accepting, relaying or Deno.serve itself fails for lack of descriptors; the header timeout
    // frees them. Then the agent answers again.
    await eventually(
      () =>
        Promise.resolve(/"msg":"http (accept failed|server failed)/.test(agent.logs()) ? true : undefined),
      10_000,
      "the agent running out of file descriptors",
    );
    const healthy = await eventually(
      async () => {
        const res = await fetch(`${agent.baseUrl}/healthz`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return res.status === 200 ? true : undefined;
      },
      30_000,
      "/healthz answering after the descriptors ran out",
    );
    assert.equal(healthy, true);
    let exited: Deno.CommandStatus | undefined;
    agent.process.status.then((status) => exited = status);
    await Promise.resolve();
    assert.equal(exited, undefined, "the agent is still running");
    assert.match(agent.logs(), /"msg":"http (accept failed; retrying|server failed; restarting it)"/);
  } finally {
    for (const conn of conns) {
      try {
        conn.close();
      } catch { /* closed by the agent */ }
    }
    stopped = await agent.stop();
  }
  assert.equal(stopped, 0, `graceful stop; logs:\n${agent.logs().slice(-3000)}`);
});
